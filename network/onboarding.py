"""Admit a new application org to the running channel (`mledger network org add`).

An org is more than an MSP in the channel configuration: it needs its own CA, identities, a peer that
joins the channel and endorses, and a chaincode definition whose endorsement policy names it. The steps,
each on the live network:

1. its fabric-ca server (next free port slot) issues the org's peer, admin and standard users (the
   users of an existing org of the same kind: a bank gets a loan officer, ...);
2. one channel config update adds its group (MSP, policies, anchor peer; printed by `configtxgen
   -printOrg` from the same org definition `up` uses) to the Application group, signed by a majority
   of the application orgs' admins (the Application `Admins` policy is MAJORITY Admins);
3. its peer starts, joins the channel from the genesis block and catches up;
4. the chaincode servers trust its peers' TLS CA, and every chaincode's definition moves to the next
   sequence with the endorsement policy over the endorsing orgs including it: installed on its peer,
   approved by every peer org, committed.

The org set of the network is data (network.orgset): the org is recorded in `<data>/topology.json`
before its CA starts (so `down` stops its nodes) and removed again if the config update is refused, in
which case nothing on the channel changed.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaincode import consortium
from network import ca, chaincode, channel, config, connection_profile, governance, orgset, topology
from network.errors import NetworkError
from network.manager import Network, UpReport
from network.process import run
from network.settings import Settings
from network.topology import Org, User

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{1,30}$")


@dataclass
class Admission:
    msp_id: str
    name: str
    signers: list[str]
    peer: str
    seconds: dict[str, float] = field(default_factory=dict)  # step -> seconds taken
    chaincodes: dict[str, str] = field(default_factory=dict)  # name -> package id


def new_org(settings: Settings, name: str, kind: str) -> Org:
    """The network view of a new org of `kind`: next port slot, the users of an existing org of that kind."""
    if not _NAME.match(name):
        raise NetworkError(f"name: {name!r} must be a letter then 1-30 letters or digits (e.g. BankC)")
    orgs = orgset.orgs(settings)
    for o in orgs:
        if (
            name.lower() in (o.key, o.name.lower(), o.msp_id.lower())
            or f"{name}MSP".lower() == o.msp_id.lower()
        ):
            raise NetworkError(f"org: {o.name} ({o.msp_id}) already exists in this network; nothing changed")
    if kind not in consortium.ADDABLE_KINDS:
        raise NetworkError(
            f"kind: {kind!r} cannot be added: the chaincode's access table knows several orgs only of kind "
            f"{', '.join(sorted(consortium.ADDABLE_KINDS))} (one vehicle office, one insurer, ...)"
        )
    template = next(o for o in consortium.APPLICATION_ORGS if o.kind == kind)
    try:
        slot = orgset.next_slot(settings)
    except ValueError as exc:
        raise NetworkError(f"org: {exc}") from None
    users = tuple(User(u.name, u.role, admin=u.role == "admin") for u in template.network_users)
    return Org(
        name.lower(), name, f"{name}MSP", slot, True, template.endorsing, False, users, template.kind.value
    )


def org_group(settings: Settings, org: Org) -> dict[str, Any]:
    """The org's channel config group (MSP, policies, anchor peer), as `configtxgen -printOrg` prints it."""
    definition = config.app_org(settings, org)
    definition["AnchorPeers"] = [
        {"Host": settings.hosts.advertise(topology.peer_name(org)), "Port": settings.ports.peer(org)}
    ]
    with tempfile.TemporaryDirectory(prefix="printorg-") as tmp:
        (Path(tmp) / "configtx.yaml").write_text(yaml.safe_dump({"Organizations": [definition]}))
        out = run(
            [str(settings.binary("configtxgen")), "-printOrg", org.msp_id, "-configPath", tmp],
            env={"FABRIC_CFG_PATH": tmp},
            what=f"configtxgen -printOrg {org.msp_id}",
        )
    doc, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])  # configtxgen logs after the JSON
    return dict(doc)


