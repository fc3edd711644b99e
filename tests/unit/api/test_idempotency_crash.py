"""Idempotency across a crash: `mledger serve` killed with SIGKILL while 200 keyed writes run.

Each write carries an Idempotency-Key. The gateway is killed at a moment when some transactions are
committed on the ledger while their keys are still "in flight" in the idempotency store (observed
from the gateway's own files). After the restart every key is retried: a committed-but-in-flight key
gets its original answer (same status, same transaction), an acknowledged key the same body as before,
and nothing runs twice: each vehicle is registered once and each odometer has exactly one reading.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.unit.api.builders import registration, vin
from tests.unit.api.test_restart_crash import MLEDGER, _free_port, _serve, _wait_ready

LOADER = ("loader", "TrafficAuthorityMSP", "registrar", "loader-password-1")
DEALER = ("garage", "DealerMSP", "dealer", "garage-password-1")
AUDITOR = ("inspector", "TrafficAuthorityMSP", "auditor", "inspector-password-1")
ODOMETER_VEHICLES = 100  # registered before the load; one reading each during it
NEW_VEHICLES = 100  # registered during the load


def _token(base: str, user: tuple[str, str, str, str]) -> str:
    name, org, _, password = user
    response = httpx.post(
        base + "/api/v1/auth/token", data={"username": f"{name}@{org}", "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _committed_in_flight(data_dir: Path) -> set[str]:
    """Keys whose transaction is VALID on the ledger while the idempotency store has no answer yet."""
    ledger = sqlite3.connect(f"file:{data_dir / 'ledger' / 'ledger.sqlite'}?mode=ro", uri=True, timeout=0.2)
    store = sqlite3.connect(f"file:{data_dir / 'idempotency.sqlite'}?mode=ro", uri=True, timeout=0.2)
    try:
        pending = dict(
            store.execute("SELECT tx_id, key FROM idempotency WHERE status IS NULL AND tx_id IS NOT NULL")
        )
        if not pending:
            return set()
        marks = ",".join("?" * len(pending))
        valid = ledger.execute(
            f"SELECT tx_id FROM txs WHERE validation_code = 0 AND tx_id IN ({marks})", list(pending)
        ).fetchall()
        return {pending[row[0]] for row in valid}
    except sqlite3.OperationalError:  # a frozen writer holds a lock: not a moment to judge
        return set()
    finally:
        ledger.close()
        store.close()


def _writes() -> list[dict[str, Any]]:
    """200 keyed writes: 100 registrations of new vehicles, 100 odometer readings (one per vehicle)."""
    writes: list[dict[str, Any]] = []
    for i in range(NEW_VEHICLES):  # plates are serial % 100000: 650_000+ never meets 600_000+
        writes.append({"key": f"reg-{uuid.uuid4()}", "who": "loader", "path": "/api/v1/vehicles",
                       "json": registration(650_000 + i), "vin": vin(650_000 + i)})  # fmt: skip
    for i in range(ODOMETER_VEHICLES):
        body = {"vin": vin(600_000 + i), "odometer_km": 12_000 + i, "source": "dealer_inspection"}
        writes.append({"key": f"odo-{uuid.uuid4()}", "who": "garage", "path": "/api/v1/odometer",
                       "json": body, "vin": body["vin"]})  # fmt: skip
    writes.sort(key=lambda w: w["key"])  # interleave the two kinds
    return writes


def test_sigkill_with_idempotency_keys_replays_committed_writes_and_runs_nothing_twice(
    tmp_path: Path,
) -> None:
    data_dir, log = tmp_path / "gw", tmp_path / "serve.log"
    for name, org, role, password in (LOADER, DEALER, AUDITOR):
        subprocess.run(
            [*MLEDGER, "users", "add", name, "--org", org, "--role", role, "--password", password,
             "--data-dir", str(data_dir)],
            check=True, capture_output=True,
        )  # fmt: skip
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    writes = _writes()
    answers: dict[str, tuple[int, dict[str, Any]]] = {}
    proc = _serve(data_dir, port, log)
    try:
        _wait_ready(base, proc)
        tokens = {"loader": _token(base, LOADER), "garage": _token(base, DEALER)}
        with httpx.Client(base_url=base, timeout=30) as http:
            auth = {"Authorization": f"Bearer {tokens['loader']}"}
            for i in range(ODOMETER_VEHICLES):
                created = http.post("/api/v1/vehicles", json=registration(600_000 + i), headers=auth)
                assert created.status_code == 201, created.text

        queue = list(writes)
        lock = threading.Lock()
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                while not stop.is_set():
                    with lock:
                        if not queue:
                            return
                        write = queue.pop(0)
                    headers = {
                        "Authorization": f"Bearer {tokens[write['who']]}",
                        "Idempotency-Key": write["key"],
                    }
                    try:
                        response = http.post(write["path"], json=write["json"], headers=headers)
                    except httpx.HTTPError:
                        return  # the gateway died under us: no answer for this write
                    answers[write["key"]] = (response.status_code, response.json())

        workers = [threading.Thread(target=load) for _ in range(8)]
        for worker in workers:
            worker.start()
        # A candidate moment is confirmed with the gateway frozen (SIGSTOP): its files cannot change
        # while they are read, so a committed-but-in-flight key seen then is still one at the SIGKILL.
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "no committed write was in flight within 120 s"
            assert queue or len(answers) < len(writes), (
                "the load ended before a committed write was in flight"
            )
            if len(answers) >= 20 and _committed_in_flight(data_dir):  # a candidate: confirm it frozen
                os.kill(proc.pid, signal.SIGSTOP)
                if _committed_in_flight(data_dir):
                    break
                os.kill(proc.pid, signal.SIGCONT)
            time.sleep(random.uniform(0.0005, 0.003))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    in_flight = _committed_in_flight(data_dir)
    assert in_flight, "no write was committed-but-in-flight at the kill: " + log.read_text()[-2000:]
    assert 0 < len(answers) < len(writes)

    proc = _serve(data_dir, port, log)
    try:
        _wait_ready(base, proc)
        tokens = {
            "loader": _token(base, LOADER),
            "garage": _token(base, DEALER),
            "audit": _token(base, AUDITOR),
        }
        with httpx.Client(base_url=base, timeout=30) as http:
            retried: dict[str, httpx.Response] = {}
            for write in writes:  # the client retries every write, answered or not
                headers = {"Authorization": f"Bearer {tokens[write['who']]}", "Idempotency-Key": write["key"]}
                retried[write["key"]] = http.post(write["path"], json=write["json"], headers=headers)
            for write in writes:
                response = retried[write["key"]]
                assert response.status_code == 201, (write["key"], response.text)
                if write["key"] in answers:  # answered before the kill: the very same answer again
                    assert (response.status_code, response.json()) == answers[write["key"]]
                    assert response.headers.get("Idempotent-Replayed") == "true"
                if write["key"] in in_flight:  # committed, never answered: the original answer now
                    assert response.headers.get("Idempotent-Replayed") == "true"
                    tx = http.get(f"/api/v1/transactions/{response.json()['tx_id']}",
                                  headers={"Authorization": f"Bearer {tokens['loader']}"})  # fmt: skip
                    assert tx.status_code == 200 and tx.json()["validation_code"] == "VALID"
            auth = {"Authorization": f"Bearer {tokens['garage']}"}
            for write in writes:  # nothing ran twice
                if write["path"] == "/api/v1/odometer":
                    odometer = http.get(f"/api/v1/vehicles/{write['vin']}/odometer", headers=auth)
                    assert odometer.status_code == 200, odometer.text
                    assert odometer.json()["readings"] == 1, (write["vin"], odometer.json())
                else:
                    history = http.get(f"/api/v1/vehicles/{write['vin']}/history",
                                       headers={"Authorization": f"Bearer {tokens['audit']}"})  # fmt: skip
                    assert history.status_code == 200, history.text
                    assert len(history.json()) == 1, (write["vin"], history.json())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
