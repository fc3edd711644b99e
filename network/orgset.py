"""The running network's org set: the consortium's orgs (chaincode/consortium.py) plus the orgs
`mledger network org add` admitted to this network's channel since.

The set is data of the network, not a constant: `up` writes it to `<data>/topology.json` and `org add`
appends to it, so every later command on that network (status, down, deploy, connection profiles,
approvals, the chaincode servers' client CA bundle) sees an added org with its port slot. The consortium
definition stays the source of the founding orgs: an entry of the file is read back only when it is
marked `added`, so an org appended to chaincode/consortium.py is never hidden by an older file.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chaincode import consortium
from network import topology
from network.settings import Settings
from network.topology import Org, User

# Port slots: CA base+i (operations base+10+i), peer base+200+10i; slots 0-9 keep those ranges apart
MAX_SLOTS = 10


def topology_file(settings: Settings) -> Path:
    return settings.data_dir / "topology.json"


def _org_of(doc: dict[str, Any]) -> Org:
    users = tuple(User(u["name"], u["role"], bool(u.get("admin"))) for u in doc.get("users", ()))
    return Org(
        doc["key"],
        doc["name"],
        doc["msp_id"],
        int(doc["index"]),
        bool(doc.get("peer")),
        bool(doc.get("endorsing")),
        bool(doc.get("orderer_org")),
        users,
        kind=str(doc.get("kind", "")),
    )


def added(settings: Settings) -> tuple[Org, ...]:
    """The orgs `org add` admitted to this network, in the order they were added."""
    path = topology_file(settings)
    if not path.exists():
        return ()
    doc = json.loads(path.read_text())
    return tuple(_org_of(o) for o in doc.get("orgs", []) if o.get("added"))


def orgs(settings: Settings) -> tuple[Org, ...]:
    """Every org of this network: the consortium's, then the added ones."""
    return topology.ORGS + added(settings)


def write(settings: Settings, extra: tuple[Org, ...] = ()) -> Path:
    """Record the org set (with `extra` appended as added orgs); `up` calls it with none."""
    return write_added(settings, added(settings) + extra)


def write_added(settings: Settings, added_orgs: tuple[Org, ...]) -> Path:
    """Record the consortium's orgs and exactly `added_orgs` as this network's org set."""
    path = topology_file(settings)
    rows = [{**asdict(o), "added": False} for o in topology.ORGS]
    rows += [{**asdict(o), "added": True} for o in added_orgs]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"channel": topology.CHANNEL, "orgs": rows}, indent=2) + "\n")
    tmp.replace(path)
    return path


def next_slot(settings: Settings) -> int:
    used = {o.index for o in orgs(settings)}
    free = [i for i in range(MAX_SLOTS) if i not in used]
    if not free:
        raise ValueError(f"no free port slot: the port plan has {MAX_SLOTS} org slots, all in use")
    return free[0]


def endorsement_policy(settings: Settings) -> str:
    """The consortium's chaincode endorsement rule (a quorum of the endorsing orgs' peers) over this
    network's endorsing orgs, added ones included."""
    principals = ",".join(f"'{o.msp_id}.peer'" for o in orgs(settings) if o.endorsing)
    return f"OutOf({consortium.ENDORSEMENT_QUORUM},{principals})"


def suspended_file(settings: Settings, org: Org) -> Path:
    """Where `network org suspend` keeps a suspended org's channel group until `org resume`."""
    return settings.data_dir / "governance" / f"suspended-{org.msp_id}.json"


def is_suspended(settings: Settings, org: Org) -> bool:
    """Whether the org is out of the channel by `network org suspend` (its peer is no channel member)."""
    return suspended_file(settings, org).exists()
