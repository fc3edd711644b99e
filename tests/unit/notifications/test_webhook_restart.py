"""Webhook delivery survives a receiver that fails and a gateway restart (issue 16 test).

A real gateway process (``mledger serve``, embedded ledger) and a real receiver on 127.0.0.1 that
refuses the first attempts of every delivery. Two chaincode events are committed and the gateway is
killed (SIGKILL) while their deliveries are still failing; a second gateway process on the same data
resumes from the notifier's checkpoint and the outbox. Each notification must then be accepted by the
receiver exactly once per idempotency key, with a valid HMAC, and recorded once in the inbox.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.unit.api.builders import lien, registration, valuation, vin
from tests.unit.notifications.receiver import Receiver

MLEDGER = [sys.executable, "-c", "from app.cli import main; main()"]
USERS = {
    "officer@TrafficAuthorityMSP": "registrar",
    "loan@BankAMSP": "loan_officer",
    "models@BankAMSP": "model_admin",
}
PASSWORD = "notify-test-password-1"  # a throw-away user of a throw-away data dir
SERIAL = 81


def _serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MLEDGER_TOKEN_SECRET": "n" * 32,
        "MLEDGER_NOTIFY_ALLOW_HTTP_HOSTS": '["127.0.0.1"]',  # a JSON list (pydantic-settings)
        "MLEDGER_NOTIFY_BACKOFF_SECONDS": "0.3",
        "MLEDGER_NOTIFY_BACKOFF_MAX_SECONDS": "0.6",
        "MLEDGER_NOTIFY_MAX_ATTEMPTS": "20",
    }
    return subprocess.Popen(
        [*MLEDGER, "serve", "--port", str(port), "--data-dir", str(data_dir), "--no-demo"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def _wait(predicate: Any, seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what}: not in {seconds}s\n{tail}")


def _ready(base: str, proc: subprocess.Popen[bytes]) -> bool:
    assert proc.poll() is None, "gateway exited during start-up"
    try:
        return httpx.get(base + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _client(base: str, user: str) -> httpx.Client:
    token = httpx.post(base + "/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=30)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_delivery_survives_a_failing_receiver_and_a_gateway_restart(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "gw", tmp_path / "serve.log"
    for user, role in USERS.items():
        name, _, org = user.partition("@")
        subprocess.run(
            [*MLEDGER, "users", "add", name, "--org", org, "--role", role, "--data-dir", str(data_dir)],
            input=f"{PASSWORD}\n{PASSWORD}\n".encode(),
            check=True,
            capture_output=True,
        )
    receiver = Receiver(fail_first=3).start()
    port = random.randint(33900, 33999)  # the network fixture uses the base of the block
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port, log)
    try:
        _wait(lambda: _ready(base, proc), 240, "gateway ready", log)
        ta, bank, models = (_client(base, u) for u in USERS)
        _ok(ta.post("/vehicles", json=registration(SERIAL)), 201)
        model = {"model_id": "test-model", "model_version": "1.0.0", "model_card_sha256": "cd" * 32}
        _ok(models.post("/model-versions", json=model), 201)
        consent = _ok(
            bank.post(
                "/documents",
                data={"doc_type": "owner_consent", "vin": vin(SERIAL)},
                files={"file": ("c.bin", b"consent 81")},
            ),
            201,
        )["document"]["document_id"]
        _ok(bank.post("/liens", json=lien(SERIAL, "A", consent)), 201)
        bank.post("/valuation-records", json=valuation(SERIAL))
        _ok(ta.post(f"/liens/L-{SERIAL}-A/record"))
        created = _ok(bank.post("/notifications/subscriptions", json={"url": receiver.url}), 201)
        receiver.secret = created["secret"]

        order = _ok(
            ta.post(
                "/documents",
                data={"doc_type": "court_order", "vin": vin(SERIAL)},
                files={"file": ("o.bin", b"order 81")},
            ),
            201,
        )["document"]["document_id"]
        body = {"document_id": order, "authority": "Court", "reason": "judgment"}
        _ok(ta.post(f"/vehicles/{vin(SERIAL)}/seizure", json=body))
        _ok(ta.post(f"/vehicles/{vin(SERIAL)}/seizure/lift", json=body))
        _wait(lambda: len(receiver.attempts) >= 1, 60, "a first (refused) delivery attempt", log)
        assert not receiver.accepted  # the receiver refused every attempt so far
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    proc = _serve(data_dir, port, log)
    try:
        _wait(lambda: _ready(base, proc), 240, "gateway ready after the restart", log)
        _wait(lambda: len(receiver.accepted) == 2, 120, "both notifications accepted", log)
        time.sleep(1.0)  # any stray re-send would arrive now
        bank = _client(base, "loan@BankAMSP")
        inbox = _ok(bank.get("/notifications"))["notifications"]
        deliveries = _ok(bank.get("/notifications/deliveries"))["deliveries"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        receiver.stop()
    assert sorted(b["type"] for b in receiver.accepted.values()) == ["SeizureLifted", "VehicleSeized"]
    assert all(n >= 4 for n in receiver.attempts.values())  # 3 refused, then accepted
    assert receiver.bad_signatures == 0
    assert sorted(n["event_name"] for n in inbox) == ["SeizureLifted", "VehicleSeized"]
    assert sorted(d["idempotency_key"] for d in deliveries) == sorted(receiver.accepted)
    assert all(d["status"] == "delivered" for d in deliveries)
