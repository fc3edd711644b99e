"""What each peer's gossip knows about the channel's peers, asked through Fabric's discovery service.

A peer's discovery service answers `peers` from its gossip membership of the channel and the identities
its gossip has learnt, which is exactly what it uses to pick the targets of private-data dissemination.
So it is the observable signal that a peer has caught up with a change of another peer's identity (a
renewed certificate gives a new PKI-ID = hash(MSP id, certificate)): the renewed peer appears with its
new certificate and no longer with the old one.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from network import topology
from network.ca import key_file, org_crypto
from network.errors import CommandError, NetworkError
from network.process import run
from network.settings import Settings
from network.topology import CHANNEL, Org


def _discover(settings: Settings, org: Org, verb: str, *extra: str) -> str:
    """Ask `org`'s peer's discovery service (as the org's admin) and return the CLI's output."""
    admin = org_crypto(settings, org).user("admin")
    return run(
        [
            str(settings.binary("discover")),
            verb,
            "--channel",
            CHANNEL,
            *extra,
            "--server",
            f"{settings.hosts.dial(topology.peer_name(org))}:{settings.ports.peer(org)}",
            "--peerTLSCA",
            str(org_crypto(settings, org).tls_ca),
            "--userKey",
            str(key_file(admin / "msp")),
            "--userCert",
            str(admin / "msp" / "signcerts" / "cert.pem"),
            "--MSP",
            org.msp_id,
            "--tlsCert",
            str(admin / "tls" / "cert.pem"),
            "--tlsKey",
            str(admin / "tls" / "key.pem"),
        ],
        what=f"discover {verb} on {topology.peer_name(org)}",
        timeout=20,
    )


def _json_list(out: str) -> list[Any]:
    """The JSON array the discover CLI prints (with whatever the CLI logs around it)."""
    start = re.search(r"^\[", out, re.MULTILINE)  # a line opening the array, not a log's "[module]"
    if start is None:
        raise CommandError(f"discover printed no JSON array: {out.strip()[-200:]}")
    value, _ = json.JSONDecoder().raw_decode(out, start.start())
    return list(value)


def channel_peers(settings: Settings, org: Org) -> dict[str, list[str]]:
    """MSP id -> PEM certificates of the channel peers `org`'s peer currently knows (asked as its admin)."""
    out = _discover(settings, org, "peers")
    view: dict[str, list[str]] = {}
    for p in _json_list(out):
        view.setdefault(p["MSPID"], []).append(p["Identity"].strip())
    return view


def endorsement_layouts(settings: Settings, org: Org, chaincode: str) -> int:
    """How many endorsement layouts `org`'s peer can derive for `chaincode` from what its gossip knows
    (the peers alive in its membership that have the chaincode): what that peer's Gateway service uses
    to pick endorsers. CommandError while it can derive none ("no peer combination can satisfy the
    endorsement policy")."""
    out = _discover(settings, org, "endorsers", "--chaincode", chaincode)
    return len(_json_list(out))


def wait_for_endorsers(settings: Settings, orgs: list[Org], chaincodes: list[str], timeout: float) -> float:
    """Wait until every peer in `orgs` can derive endorsers for every chaincode in `chaincodes`, so a
    client's first submit through any org's Gateway finds a satisfying set of peers; return the seconds
    waited. Peers learn each other (and the chaincodes each one has) by gossip a few alive rounds after
    the anchor peers are in the channel config; until then the Gateway answers FAILED_PRECONDITION "no
    combination of peers can be derived which satisfy the endorsement policy". NetworkError naming the
    peers and chaincodes still without endorsers after `timeout`."""
    t0 = time.monotonic()
    todo = [(o, cc) for o in orgs for cc in chaincodes]
    last: dict[tuple[str, str], str] = {}
    while True:
        behind = []
        for o, cc in todo:
            try:
                endorsement_layouts(settings, o, cc)
            except CommandError as exc:
                behind.append((o, cc))
                last[(o.msp_id, cc)] = str(exc).splitlines()[-1][:200]
        todo = behind
        waited = time.monotonic() - t0
        if not todo:
            return waited
        if waited > timeout:
            names = ", ".join(f"{topology.peer_name(o)} for {cc} ({last[(o.msp_id, cc)]})" for o, cc in todo)
            raise NetworkError(
                f"after {timeout:.0f}s the discovery service of {names} still derives no endorsers: "
                "gossip has not learnt enough peers with the chaincode",
                node=topology.peer_name(todo[0][0]),
            )
        time.sleep(1.0)


# How long the condition must hold before it is trusted (Fabric core.yaml defaults): an observer that first
# expired the old PKI-ID as dead notices the switch only on its next reconnection round to dead members
# (peer.gossip.reconnectInterval, 25 s); that purges the old PKI-ID and, as the connection store keeps
# one connection per peer, closes the one to the new PKI-ID, so the new one is briefly dead until its
# next alive message (peer.gossip.aliveTimeInterval, 5 s). One full round without a change means every
# observer has made the switch.
SETTLE_SECONDS = 25.0 + 5.0


def wait_for_identity(
    settings: Settings,
    renewed: Org,
    observers: list[Org],
    new_cert: str,
    old_cert: str | None,
    timeout: float,
    settle: float = SETTLE_SECONDS,
) -> float:
    """Wait until every observer's gossip knows `renewed`'s peer by its new certificate and no longer by
    the old one (if any), without a change for `settle` seconds; return the seconds waited. NetworkError
    naming the peers still behind (or flapping) after `timeout`."""
    t0 = time.monotonic()
    steady_since: float | None = None
    while True:
        behind = []
        for o in observers:
            try:
                certs = channel_peers(settings, o).get(renewed.msp_id, [])
            except CommandError:
                certs = []
            if new_cert.strip() not in certs or (old_cert is not None and old_cert.strip() in certs):
                behind.append(o)
        now = time.monotonic()
        if behind:
            steady_since = None
        elif steady_since is None:
            steady_since = now
        elif now - steady_since >= settle:
            return now - t0
        if now - t0 > timeout:
            names = ", ".join(topology.peer_name(o) for o in behind) or "every peer (not steady)"
            peer = topology.peer_name(renewed)
            raise NetworkError(
                f"after {timeout:.0f}s the gossip of {names} still does not know {peer} "
                "by its renewed certificate only: private data cannot reach it reliably yet",
                node=peer,
            )
        time.sleep(1.0)
