"""Search certificates through the gateway on the embedded ledger: issue, JSON and PDF, offline
verification with the org's CA certificate, tampering, the on-chain record and who may ask."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from app.certificates.document import load_trusted, verify
from app.certificates.pdf import ATTACHMENT, extract_document
from app.cli import cli
from tests.unit.api.builders import BANK_A, BANK_B, DEALER, INSURER, TA, Api, vin

SERIAL = 161
V = vin(SERIAL)


def _doc(api: Api, who: str, doc_type: str, text: str) -> str:
    return api.ok(api.upload(who, doc_type, text.encode(), vin=V), 201)["document"]["document_id"]


def encumber(api: Api) -> None:
    """Two liens (BankA then BankB), a flood brand, an odometer rollback and a stolen hold."""
    api.register(SERIAL)
    api.mortgage(SERIAL, "A", BANK_A, "60000.00")
    api.mortgage(SERIAL, "B", BANK_B, "30000.00")
    loss = _doc(api, INSURER, "loss_report", "flood")
    api.ok(api.post(INSURER, f"/vehicles/{V}/brands", json={"kind": "flood", "document_id": loss}))
    reading = {"vin": V, "odometer_km": 50000, "source": "inspection"}
    api.ok(api.post(DEALER, "/odometer", json=reading), 201)
    api.ok(api.post(DEALER, "/odometer", json={**reading, "odometer_km": 40000}), 201)
    police = _doc(api, TA, "police_report", "theft")
    hold = {"kind": "stolen", "document_id": police, "authority": "Beijing PSB", "reason": "reported stolen"}
    api.ok(api.post(TA, f"/vehicles/{V}/holds", json=hold))


def ca_pem(api: Api, msp_id: str) -> bytes:
    return api.gw.ledger.identities.ca_certificate(msp_id)  # type: ignore[no-any-return]


@pytest.fixture
def issued(api: Api) -> dict[str, Any]:
    encumber(api)
    return api.ok(api.post(DEALER, f"/vehicles/{V}/certificates"), 201)  # type: ignore[no-any-return]


def test_the_certificate_shows_both_liens_the_hold_the_brand_and_the_anomaly(
    api: Api, issued: dict[str, Any]
) -> None:
    cert = issued["certificate"]
    facts = cert["facts"]
    assert [(x["lienholder_name"], x["priority"]) for x in facts["liens"]] == [("BankA", 1), ("BankB", 2)]
    assert [h["kind"] for h in facts["holds"]] == ["stolen"]
    assert [b["kind"] for b in facts["brands"]] == ["flood"]
    assert facts["odometer_anomaly"] is True
    assert facts["insurance"]["state"] == "none"
    assert facts["valuation_band"]["low"] == "150000"
    assert cert["issuer"] == {"msp_id": "DealerMSP", "name": "Dealer"}
    height = int(api.gw.ledger.height())
    assert cert["as_of"]["height"] < height and cert["as_of"]["block"] == cert["as_of"]["height"] - 1
    assert issued["recorded"]["block_number"] >= cert["as_of"]["height"]
    assert "60000" not in json.dumps(cert)  # no amounts


def test_offline_verification_with_the_org_ca_and_tampering(api: Api, issued: dict[str, Any]) -> None:
    document = {k: v for k, v in issued.items() if k not in ("recorded", "links")}
    dealer_ca = load_trusted(ca_pem(api, "DealerMSP"))
    assert verify(document, dealer_ca).ok
    assert not verify(document, load_trusted(ca_pem(api, "BankAMSP"))).ok  # another org's CA
    forged = copy.deepcopy(document)
    forged["certificate"]["facts"]["liens"].pop()
    verdict = verify(forged, dealer_ca)
    assert not verdict.ok and any("sha256" in p for p in verdict.problems)
    rehashed = copy.deepcopy(forged)
    from app.certificates.document import body_hash

    rehashed["sha256"] = body_hash(rehashed["certificate"])
    verdict = verify(rehashed, dealer_ca)
    assert not verdict.ok and any("signature" in p for p in verdict.problems)


def test_pdf_carries_the_signed_json_and_verifies_with_the_cli(
    api: Api, issued: dict[str, Any], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    number = issued["certificate"]["certificate_number"]
    response = api.get(DEALER, f"/certificates/{number}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for shown in ("BankA", "BankB", "stolen", "flood", "anomaly: YES", number):
        assert shown in text, shown
    assert extract_document(response.content)["sha256"] == issued["sha256"]
    pdf, ca = tmp_path / "c.pdf", tmp_path / "ca.pem"
    pdf.write_bytes(response.content)
    ca.write_bytes(ca_pem(api, "DealerMSP"))
    runner = CliRunner()
    ok = runner.invoke(cli, ["certificate", "verify", str(pdf), "--ca", str(ca)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["valid"] is True
    wrong = tmp_path / "bank.pem"
    wrong.write_bytes(ca_pem(api, "BankAMSP"))
    assert runner.invoke(cli, ["certificate", "verify", str(pdf), "--ca", str(wrong)]).exit_code == 1
    tampered = tmp_path / "t.json"
    document = extract_document(response.content)
    document["certificate"]["facts"]["holds"] = []
    tampered.write_text(json.dumps(document))
    bad = runner.invoke(cli, ["certificate", "verify", str(tampered), "--ca", str(ca)])
    assert bad.exit_code == 1 and "sha256" in bad.output
    assert ATTACHMENT in response.content.decode("latin-1")


def test_the_hash_is_recorded_on_chain_and_checked_online(api: Api, issued: dict[str, Any]) -> None:
    number, digest = issued["certificate"]["certificate_number"], issued["sha256"]
    online = api.ok(api.client.get(f"/api/v1/certificates/{number}/verification", params={"sha256": digest}))
    assert online["valid"] is True and online["record"]["sha256"] == digest
    assert online["record"]["as_of_block"] == issued["certificate"]["as_of"]["block"]
    assert online["record"]["requested_by"] == "DealerMSP"
    other = api.ok(api.client.get(f"/api/v1/certificates/{number}/verification", params={"sha256": "0" * 64}))
    assert other["valid"] is False and other["outcome"] == "hash_mismatch"
    missing = api.ok(api.client.get("/api/v1/certificates/SC-20260101-000000000000/verification"))
    assert missing["outcome"] == "not_recorded"
    assert api.client.get("/api/v1/certificates/nonsense/verification").status_code == 400


def test_who_may_ask_and_fetch(api: Api, issued: dict[str, Any]) -> None:
    assert api.post(BANK_A, f"/vehicles/{V}/certificates").status_code == 201
    assert api.post(TA, f"/vehicles/{V}/certificates").status_code == 201
    assert api.post(INSURER, f"/vehicles/{V}/certificates").status_code == 403
    assert api.post("regulator1@RegulatorMSP", f"/vehicles/{V}/certificates").status_code == 403
    assert api.client.post(f"/api/v1/vehicles/{V}/certificates").status_code == 401
    number = issued["certificate"]["certificate_number"]
    assert api.get(BANK_A, f"/certificates/{number}").status_code == 403  # the dealer's certificate
    assert api.ok(api.get(DEALER, f"/certificates/{number}"))["sha256"] == issued["sha256"]
