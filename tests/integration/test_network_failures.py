"""`up` failure modes on a second, throw-away network (own data dir and base port): the error names the
node, the port and the log file, and nothing it started is left running."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from network.errors import NetworkError
from network.manager import Network
from network.process import pid_alive, port_free
from network.settings import Settings

BASE = 29600


def _net(tmp_path: Path) -> Network:
    s = Settings.from_env()
    return Network(
        Settings(
            tmp_path / "net",
            s.bin_dir,
            BASE,
            s.fabric_version,
            s.fabric_ca_version,
            s.kubo_version,
            s.batch_timeout,
        )
    )


def test_busy_orderer_port_stops_up_and_leaves_nothing_running(tmp_path: Path) -> None:
    net = _net(tmp_path)
    busy = net.settings.ports.orderer(1)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", busy))
        blocker.listen()
        with pytest.raises(NetworkError) as err:
            net.up(chaincodes=False)
    msg = str(err.value)
    assert "orderer1" in msg and str(busy) in msg and "orderer1.log" in msg
    assert (net.settings.logs_dir / "ca.banka.log").exists(), "up should have started the CAs first"
    assert net.procs.load() == {}
    for node in net.nodes():  # nothing of this network still listens (sockets close as processes exit)
        ports = [p for label, p in node.ports.items() if (node.name, label) != ("orderer1", "listen")]
        held = _held_ports(ports, grace=5.0)
        assert not held, f"{node.name} ports still bound: {held}\n{_listeners(held)}"


def _held_ports(ports: list[int], grace: float) -> list[int]:
    deadline = time.monotonic() + grace
    while True:
        held = [p for p in ports if not port_free(p)]
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.2)


def _listeners(ports: list[int]) -> str:
    """Who holds the ports (for the failure message)."""
    if not ports or shutil.which("ss") is None:
        return ""
    result = subprocess.run(["ss", "-tanp"], capture_output=True, text=True, check=False)
    return "\n".join(line for line in result.stdout.splitlines() if any(f":{p} " in line for p in ports))


def test_dead_ca_is_named(tmp_path: Path) -> None:
    net = _net(tmp_path)
    net.settings.data_dir.mkdir(parents=True)
    net.start_node("ca.banka")
    ca_pid = net.procs.get("ca.banka")
    assert ca_pid is not None
    net.stop_node("ca.banka")
    from network.ca import Enroller
    from network.topology import org

    with pytest.raises(NetworkError) as err:
        Enroller(net.settings, org("BankA")).enroll_all()
    msg = str(err.value)
    assert "ca.banka" in msg and str(net.settings.ports.ca(org("BankA"))) in msg and "ca.banka.log" in msg
    assert not pid_alive(ca_pid.pid)
