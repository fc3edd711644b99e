"""Consortium governance on the live channel: who approved a pending chaincode definition.

`approvals` answers the question an org's admin asks before a chaincode upgrade: for the next sequence of
a chaincode, which orgs have approved, which definition each approved (orgs may approve different ones),
and how many matching approvals the channel's LifecycleEndorsement policy needs before a commit.
Each org's peer answers for its own org only (its approval sits in the org's implicit collection), so
the question goes to every org's peer as that org's admin.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from network import chaincode, topology
from network.errors import NetworkError
from network.settings import Settings


@dataclass(frozen=True)
class OrgApproval:
    msp_id: str
    approved: bool
    version: str | None = None
    package_id: str | None = None
    definition: str | None = None  # fingerprint of the approved definition (same value = same definition)


@dataclass
class Approvals:
    chaincode: str
    committed_sequence: int
    pending_sequence: int
    orgs: list[OrgApproval] = field(default_factory=list)
    needed: int = 0  # matching approvals the LifecycleEndorsement policy (MAJORITY Endorsement) needs
    application_orgs: int = 0

    @property
    def pending(self) -> bool:
        return any(o.approved for o in self.orgs)

    def definitions(self) -> dict[str, list[str]]:
        """Fingerprint of each approved definition -> MSP ids that approved it."""
        out: dict[str, list[str]] = {}
        for o in self.orgs:
            if o.approved and o.definition:
                out.setdefault(o.definition, []).append(o.msp_id)
        return out

    @property
    def ready(self) -> bool:
        """Some definition has enough approvals to be committed."""
        return any(len(v) >= self.needed for v in self.definitions().values())

    def as_dict(self) -> dict[str, Any]:
        extra = {"pending": self.pending, "ready": self.ready, "definitions": self.definitions()}
        return {**asdict(self), **extra}


def _fingerprint(approved: dict[str, Any]) -> str:
    """What makes two approvals the same definition (sequence aside): all the approved parameters."""
    keys = (
        "version",
        "endorsement_plugin",
        "validation_plugin",
        "validation_parameter",
        "collections",
        "init_required",
        "source",
    )
    doc = {k: approved.get(k) for k in keys}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def approvals(settings: Settings, name: str) -> Approvals:
    """Approvals of `name`'s next sequence (committed + 1) by every org that has a peer."""
    committed = chaincode.query_committed(settings, name)
    if committed is None and name not in {s.name for s in chaincode.load_specs()}:
        raise NetworkError(
            f"unknown chaincode {name!r}: neither declared in network/chaincodes.yaml "
            f"nor committed on {topology.CHANNEL}"
        )
    seq = int(committed["sequence"]) if committed else 0
    app_orgs = [o for o in topology.ORGS if not o.orderer_org]
    result = Approvals(name, seq, seq + 1, application_orgs=len(app_orgs), needed=len(app_orgs) // 2 + 1)
    for org in topology.peer_orgs():
        got = chaincode.query_approved(settings, org, name, seq + 1)
        if got is None:
            result.orgs.append(OrgApproval(org.msp_id, False))
            continue
        pkg = (got.get("source") or {}).get("Type", {}).get("LocalPackage", {}).get("package_id")
        result.orgs.append(OrgApproval(org.msp_id, True, got.get("version"), pkg, _fingerprint(got)))
    for org in app_orgs:  # orgs without a peer cannot approve (Dealer): listed so the count adds up
        if not org.peer:
            result.orgs.append(OrgApproval(org.msp_id, False))
    return result
