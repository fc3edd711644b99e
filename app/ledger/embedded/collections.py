"""Private data collection definitions, read from Fabric's collections_config.json format."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fabric_protos.common import policies_pb2

from app.ledger.embedded.policy import PolicyError, parse_policy, principal_orgs


@dataclass(frozen=True, slots=True)
class Collection:
    name: str
    members: frozenset[str]
    member_only_read: bool
    member_only_write: bool
    block_to_live: int
    endorsement_policy: policies_pb2.SignaturePolicyEnvelope | None


def load_collections(path: Path | None) -> dict[str, Collection]:
    """Collections by name; an absent file means the chaincode has none."""
    if path is None or not Path(path).exists():
        return {}
    raw = json.loads(Path(path).read_text())
    if not isinstance(raw, list):
        raise ValueError(f"{path}: a collections config is a JSON list of collection objects")
    collections: dict[str, Collection] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("name") or not item.get("policy"):
            raise ValueError(f"{path}: collection #{index} needs 'name' and 'policy'")
        try:
            members = principal_orgs(parse_policy(item["policy"]))
            endorsement = None
            ep = item.get("endorsementPolicy") or {}
            if ep.get("signaturePolicy"):
                endorsement = parse_policy(ep["signaturePolicy"])
            elif ep.get("channelConfigPolicy"):
                raise ValueError(
                    f"{path}: collection {item['name']!r}: channelConfigPolicy is not supported by the "
                    "embedded ledger; use signaturePolicy"
                )
        except PolicyError as exc:
            raise ValueError(f"{path}: collection {item['name']!r}: {exc}") from exc
        collections[item["name"]] = Collection(
            name=item["name"],
            members=frozenset(members),
            member_only_read=bool(item.get("memberOnlyRead", False)),
            member_only_write=bool(item.get("memberOnlyWrite", False)),
            block_to_live=int(item.get("blockToLive", 0)),
            endorsement_policy=endorsement,
        )
    return collections
