"""Peers from ledger snapshots (Fabric 2.5): take a snapshot on a peer, rebuild a peer from one.

A snapshot holds the channel's public state, the hashes of private data, the transaction IDs and the
collection config history at one block; not the blocks before it and not private data itself. A peer that
joins by snapshot commits the blocks after it (from the orderer and gossip) and fetches the private data
of its collections from the other members (reconciliation). Both commands act as the peer's org admin.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from network import chaincode, channel, topology
from network.config import admin_cli_env
from network.errors import CommandError, NetworkError
from network.manager import Network
from network.process import run
from network.topology import CHANNEL, Org

log = logging.getLogger(__name__)

# the files of a completed snapshot: Fabric writes the additional metadata last
_DONE_MARKER = "_snapshot_additional_metadata.json"
# what stays in a rebuilt peer's file system path (the rest of its ledger is moved aside)
_KEEP = ("lifecycle", "chaincodes", "externalbuilder")  # installed chaincode packages and builders


@dataclass(frozen=True)
class Snapshot:
    path: Path
    last_block: int  # the snapshot's last block; a peer joined from it starts at height last_block + 1

    @property
    def height(self) -> int:
        return self.last_block + 1


@dataclass
class Rebuild:
    peer: str
    snapshot: Snapshot
    height: int  # the channel height the rebuilt peer reached
    aside: Path | None  # where its former ledger was moved (None: the site was lost, there was none)
    seconds: dict[str, float] = field(default_factory=dict)  # snapshot, join, catch-up


def _peer_org(net: Network, peer: str) -> Org:
    for org in topology.peer_orgs(net.orgs()):
        if topology.peer_name(org) == peer:
            return org
    known = ", ".join(topology.peer_name(o) for o in topology.peer_orgs(net.orgs()))
    raise NetworkError(f"peer: unknown peer {peer!r}; known: {known}", log=None)


def _snapshot_args(net: Network, org: Org) -> list[str]:
    s = net.settings
    name = topology.peer_name(org)
    address = f"{s.hosts.dial(name)}:{s.ports.peer(org)}"
    env = admin_cli_env(s, org)
    return ["-c", CHANNEL, "--peerAddress", address, "--tlsRootCertFile", env["CORE_PEER_TLS_ROOTCERT_FILE"]]


def completed_dir(net: Network, peer: str) -> Path:
    """Where `peer` writes completed snapshots of the channel (its ledger.snapshots.rootDir)."""
    return net.settings.nodes_dir / peer / "snapshots" / "completed" / CHANNEL


def _completed(net: Network, peer: str, at_least: int) -> Snapshot | None:
    folder = completed_dir(net, peer)
    if not folder.is_dir():
        return None
    done = [int(p.name) for p in folder.iterdir() if p.name.isdigit() and (p / _DONE_MARKER).is_file()]
    fresh = [n for n in done if n >= at_least]
    return Snapshot(folder / str(min(fresh)), min(fresh)) if fresh else None


def take(net: Network, peer: str, timeout: float = 300) -> Snapshot:
    """Ask `peer` (as its org admin) for a snapshot at its current height and wait until it is written."""
    org = _peer_org(net, peer)
    s = net.settings
    env = admin_cli_env(s, org)
    last = channel.height(s, org) - 1
    argv = [str(s.binary("peer")), "snapshot"]
    run([*argv, "submitrequest", "-b", "0", *_snapshot_args(net, org)], env=env, what=f"snapshot on {peer}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = _completed(net, peer, last)
        if got is not None:
            pending = run([*argv, "listpending", *_snapshot_args(net, org)], env=env, what="listpending")
            if str(got.last_block) not in pending:
                log.info("snapshot of %s on %s at block %s: %s", CHANNEL, peer, got.last_block, got.path)
                return got
        time.sleep(0.5)
    raise NetworkError(
        f"{peer} wrote no snapshot of {CHANNEL} at block >= {last} within {timeout:.0f}s",
        node=peer,
        log=s.log_file(peer),
    )


def _other_peer(net: Network, org: Org) -> str:
    for other in topology.peer_orgs(net.orgs()):
        name = topology.peer_name(other)
        if other != org and net.procs.alive(name):
            return name
    raise NetworkError(f"no other running peer to take a snapshot from for {org.msp_id}", log=None)


def _move_ledger_aside(ledger: Path) -> Path:
    """Move the peer's ledger data aside, keeping its installed chaincode packages in place."""
    aside = ledger.with_name(f"ledger.before-{time.strftime('%Y%m%dT%H%M%S')}")
    ledger.rename(aside)
    ledger.mkdir()
    for keep in _KEEP:
        if (aside / keep).exists():
            shutil.copytree(aside / keep, ledger / keep)
    return aside


def _join(net: Network, org: Org, path: Path, timeout: float = 60) -> None:
    """`peer channel joinbysnapshot`, retried while the restarted peer's gRPC port is not yet accepting
    (its operations endpoint answers first)."""
    s = net.settings
    deadline = time.monotonic() + timeout
    while True:
        try:
            run(
                [str(s.binary("peer")), "channel", "joinbysnapshot", "--snapshotpath", str(path)],
                env=admin_cli_env(s, org),
                what=f"joinbysnapshot on {topology.peer_name(org)}",
            )
            return
        except CommandError:
            if time.monotonic() > deadline or channel.peer_joined(s, org):
                raise
            time.sleep(1)


def channel_height(net: Network, but: Org) -> int:
    """The highest height the channel's other running peers report."""
    heights = [
        channel.height(net.settings, o)
        for o in topology.peer_orgs(net.orgs())
        if o != but and net.procs.alive(topology.peer_name(o))
    ]
    return max(heights)


def rebuild(net: Network, peer: str, snapshot: Path | None = None, timeout: float = 300) -> Rebuild:
    """Stop `peer`, move its ledger aside, start it empty, join the channel from a snapshot (a new one from
    another peer when none is given) and wait until it reaches the channel's height.

    A peer whose ledger folder is gone (its site lost, its MSP and TLS keys restored from the org's
    backup) starts on an empty one and gets its chaincode packages installed again after the join."""
    org = _peer_org(net, peer)
    s = net.settings
    t0 = time.monotonic()
    if snapshot is None:
        snap = take(net, _other_peer(net, org))
    else:
        snapshot = snapshot.resolve()  # the peer process reads it, from its own working directory
        marker = snapshot / _DONE_MARKER
        if not marker.is_file() or not snapshot.name.isdigit():
            raise NetworkError(f"snapshot: {snapshot} is not a completed snapshot folder (no {_DONE_MARKER})")
        snap = Snapshot(snapshot, int(snapshot.name))
    seconds = {"snapshot": time.monotonic() - t0}
    t1 = time.monotonic()
    net.stop_node(peer)
    ledger = s.nodes_dir / peer / "ledger"
    aside = _move_ledger_aside(ledger) if ledger.exists() else None
    net.start_node(peer)
    _join(net, org, snap.path)
    if aside is None:
        reinstalled = chaincode.install_packages(s, org)
        log.info("%s: chaincode packages installed again: %s", peer, ", ".join(reinstalled) or "none")
    channel.wait_for_height(s, org, snap.height, timeout=timeout)
    seconds["join"] = time.monotonic() - t1
    t2 = time.monotonic()
    target = channel_height(net, org)
    reached = channel.wait_for_height(s, org, target, timeout=timeout)
    seconds["catch-up"] = time.monotonic() - t2
    log.info("%s rebuilt from %s: height %s (former ledger: %s)", peer, snap.path, reached, aside)
    return Rebuild(peer, snap, reached, aside, seconds)
