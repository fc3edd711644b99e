"""Faults a soak injects into the native network: find the Raft leader, kill a node as a crash would.

The leader is read from each orderer's operations endpoint (the Prometheus gauge
``consensus_etcdraft_is_leader{channel=...}``), not from logs, so it is the orderer's own view.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import urllib.request

from network.errors import NetworkError
from network.manager import Network
from network.process import pid_alive
from network.topology import CHANNEL

LEADER_METRIC = "consensus_etcdraft_is_leader"


def _is_leader(metrics: str, channel: str) -> bool:
    for line in metrics.splitlines():
        if line.startswith(LEADER_METRIC + "{") and f'channel="{channel}"' in line:
            return float(line.rsplit(" ", 1)[1]) == 1.0
    return False


def raft_leader(net: Network, channel: str = CHANNEL, timeout: float = 30.0) -> str:
    """The name of the orderer that leads the channel's Raft cluster (waits for an election)."""
    deadline = time.monotonic() + timeout
    while True:
        for node in net.nodes():
            url = net.operations_url(node)
            if node.kind != "orderer" or not url or not net.procs.alive(node.name):
                continue
            with contextlib.suppress(OSError), urllib.request.urlopen(url + "/metrics", timeout=3) as answer:
                if _is_leader(answer.read().decode(), channel):
                    return node.name
        if time.monotonic() > deadline:
            raise NetworkError(f"no orderer reports {LEADER_METRIC}=1 for channel {channel}")
        time.sleep(0.5)


def kill_node(net: Network, name: str) -> int:
    """SIGKILL a node (no clean shutdown) and forget its process record; returns the pid killed."""
    p = net.procs.get(name)
    if p is None or not pid_alive(p.pid, p.argv[0]):
        raise NetworkError(f"{name} is not running", node=name)
    os.kill(p.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(p.pid, p.argv[0]) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(p.pid, os.WNOHANG)
        time.sleep(0.05)
    net.procs.stop(name)  # the pid is gone: this drops the record only
    return p.pid


def restart_node(net: Network, name: str) -> None:
    """Stop a node the ordinary way (SIGTERM) and start it again, waiting until it is healthy."""
    net.stop_node(name)
    net.start_node(name)
