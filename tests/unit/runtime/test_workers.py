"""``--workers N``: N server processes on one address (SO_REUSEPORT), each peer's stream on one of them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaincode.runtime.fakepeer import FakePeer
from chaincode.runtime.inprocess import InProcessHost
from chaincode.runtime.testing import MemoryLedger, collections_from_config, make_identity
from chaincode.runtime.workers import worker_argv
from chaincode.testcc.contract import TestContract

ROOT = Path(__file__).parents[3]
PACKAGE_ID = "runtimetest_1:" + "cd" * 32
COLLECTIONS = collections_from_config(
    json.loads((ROOT / "chaincode/testcc/collections_config.json").read_text())
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _listening(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on ``port`` (/proc: its fds, the TCP tables)."""
    try:
        inodes = {
            os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")
        }
        rows = [  # grpc binds 127.0.0.1 as an IPv4-mapped IPv6 socket
            row
            for table in ("tcp", "tcp6")
            for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        ]
    except OSError:
        return False
    for row in rows:
        f = row.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port and f[9] in inodes:
            return True
    return False


def _server(port: int, workers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            f"127.0.0.1:{port}",
            "--contract",
            "chaincode.testcc.contract:TestContract",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_worker_command_line_drops_workers_and_adds_reuse_port() -> None:
    argv = worker_argv(["--address", "127.0.0.1:7", "--workers", "3", "--contract", "m:C", "--workers=2"])
    assert argv[1:] == [
        "-m",
        "chaincode.runtime.server",
        "--address",
        "127.0.0.1:7",
        "--contract",
        "m:C",
        "--reuse-port",
    ]


def test_peers_spread_over_worker_processes_and_sigterm_stops_them_all() -> None:
    port = _port()
    proc = _server(port, 2)
    officer = make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"})
    peers: list[FakePeer] = []
    try:
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) == 2, proc.communicate()[1] if proc.poll() is not None else "workers missing"
        while not all(_listening(w, port) for w in workers):  # each worker binds the port itself
            assert time.monotonic() < deadline and proc.poll() is None, "workers did not listen"
            time.sleep(0.1)
        ledger = MemoryLedger(InProcessHost([TestContract], name="runtimetest"), collections=COLLECTIONS)
        for i in range(16):  # 16 peers, each its own connection: all on one worker has odds 2^-15
            while True:
                fp = FakePeer(f"127.0.0.1:{port}", ledger)
                try:
                    fp.wait_ready(timeout=2)
                    break
                except TimeoutError:
                    fp.close()
                    assert time.monotonic() < deadline, "workers did not accept connections"
            peers.append(fp)
            assert fp.invoke(officer, "Put", f"k{i}", str(i)).response.status == 200
        results = [fp.invoke(officer, "Get", f"k{i}") for i, fp in enumerate(peers)]
        assert [r.response.payload for r in results] == [str(i).encode() for i in range(16)]
        for fp in peers:
            fp.close()
        peers = []
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        connected = {
            w
            for w in ("[worker 1]", "[worker 2]")
            if any(w in ln and "peer connected" in ln for ln in err.splitlines())
        }
        assert connected == {"[worker 1]", "[worker 2]"}, err
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        for fp in peers:
            fp.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_workers_give_up_when_the_port_is_taken() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # no SO_REUSEPORT: nobody else may bind it
        holder.listen()
        proc = _server(holder.getsockname()[1], 2)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "stopping the server" in err and "cannot listen" in err


@pytest.mark.parametrize("bad", [["--workers", "0"], ["--workers", "2", "--address", "127.0.0.1:0"]])
def test_bad_worker_arguments_are_refused(bad: list[str]) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            "127.0.0.1:7052",
            "--contract",
            "chaincode.testcc.contract:TestContract",
            *bad,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--workers" in out.stderr
