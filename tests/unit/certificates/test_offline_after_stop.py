"""The same certificate verifies offline after the gateway is stopped: `mledger serve` issues it, is
stopped, and `mledger certificate verify` checks the PDF with only the dealer org's CA certificate."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx

from app.certificates.pdf import extract_document
from tests.unit.api.builders import registration, vin
from tests.unit.api.test_restart_crash import MLEDGER, _free_port, _serve, _wait_ready

USERS = {"officer@TrafficAuthorityMSP": "registrar", "seller@DealerMSP": "dealer"}
PASSWORD = "certificate-test-pw-1"


def _token(base: str, user: str) -> dict[str, str]:
    response = httpx.post(base + "/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MLEDGER, "certificate", "verify", *args], capture_output=True, text=True, timeout=120
    )


def test_certificate_verifies_offline_after_the_gateway_is_stopped(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "gw", tmp_path / "serve.log"
    for qualified, role in USERS.items():
        name, _, org = qualified.partition("@")
        subprocess.run(
            [
                *MLEDGER,
                "users",
                "add",
                name,
                "--org",
                org,
                "--role",
                role,
                "--password",
                PASSWORD,
                "--data-dir",
                str(data_dir),
            ],
            check=True,
            capture_output=True,
        )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data_dir, port, log)
    try:
        _wait_ready(base, proc)
        with httpx.Client(base_url=base + "/api/v1", timeout=60) as http:
            officer, dealer = (_token(base, u) for u in USERS)
            assert http.post("/vehicles", json=registration(171), headers=officer).status_code == 201
            issued = http.post(f"/vehicles/{vin(171)}/certificates", headers=dealer)
            assert issued.status_code == 201, issued.text
            number = issued.json()["certificate"]["certificate_number"]
            pdf = http.get(f"/certificates/{number}.pdf", headers=dealer)
            assert pdf.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.poll() is not None  # the gateway is gone
    with httpx.Client() as http:
        try:
            http.get(base + "/readyz", timeout=2)
            raise AssertionError("the gateway still answers")
        except httpx.HTTPError:
            pass

    cas = sorted(data_dir.glob("**/DealerMSP/ca-cert.pem"))
    assert cas, "the dealer org's CA certificate"
    file = tmp_path / f"{number}.pdf"
    file.write_bytes(pdf.content)
    ok = _verify(str(file), "--ca", str(cas[0]))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["valid"] is True

    document = extract_document(pdf.content)
    document["certificate"]["facts"]["status"] = "REGISTERED-AND-FREE"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    bad = _verify(str(tampered), "--ca", str(cas[0]))
    assert bad.returncode == 1 and "sha256" in bad.stdout