def majority_signers(settings: Settings) -> list[Org]:
    """Admins that satisfy the Application group's Admins policy (MAJORITY of the application orgs):
    the first orgs with a peer, as many as a majority needs."""
    app = [o for o in orgset.orgs(settings) if not o.orderer_org]
    return topology.peer_orgs(app)[: len(app) // 2 + 1]


def add_org(settings: Settings, name: str, kind: str = "bank", signers: list[Org] | None = None) -> Admission:
    """Admit `name` (e.g. BankC) to the channel, its peer joined and endorsing every chaincode."""
    org = new_org(settings, name, kind)
    signers = majority_signers(settings) if signers is None else signers
    net = Network(settings)
    times: dict[str, float] = {}
    t = time.monotonic()
    orgset.write(settings, (org,))
    try:
        net.start_node(topology.ca_name(org))
        ca.Enroller(settings, org).enroll_all()
        times["ca and identities"] = time.monotonic() - t
        t = time.monotonic()
        group = org_group(settings, org)

        def add(cfg: dict[str, Any]) -> None:
            groups = cfg["channel_group"]["groups"]["Application"]["groups"]
            if org.msp_id in groups:
                raise NetworkError(f"org: {org.msp_id} is already a member of {topology.CHANNEL}")
            groups[org.msp_id] = group

        heights = {o.msp_id: channel.height(settings, o) for o in signers}
        try:
            governance.update_config(settings, add, signers, f"admission of {org.name}")
        except NetworkError as exc:
            raise NetworkError(f"{exc}{_missing(str(exc), settings, signers, org)}") from exc
    except BaseException:
        _forget(settings, net, org)
        raise
    times["channel config update"] = time.monotonic() - t
    t = time.monotonic()
    peer = topology.peer_name(org)
    net.start_node(peer)
    block = channel.genesis_block(settings)
    channel.join_peer(settings, org, block)
    target = max(heights.values()) + 1  # the config block that admitted it
    channel.wait_for_height(settings, org, target, timeout=120)
    times["peer joined and caught up"] = time.monotonic() - t
    t = time.monotonic()
    connection_profile.write_profiles(settings)
    chaincodes = _redeploy(net)
    times["chaincode definitions"] = time.monotonic() - t
    log.info("admitted %s to %s (signed by %s)", org.msp_id, topology.CHANNEL, [o.msp_id for o in signers])
    return Admission(org.msp_id, org.name, [o.msp_id for o in signers], peer, times, chaincodes)


_COUNT = re.compile(r"(\d+) sub-policies were satisfied, but this policy requires (\d+) of the '(\w+)'")


def _missing(error: str, settings: Settings, signers: list[Org], new: Org) -> str:
    """Which signatures an implicit MAJORITY policy still lacked, and whose could supply them."""
    m = _COUNT.search(error)
    if not m:
        return ""
    others = [o.msp_id for o in orgset.orgs(settings) if not o.orderer_org and o not in signers and o != new]
    return f"; missing signatures: {int(m[2]) - int(m[1])} more {m[3]} of {', '.join(others)}"


def _redeploy(net: Network) -> dict[str, str]:
    """Restart each chaincode server at once (its client CA bundle is rebuilt from the org set, so it
    trusts the new org's peers: a server reads it at start), then move each definition to the next
    sequence (its policy names the org set's endorsing orgs): installed on every peer, approved by
    every peer org, committed. The servers keep serving the current definition meanwhile."""
    s = net.settings
    for spec in chaincode.load_specs():
        if not spec.missing_modules():
            chaincode.start_server(s, net.procs, chaincode.prepare(s, spec))
    report = UpReport()
    net.deploy_chaincodes(report)
    return dict(report.chaincodes)


def remove_added_org(settings: Settings, name: str, signers: list[Org] | None = None) -> list[str]:
    """Take an org that `org add` admitted out of the network again: its group leaves the channel (a
    config update signed like the admission), every chaincode definition moves to a policy without it,
    its peer and CA stop, and its crypto, ledger and entry in the org set are deleted. Founding orgs of
    the consortium are refused (suspend them instead). Returns the signers' MSP ids."""
    try:
        org = topology.org(name, orgset.added(settings))
    except KeyError:
        raise NetworkError(
            f"org: {name!r} was not added by `org add` to this network; founding orgs are suspended, "
            "not removed (org suspend)"
        ) from None
    net = Network(settings)
    signers = signers or [o for o in majority_signers(settings) if o != org]

    def drop(cfg: dict[str, Any]) -> None:
        cfg["channel_group"]["groups"]["Application"]["groups"].pop(org.msp_id, None)

    governance.update_config(settings, drop, signers, f"removal of {org.name}")
    _forget(settings, net, org)
    shutil.rmtree(settings.nodes_dir / topology.peer_name(org), ignore_errors=True)
    connection_profile.profile_path(settings, org.key).unlink(missing_ok=True)
    connection_profile.write_profiles(settings)
    _redeploy(net)
    return [o.msp_id for o in signers]


def _forget(settings: Settings, net: Network, org: Org) -> None:
    """Take an org out of this network's org set: stop its nodes, drop its crypto and its entry (an
    admission the channel refused, or a removal)."""
    for node in (topology.peer_name(org), topology.ca_name(org)):
        net.procs.stop(node)
    orgset.write_added(settings, tuple(o for o in orgset.added(settings) if o.msp_id != org.msp_id))
    shutil.rmtree(ca.org_crypto(settings, org).root, ignore_errors=True)
    log.warning("%s is no longer in this network's org set", org.msp_id)
