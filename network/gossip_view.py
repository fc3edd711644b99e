"""What each peer's gossip knows about the channel's peers, asked through Fabric's discovery service.

A peer's discovery service answers `peers` from its gossip membership of the channel and the identities
its gossip has learnt, which is exactly what it uses to pick the targets of private-data dissemination.
So it is the observable signal that a peer has caught up with a change of another peer's identity (a
renewed certificate gives a new PKI-ID = hash(MSP id, certificate)): the renewed peer appears with its
new certificate and no longer with the old one.
"""

from __future__ import annotations

import json
import time

from network import topology
from network.ca import key_file, org_crypto
from network.errors import CommandError, NetworkError
from network.process import run
from network.settings import Settings
from network.topology import CHANNEL, Org


def channel_peers(settings: Settings, org: Org) -> dict[str, list[str]]:
    """MSP id -> PEM certificates of the channel peers `org`'s peer currently knows (asked as its admin)."""
    admin = org_crypto(settings, org).user("admin")
    out = run(
        [
            str(settings.binary("discover")),
            "peers",
            "--channel",
            CHANNEL,
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
        what=f"discover peers on {topology.peer_name(org)}",
        timeout=20,
    )
    view: dict[str, list[str]] = {}
    for p in json.loads(out[out.index("[") :]):
        view.setdefault(p["MSPID"], []).append(p["Identity"].strip())
    return view


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
