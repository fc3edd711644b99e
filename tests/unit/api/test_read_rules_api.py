"""What one member may read of another's data through the API (issue 12, findings 2, 5, 13, 14).

Every role of every org downloads every document type; the event stream, the vehicle status and the
QR check show each caller only what the read routes would; bad characters in key-forming fields are a
400 naming the field, never a 502.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.users.roles import STANDARD_USERS
from tests.unit.api.builders import (
    AUDITOR,
    BANK_A,
    BANK_B,
    DEALER,
    INSURER,
    REGULATOR,
    TA,
    Api,
    registration,
    vin,
)

pytestmark = pytest.mark.timeout(300)  # an event stream that waits for an event never sent fails

TRAFFIC, BANK_A_MSP, REGULATOR_MSP = "TrafficAuthorityMSP", "BankAMSP", "RegulatorMSP"

#: Who anchors each document type in the matrix (a writing role of an org whose work needs it).
UPLOADERS = {
    "owner_consent": BANK_A,
    "mortgage_contract": BANK_A,
    "court_order": TA,
    "seizure_order": TA,
    "release_order": TA,
    "foreclosure_notice": BANK_A,
    "sale_contract": TA,
    "transfer_deed": TA,
    "lienholder_consent": BANK_A,
    "insurance_policy": INSURER,
    "valuation_report": BANK_B,
    "maintenance_invoice": DEALER,
    "scrap_certificate": TA,
    "other": INSURER,
}
#: Roles that decrypt at all; the others (dealer staff excepted for their own org's documents) never do.
DECRYPTING_ROLES = {"registrar", "loan_officer", "underwriter", "dealer", "regulator", "auditor", "admin"}


def _expected_readers(uploader: str) -> set[str]:
    """The uploader's org, the vehicle office, the regulator and the vehicle's lienholder (BankA)."""
    return {uploader.partition("@")[2], TRAFFIC, REGULATOR_MSP, BANK_A_MSP}


def test_every_role_downloads_exactly_the_documents_its_org_is_party_to(api: Api) -> None:
    api.register(71)
    api.mortgage(71)  # BankA holds a recorded lien on the vehicle
    content: dict[str, bytes] = {}
    for doc_type, uploader in UPLOADERS.items():
        doc_id = f"DOC-M-{doc_type}"
        content[doc_id] = f"{doc_type} of {vin(71)}".encode()
        api.ok(api.upload(uploader, doc_type, content[doc_id], vin=vin(71), document_id=doc_id), 201)

    wrong: list[str] = []
    allowed = 0
    for msp, users in STANDARD_USERS.items():
        for name, role in users:
            user = f"{name}@{msp}"
            for doc_type, uploader in UPLOADERS.items():
                doc_id = f"DOC-M-{doc_type}"
                may = role.value in DECRYPTING_ROLES and msp in _expected_readers(uploader)
                answer = api.get(user, f"/documents/{doc_id}/content")
                if may and (answer.status_code != 200 or answer.content != content[doc_id]):
                    wrong.append(f"{user} {doc_type}: expected the document, got {answer.status_code}")
                elif not may and answer.status_code != 403:
                    wrong.append(f"{user} {doc_type}: expected 403, got {answer.status_code}")
                allowed += may
    assert not wrong, "\n".join(wrong)
    assert allowed > 50  # the matrix is not vacuous: 4 orgs x 3 roles read most types
    # BankB's loan officer reads its own valuation report but no other org's mortgage papers
    assert api.get(BANK_B, "/documents/DOC-M-valuation_report/content").status_code == 200
    refused = api.get(BANK_B, "/documents/DOC-M-mortgage_contract/content")
    assert refused.status_code == 403 and "document_parties" in refused.json()["error"]["message"]


def _events(api: Api, user: str, limit: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params = {"start_block": 0, "limit": limit}
    with api.client.stream("GET", "/api/v1/events", headers=api.headers(user), params=params) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def test_event_stream_gives_lien_events_only_to_those_who_may_get_the_lien(api: Api) -> None:
    api.register(72)
    lien_id = api.mortgage(72, amount="103456.00")
    api.ok(api.post(DEALER, "/odometer", json={"vin": vin(72), "odometer_km": 10, "source": "s"}), 201)

    every = _events(api, AUDITOR, 7)  # with ModelVersionRegistered
    names = [e["event_name"] for e in every]
    assert "LienRequested" in names and "ValuationRecorded" in names and names[-1] == "OdometerRecorded"
    assert any(e["payload"].get("secured_amount") == "103456.00" for e in every)

    for admin in ("admin@InsurerMSP", "admin@DealerMSP"):
        assert api.get(admin, f"/liens/{lien_id}").status_code == 403  # the route refuses them ...
        seen = _events(api, admin, 3)  # ... and so does the stream: vehicle, document, odometer only
        assert [e["event_name"] for e in seen] == [
            "VehicleRegistered",
            "DocumentAnchored",
            "OdometerRecorded",
        ]
        assert "103456" not in json.dumps(seen)
    # an org admin that may read liens still gets them
    assert "LienRequested" in [e["event_name"] for e in _events(api, "admin@BankBMSP", 6)]


def test_status_and_qr_check_show_non_lenders_a_band_not_the_valuation(api: Api) -> None:
    api.register(73)
    api.mortgage(73)  # BankA values it at 150000.00
    exact = api.ok(api.get(BANK_A, f"/vehicles/{vin(73)}/status"))["latest_valuation"]
    assert exact["value"] == "150000.00"
    assert (
        api.ok(api.get(REGULATOR, f"/vehicles/{vin(73)}/status"))["latest_valuation"]["value"] == "150000.00"
    )
    for user in (DEALER, INSURER):
        shown = api.ok(api.get(user, f"/vehicles/{vin(73)}/status"))["latest_valuation"]
        assert "value" not in shown and (shown["band_low"], shown["band_high"]) == ("150000", "200000")
        assert "150000.00" not in json.dumps(shown)

    issued = api.ok(api.post(TA, f"/vehicles/{vin(73)}/qr"), 201)
    for answer in (
        api.client.post("/api/v1/qr/verify", json={"payload": issued["payload"]}),  # anonymous scan
        api.post(DEALER, "/qr/verify", json={"payload": issued["payload"]}),
    ):
        body = api.ok(answer)
        assert body["valid"] is True, body
        assert "150000.00" not in json.dumps(body) and "band_low" in json.dumps(body)


def test_control_characters_and_noncharacters_in_key_fields_are_400(api: Api) -> None:
    for bad in ("Hon\x00da", "Honda\U0010ffff", "Hon\x1bda", "Hon\ufdd0da"):
        answer = api.post(TA, "/vehicles", json=registration(74, make=bad))
        assert answer.status_code == 400, (bad, answer.text)
        assert "make" in answer.text
    for plate in ("%00", "A%F4%8F%BF%BF", "A%0A"):
        answer = api.get(BANK_A, f"/vehicles/by-plate/{plate}")
        assert answer.status_code == 400, (plate, answer.text)
    answer = api.get(AUDITOR, "/vehicles", params={"make": "x\x00"})
    assert answer.status_code == 400, answer.text
    assert api.get(TA, f"/vehicles/{vin(74)}").status_code == 404  # nothing was registered


def test_every_free_text_field_of_a_vehicle_has_a_limit(api: Api) -> None:
    huge = "x" * 201
    for vehicle in (
        {"configuration": {"color": huge}},
        {"configuration": {"k" * 65: 1}},
        {"trim": "t" * 101},
    ):
        answer = api.post(TA, "/vehicles", json=registration(75, **vehicle))
        assert answer.status_code == 400, (vehicle, answer.text)
    many = {f"k{i}": i for i in range(65)}
    assert api.post(TA, "/vehicles", json=registration(75, configuration=many)).status_code == 400
    owner_body = registration(75)
    owner_body["owner"]["address"] = "a" * 301
    assert api.post(TA, "/vehicles", json=owner_body).status_code == 400
    assert api.get(TA, f"/vehicles/{vin(75)}").status_code == 404
    api.ok(api.post(TA, "/vehicles", json=registration(75, configuration={"color": "c" * 200})), 201)
