"""Crash safety of the whole gateway: `mledger serve` killed with SIGKILL mid-load, then restarted.

Every write the API acknowledged (201) must be there after the restart, and nothing half-written:
each vehicle is either absent or complete (public record, owner private data, history entry).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.unit.api.builders import registration, vin

MLEDGER = [sys.executable, "-c", "from app.cli import main; main()"]
USER, PASSWORD = "loader@TrafficAuthorityMSP", "loader-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MLEDGER_TOKEN_SECRET": "c" * 32}
    return subprocess.Popen(
        [*MLEDGER, "serve", "--port", str(port), "--data-dir", str(data_dir), "--no-demo"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gateway exited during start-up"
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("gateway not ready in time")


def _token(base: str) -> str:
    response = httpx.post(base + "/api/v1/auth/token", data={"username": USER, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_sigkill_mid_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "gw", tmp_path / "serve.log"
    subprocess.run(
        [*MLEDGER, "users", "add", "loader", "--org", "TrafficAuthorityMSP", "--role", "registrar",
         "--password", PASSWORD, "--data-dir", str(data_dir)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port, log)
    acknowledged: list[int] = []
    attempted: list[int] = []
    stop = threading.Event()
    try:
        _wait_ready(base, proc)
        headers = {"Authorization": f"Bearer {_token(base)}"}

        def load(worker: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                serial = 500_000 + worker * 10_000
                while not stop.is_set():
                    serial += 1
                    attempted.append(serial)
                    try:
                        response = http.post("/api/v1/vehicles", json=registration(serial))
                    except httpx.HTTPError:
                        return  # the server died under us: this write is not acknowledged
                    if response.status_code == 201:
                        acknowledged.append(serial)

        workers = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(acknowledged) >= 25, log.read_text()[-2000:]

    proc = _serve(data_dir, port, log)
    try:
        _wait_ready(base, proc)
        headers = {"Authorization": f"Bearer {_token(base)}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for serial in acknowledged:
                record = http.get(f"/api/v1/vehicles/{vin(serial)}")
                assert record.status_code == 200, (serial, record.text)
            for serial in attempted:  # acknowledged or not: all of it or nothing
                record = http.get(f"/api/v1/vehicles/{vin(serial)}")
                assert record.status_code in (200, 404), record.text
                if record.status_code == 200:
                    assert record.json()["status"] == "REGISTERED"
                    owner = http.get(f"/api/v1/vehicles/{vin(serial)}/owner")
                    assert owner.status_code == 200 and owner.json()["id_number"].endswith(f"{serial:08d}")
                    tx = http.get(f"/api/v1/transactions/{record.json()['last_tx_id']}")
                    assert tx.status_code == 200 and tx.json()["validation_code"] == "VALID"
            # the restarted gateway takes writes again
            assert http.post("/api/v1/vehicles", json=registration(599_999)).status_code == 201
    finally:
        proc.terminate()
        proc.wait(timeout=30)
