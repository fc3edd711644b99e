"""The contract's behaviour on the runtime's in-process host: lifecycle, liens, LTV, records, queries."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from chaincode.mortgage.contract import BASE_KEY_POLICY
from chaincode.runtime.inprocess import TxContext
from chaincode.runtime.policy import KeyEndorsementPolicy

from .chain import NS, Chain, identity, owner, vin

V = vin(1)


def policy_orgs(c: Chain, object_type: str, *attrs: str) -> list[str]:
    """The orgs a key's own policy adds beyond the base (chaincode-equivalent) policy; [] when none."""
    metadata = c.state_metadata(object_type, *attrs)
    raw = metadata.get("VALIDATION_PARAMETER")
    assert raw != b"", "an empty key policy can never be satisfied through the Fabric Gateway"
    return [] if raw in (None, BASE_KEY_POLICY) else KeyEndorsementPolicy(raw).list_orgs()


@pytest.fixture
def c() -> Chain:
    chain = Chain()
    chain.register(V)
    chain.value(V, "100000")
    return chain


def insure(c: Chain, policy_id: str = "P1", v: str = V) -> dict[str, Any]:
    return c.ok(
        "insurer",
        "RecordInsurancePolicy",
        {
            "policy_id": policy_id,
            "vin": v,
            "coverage": {"type": "comprehensive", "amount": "80000", "currency": "CNY"},
            "valid_from": "2025-12-01",
            "valid_to": "2026-12-01",
        },
    )


def test_full_lifecycle(c: Chain) -> None:
    insure(c)
    l1 = c.lien("bank_a", "L1", V, "50000")
    assert (l1["status"], l1["priority"], l1["lienholder"]) == ("RECORDED", 1, "BankAMSP")
    assert policy_orgs(c, "VEHICLE", V) == ["BankAMSP", "TrafficAuthorityMSP"]
    l2 = c.lien("bank_b", "L2", V, "30000")
    assert l2["priority"] == 2
    assert policy_orgs(c, "VEHICLE", V) == ["BankAMSP", "BankBMSP", "TrafficAuthorityMSP"]
    assert c.last_event()[0] == "LienRecorded"

    buyer, buyer_hash = owner("buyer-1")
    msg = c.fail(
        "ta",
        "TransferTitle",
        V,
        {"new_owner_hash": buyer_hash, "reason": "sale"},
        status=409,
        transient=buyer,
    )
    assert (
        msg == f"transfer refused: vehicle {V} has recorded lien(s) L1 held by BankAMSP, L2 held by BankBMSP"
    )

    released = c.ok("bank_b", "ReleaseLien", "L2")
    assert (released["status"], released["end_reason"]) == ("RELEASED", "lienholder")
    assert policy_orgs(c, "VEHICLE", V) == ["BankAMSP", "TrafficAuthorityMSP"]
    assert c.ok("ta", "GetVehicle", V)["status"] == "MORTGAGED"

    consent = c.document("ta", "lienholder_consent", V)
    moved = c.ok(
        "ta",
        "TransferTitle",
        V,
        {"new_owner_hash": buyer_hash, "reason": "sale", "lienholder_consent_document_id": consent},
        transient=buyer,
    )
    assert moved["owner_hash"] == buyer_hash and moved["status"] == "MORTGAGED"
    assert [ref["lien_id"] for ref in moved["liens"]] == ["L1"]  # the lien follows the vehicle
    name, event = c.last_event()
    assert name == "TitleTransferred" and event["lienholders"] == ["BankAMSP"]
    assert "ID-BUYER-1" not in json.dumps(event)

    notice = c.document("bank_a", "foreclosure_notice", V, "L1")
    assert c.ok("bank_a", "StartForeclosure", "L1", notice)["status"] == "FORECLOSING"
    assert c.ok("ta", "GetVehicle", V)["status"] == "IN_DISPOSAL"
    c.fail(
        "ta", "TransferTitle", V, {"new_owner_hash": buyer_hash, "reason": "x"}, status=409, transient=buyer
    )

    sale = c.document("bank_a", "sale_contract", V)
    final, final_hash = owner("auction-buyer")
    result = c.ok(
        "bank_a",
        "CompleteDisposal",
        V,
        {
            "sale_price": "42000.50",
            "currency": "CNY",
            "buyer_owner_hash": final_hash,
            "sale_document_id": sale,
        },
        transient=final,
    )
    assert result["distribution"] == [
        {
            "lien_id": "L1",
            "lienholder": "BankAMSP",
            "priority": 1,
            "secured_amount": "50000",
            "claim": "50000",
            "claim_basis": "secured_amount (no balance reported)",
            "paid": "42000.50",
            "shortfall": "7999.50",
        }
    ]
    assert result["surplus"] == "0.00"
    assert c.last_event()[0] == "DisposalCompleted"
    vehicle = c.ok("ta", "GetVehicle", V)
    assert (vehicle["status"], vehicle["owner_hash"], vehicle["liens"]) == ("DISPOSED", final_hash, [])
    assert policy_orgs(c, "VEHICLE", V) == []
    lien = c.ok("bank_a", "GetLien", "L1")
    assert (lien["status"], lien["paid"], lien["shortfall"]) == ("DISCHARGED", "42000.50", "7999.50")
    assert c.ok("ta", "GetOwner", V)["name"] == "Owner auction-buyer"


def test_disposal_pays_by_priority_and_surplus_goes_to_owner(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "30000")
    c.lien("bank_b", "L2", V, "20000")
    c.ok("bank_b", "StartForeclosure", "L2", c.document("bank_b", "foreclosure_notice", V))
    buyer, h = owner("b")
    body = {"sale_price": "60000", "currency": "CNY", "buyer_owner_hash": h, "sale_document_id": "S"}
    body["sale_document_id"] = c.document("bank_b", "sale_contract", V)
    msg = c.fail("bank_a", "CompleteDisposal", V, body, status=403, transient=buyer)
    assert "rule 'foreclosing_lienholder'" in msg
    # the junior's sale free of the senior lien needs the senior's consent (issue 15)
    msg = c.fail("bank_b", "CompleteDisposal", V, body, status=409, transient=buyer)
    assert "rule 'senior_consent'" in msg and "L1 held by BankAMSP (priority 1, claim 30000.00 CNY)" in msg
    c.ok("bank_a", "ConsentToEnforcement", "L1", {"foreclosing_lien_id": "L2"})
    msg = c.fail("bank_b", "CompleteDisposal", V, body, status=409, transient=buyer)
    assert "rule 'reserve': sale price 60000.00 CNY is below the reserve 90000.00 CNY" in msg
    c.ok("bank_a", "ConsentToEnforcement", "L1", {"foreclosing_lien_id": "L2", "below_reserve": True})
    result = c.ok("bank_b", "CompleteDisposal", V, body, transient=buyer)
    paid = [(p["lien_id"], p["paid"]) for p in result["distribution"]]
    assert paid == [("L1", "30000"), ("L2", "20000")]  # the senior lien first, though the junior foreclosed
    assert result["surplus"] == "10000"
    for lien_id in ("L1", "L2"):
        assert c.ok("bank_a", "GetLien", lien_id)["status"] == "DISCHARGED"


def test_ltv_refusal_names_both_figures(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "60000")
    c.request_lien("bank_b", "L2", V, "20000.01")
    msg = c.fail("ta", "RecordLien", "L2", status=409)
    assert "secured total 80000.01 CNY > cap 80000.00 CNY" in msg
    assert "valuation 100000.00 CNY" in msg
    c.ok("ta_admin", "SetConfig", {"ltv_cap": "0.9", "valuation_max_age_days": 90})
    assert c.last_event()[0] == "ConfigChanged"
    assert c.ok("ta", "RecordLien", "L2")["priority"] == 2


def test_stale_or_missing_valuation_refuses_the_lien(c: Chain) -> None:
    c.request_lien("bank_a", "L1", V, "1000")
    c.advance(days=91)
    msg = c.fail("ta", "RecordLien", "L1", status=409)
    assert "91 days old" in msg and "limit of 90 days" in msg
    c.value(V, "50000")
    assert c.ok("ta", "RecordLien", "L1")["status"] == "RECORDED"
    other = vin(2)
    c.register(other)
    c.request_lien("bank_a", "L2", other, "1000")
    assert "has no valuation" in c.fail("ta", "RecordLien", "L2", status=409)


def test_priority_is_order_of_recording_and_never_reused(c: Chain) -> None:
    c.ok("ta_admin", "SetConfig", {"ltv_cap": "2", "valuation_max_age_days": 90})
    c.request_lien("bank_a", "L1", V, "1000")
    c.request_lien("bank_b", "L2", V, "1000")
    assert c.ok("ta", "RecordLien", "L2")["priority"] == 1  # recorded first, requested second
    assert c.ok("ta", "RecordLien", "L1")["priority"] == 2
    c.ok("bank_b", "ReleaseLien", "L2")
    assert c.lien("bank_b", "L3", V, "1000")["priority"] == 3
    refs = c.ok("ta", "GetVehicle", V)["liens"]
    assert [(r["lien_id"], r["priority"]) for r in refs] == [("L1", 2), ("L3", 3)]


def test_lien_state_machine_conflicts(c: Chain) -> None:
    c.request_lien("bank_a", "L1", V, "1000")
    assert "lien L1 is REQUESTED, must be RECORDED" in c.fail("bank_a", "ReleaseLien", "L1", status=409)
    c.ok("ta", "RejectLien", "L1", "missing insurance")
    assert c.last_event()[0] == "LienRejected"
    assert "REJECTED" in c.fail("ta", "RecordLien", "L1", status=409)
    c.fail("bank_a", "RequestLien", {"lien_id": "L1"}, status=400)
    msg = c.fail("bank_a", "RecordLien", "L1", status=403)
    assert "rule 'registrar'" in msg
    c.lien("bank_a", "L2", V, "1000")
    assert "rule 'lienholder_only'" in c.fail("bank_b", "ReleaseLien", "L2", status=403)
    c.ok("bank_a", "ReleaseLien", "L2")
    assert "RELEASED" in c.fail("bank_a", "ReleaseLien", "L2", status=409)
    assert c.ok("ta", "GetVehicle", V)["status"] == "REGISTERED"


def test_assignment_needs_both_banks(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "1000")
    c.fail("bank_a", "ProposeLienAssignment", "L1", "BankAMSP", status=400)
    c.fail("bank_a", "ProposeLienAssignment", "L1", "InsurerMSP", status=400)
    pending = c.ok("bank_a", "ProposeLienAssignment", "L1", "BankBMSP")
    assert (pending["status"], pending["pending_assignee"]) == ("ASSIGNMENT_PENDING", "BankBMSP")
    assert policy_orgs(c, "LIEN", "L1") == ["BankAMSP", "BankBMSP"]
    assert "rule 'assignee_only'" in c.fail("bank_a", "AcceptLienAssignment", "L1", status=403)
    assigned = c.ok("bank_b", "AcceptLienAssignment", "L1")
    assert (assigned["lienholder"], assigned["status"], assigned["priority"]) == ("BankBMSP", "RECORDED", 1)
    assert assigned["assignments"][0]["from_msp"] == "BankAMSP"
    assert policy_orgs(c, "LIEN", "L1") == []
    assert policy_orgs(c, "VEHICLE", V) == ["BankBMSP", "TrafficAuthorityMSP"]
    page = c.ok("ta", "QueryVehicles", {"lienholder": "BankBMSP"}, 10, "")
    assert [r["vin"] for r in page["records"]] == [V]
    assert c.ok("ta", "QueryVehicles", {"lienholder": "BankAMSP"}, 10, "")["records"] == []
    c.ok("bank_b", "ReleaseLien", "L1")


def test_court_order_release_ends_foreclosure(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "1000")
    c.ok("bank_a", "StartForeclosure", "L1", c.document("bank_a", "foreclosure_notice", V))
    wrong = c.document("ta", "seizure_order", V)
    assert "is a seizure_order, expected court_order" in c.fail(
        "ta", "ReleaseLienByCourtOrder", "L1", wrong, status=409
    )
    assert "not anchored" in c.fail("ta", "ReleaseLienByCourtOrder", "L1", "NOPE", status=404)
    order = c.document("ta", "court_order", V)
    released = c.ok("ta", "ReleaseLienByCourtOrder", "L1", order)
    assert (released["status"], released["end_reason"], released["release_document_id"]) == (
        "RELEASED",
        "court_order",
        order,
    )
    assert c.ok("ta", "GetVehicle", V)["status"] == "REGISTERED"
    assert c.last_event() == ("LienReleased", c.last_event()[1])
    assert c.last_event()[1]["by"] == "court_order"


def test_junior_release_during_disposal_keeps_the_disposal(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "1000")
    c.lien("bank_b", "L2", V, "1000")
    c.ok("bank_a", "StartForeclosure", "L1", c.document("bank_a", "foreclosure_notice", V))
    c.ok("bank_b", "ReleaseLien", "L2")
    assert c.ok("ta", "GetVehicle", V)["status"] == "IN_DISPOSAL"


def test_seizure_freezes_the_vehicle(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "1000")
    order = c.document("ta", "seizure_order", V)
    body = {"document_id": order, "authority": "Court of X", "reason": "criminal case"}
    assert c.ok("ta", "SeizeVehicle", V, body)["status"] == "SEIZED"
    assert c.last_event()[0] == "VehicleSeized"
    c.fail("ta", "SeizeVehicle", V, body, status=409)
    buyer, h = owner("x")
    consent = c.document("ta", "lienholder_consent", V)
    transfer = {"new_owner_hash": h, "reason": "sale", "lienholder_consent_document_id": consent}
    assert "is SEIZED" in c.fail("ta", "TransferTitle", V, transfer, status=409, transient=buyer)
    c.request_lien("bank_b", "L2", V, "1000") if False else None
    notice = c.document("bank_a", "foreclosure_notice", V)
    assert "is SEIZED" in c.fail("bank_a", "StartForeclosure", "L1", notice, status=409)
    lifted = c.ok("ta", "LiftSeizure", V, body)
    assert (lifted["status"], lifted["seizure"]) == ("MORTGAGED", None)
    assert c.ok("ta", "TransferTitle", V, transfer, transient=buyer)["owner_hash"] == h


def test_scrap_refused_while_encumbered(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "1000")
    cert = c.document("ta", "scrap_certificate", V)
    assert "recorded lien(s) L1 held by BankAMSP" in c.fail("ta", "ScrapVehicle", V, cert, status=409)
    c.ok("bank_a", "ReleaseLien", "L1")
    assert c.ok("ta", "ScrapVehicle", V, cert)["status"] == "SCRAPPED"
    c.fail("dealer", "RecordOdometer", {"vin": V, "odometer_km": 5, "source": "x"}, status=409)
    c.request_lien("bank_a", "L2", V, "1000") if False else None
    consent = c.document("bank_a", "owner_consent", V)
    req = {
        "lien_id": "L2",
        "vin": V,
        "loan_number": "N",
        "mortgage_contract_number": "M",
        "secured_amount": "1",
        "currency": "CNY",
        "maturity_date": c.days_from_now(100),
        "consent_document_id": consent,
    }
    assert "is SCRAPPED" in c.fail("bank_a", "RequestLien", req, status=409)


def test_odometer_never_decreases_and_anomalies_raise_events(c: Chain) -> None:
    c.ok("dealer", "RecordOdometer", {"vin": V, "odometer_km": 10000, "source": "inspection"})
    assert c.last_event()[0] == "OdometerRecorded"
    low = c.ok("dealer", "RecordOdometer", {"vin": V, "odometer_km": 9000, "source": "inspection"})
    assert low["anomaly"] is True and low["previous_km"] == 10000
    name, event = c.last_event()
    assert name == "OdometerAnomaly" and event["highest_km"] == 10000 and event["odometer_km"] == 9000
    record = {
        "record_id": "M1",
        "vin": V,
        "date": c.today,
        "odometer_km": 9500,
        "cost": "120.00",
        "currency": "CNY",
        "kind": "service",
        "description": "oil",
    }
    stored = c.ok("dealer", "RecordMaintenance", record)
    assert stored["odometer_anomaly"] is True
    assert c.last_event()[0] == "OdometerAnomaly"
    c.fail("dealer", "RecordMaintenance", record, status=409)
    record2 = {**record, "record_id": "M2", "odometer_km": 12000}
    c.ok("dealer", "RecordMaintenance", record2)
    assert c.last_event()[0] == "MaintenanceRecorded"
    odo = c.ok("ta", "GetOdometer", V)
    assert odo["odometer_km"] == 12000 and odo["readings"] == 4
    assert [a["odometer_km"] for a in odo["anomalies"]] == [9000, 9500]
    assert [m["record_id"] for m in c.ok("insurer", "GetMaintenanceRecords", V)] == ["M1", "M2"]
    future = {**record, "record_id": "M3", "date": c.days_from_now(2)}
    assert "in the future" in c.fail("dealer", "RecordMaintenance", future, status=400)


def test_insurance_policies_lapses_and_claims(c: Chain) -> None:
    insure(c)
    c.fail("insurer", "RecordInsurancePolicy", {"policy_id": "P1"}, status=400)
    assert "already exists" in c.fail(
        "insurer",
        "RecordInsurancePolicy",
        {
            "policy_id": "P1",
            "vin": V,
            "coverage": {"type": "theft", "amount": "1", "currency": "CNY"},
            "valid_from": "2025-01-01",
            "valid_to": "2026-01-01",
        },
        status=409,
    )
    claim = {
        "claim_id": "C1",
        "policy_id": "P1",
        "incident_date": "2025-12-20",
        "amount": "5000",
        "description": "x",
    }
    assert c.ok("insurer", "FileInsuranceClaim", claim)["vin"] == V
    assert "exceeds coverage" in c.fail(
        "insurer", "FileInsuranceClaim", {**claim, "claim_id": "C2", "amount": "90000"}, status=409
    )
    assert "outside policy P1" in c.fail(
        "insurer",
        "FileInsuranceClaim",
        {**claim, "claim_id": "C3", "incident_date": "2025-11-01"},
        status=409,
    )
    status = c.ok("dealer", "GetVehicleStatus", V)
    assert status["insured"] is True and status["insurance_valid_to"] == "2026-12-01"
    c.ok("insurer", "LapseInsurancePolicy", "P1", "premium unpaid")
    assert c.last_event()[0] == "InsuranceLapsed"
    c.fail("insurer", "LapseInsurancePolicy", "P1", "again", status=409)
    assert "lapsed on" in c.fail(
        "insurer", "FileInsuranceClaim", {**claim, "claim_id": "C4", "incident_date": c.today}, status=409
    )
    policies = c.ok("regulator", "GetInsurancePolicies", V)
    assert policies[0]["status"] == "LAPSED" and [cl["claim_id"] for cl in policies[0]["claims"]] == ["C1"]
    assert c.ok("dealer", "GetVehicleStatus", V)["insured"] is False


def test_qr_reissue_revokes_previous(c: Chain) -> None:
    first = c.ok("ta", "IssueQrIdentity", V, {"code_id": "QR-1", "payload_sha256": "aa" * 32})
    assert first["revoked"] is False
    c.ok("ta", "IssueQrIdentity", V, {"code_id": "QR-2", "payload_sha256": "bb" * 32})
    name, event = c.last_event()
    assert name == "QrIdentityIssued" and event["revoked_code_id"] == "QR-1"
    old = c.ok("dealer", "ResolveQrCode", "QR-1")
    assert (old["revoked"], old["superseded_by"], old["vin"]) == (True, "QR-2", V)
    assert c.ok("dealer", "ResolveQrCode", "QR-2")["revoked"] is False
    assert c.ok("dealer", "GetQrIdentity", V)["code_id"] == "QR-2"
    assert "never reused" in c.fail(
        "ta", "IssueQrIdentity", V, {"code_id": "QR-1", "payload_sha256": "cc" * 32}, status=409
    )
    c.fail("dealer", "ResolveQrCode", "QR-404", status=404)


def test_documents_are_immutable_and_linked(c: Chain) -> None:
    c.request_lien("bank_a", "L1", V, "1000")
    doc_id = c.document("bank_a", "mortgage_contract", V, "L1")
    doc = c.ok("ta", "GetDocument", doc_id)
    assert (doc["vin"], doc["lien_id"], doc["anchored_by"]) == (V, "L1", "BankAMSP")
    by_lien = c.ok("ta", "GetDocuments", {"lien_id": "L1"})
    assert [d["document_id"] for d in by_lien] == [doc_id]
    by_vin = c.ok("ta", "GetDocuments", {"vin": V})
    assert doc_id in [d["document_id"] for d in by_vin]
    c.fail("ta", "GetDocuments", {"vin": V, "lien_id": "L1"}, status=400)
    again = {
        "document_id": doc_id,
        "doc_type": "other",
        "cid": "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        "sha256": "00" * 32,
        "size": 12,
        "encryption_key_ref": "",
    }
    assert "immutable" in c.fail("ta", "AnchorDocument", again, status=409)
    assert "not found" in c.fail(
        "ta", "AnchorDocument", {**again, "document_id": "D2", "vin": vin(3)}, status=404
    )
    assert "not an IPFS CID" in c.fail(
        "ta", "AnchorDocument", {**again, "document_id": "D3", "cid": "x"}, status=400
    )
    other = vin(4)
    c.register(other)
    assert "belongs to vehicle" in c.fail(
        "bank_a",
        "RequestLien",
        {
            "lien_id": "L2",
            "vin": other,
            "loan_number": "N",
            "mortgage_contract_number": "M",
            "secured_amount": "1",
            "currency": "CNY",
            "maturity_date": c.days_from_now(100),
            "consent_document_id": c.document("bank_a", "owner_consent", V),
        },
        status=409,
    )


def test_queries_paginate_over_composite_key_indexes() -> None:
    c = Chain()
    vins = [vin(100 + i) for i in range(7)]
    for i, v in enumerate(vins):
        c.register(v, make="BYD" if i % 2 else "Honda", label="same-owner" if i < 3 else None)
    seen: list[str] = []
    bookmark = ""
    pages = 0
    while True:
        page = c.ok("regulator", "QueryVehicles", {}, 3, bookmark)
        seen += [r["vin"] for r in page["records"]]
        pages += 1
        bookmark = page["bookmark"]
        if not bookmark:
            break
    assert sorted(seen) == sorted(vins) and len(seen) == 7 and pages == 3
    assert {r["vin"] for r in c.ok("ta", "QueryVehicles", {"make": "BYD"}, 50, "")["records"]} == set(
        vins[1::2]
    )
    _, h = owner("same-owner")
    assert {r["vin"] for r in c.ok("ta", "QueryVehicles", {"owner_hash": h}, 50, "")["records"]} == set(
        vins[:3]
    )
    assert len(c.ok("ta", "QueryVehicles", {"status": "REGISTERED"}, 50, "")["records"]) == 7
    assert c.ok("ta", "QueryVehicles", {"status": "MORTGAGED"}, 50, "")["records"] == []
    c.fail("ta", "QueryVehicles", {}, 0, "", status=400)
    c.fail("ta", "QueryVehicles", {"colour": "red"}, 5, "", status=400)
    c.value(vins[0])
    c.lien("bank_a", "L1", vins[0], "1000")
    c.request_lien("bank_b", "L2", vins[0], "1000")
    assert [r["lien_id"] for r in c.ok("ta", "QueryLiens", {"vin": vins[0]}, 10, "")["records"]] == [
        "L1",
        "L2",
    ]
    assert [r["lien_id"] for r in c.ok("ta", "QueryLiens", {"status": "REQUESTED"}, 10, "")["records"]] == [
        "L2"
    ]
    assert [
        r["lien_id"] for r in c.ok("ta", "QueryLiens", {"lienholder": "BankAMSP"}, 10, "")["records"]
    ] == ["L1"]
    assert c.ok("ta", "GetVehicleByPlate", f"A{vins[2][-6:]}")["vin"] == vins[2]
    c.fail("ta", "GetVehicleByPlate", "ZZZ999", status=404)


def test_owner_data_stays_private(c: Chain) -> None:
    own = c.ok("regulator", "GetOwner", V)
    assert own["name"] == f"Owner {V}" and own["id_number"] == f"ID-{V}"
    for entry in c.ledger.state.values():
        assert f"ID-{V}".encode() not in entry.value and b"Owner " not in entry.value
    for _, event in c.ledger.events:
        assert b"Owner " not in event.payload
    assert "rule 'owner_read_lienholder'" in c.fail("bank_a", "GetOwner", V, status=403)
    c.request_lien("bank_a", "L1", V, "1000")
    assert "rule 'owner_read_lienholder'" in c.fail("bank_a", "GetOwner", V, status=403)  # not yet recorded
    c.ok("ta", "RecordLien", "L1")
    assert c.ok("bank_a", "GetOwner", V)["owner_hash"] == c.ok("ta", "GetVehicle", V)["owner_hash"]
    assert "rule 'owner_read'" in c.fail("insurer", "GetOwner", V, status=403)


def test_history_lists_every_change_with_tx_ids(c: Chain) -> None:
    c.lien("bank_a", "L1", V, "1000")
    c.ok("bank_a", "ReleaseLien", "L1")
    history = c.ok("bank_a_auditor", "GetVehicleHistory", V)
    statuses = [h["value"]["status"] for h in history]
    assert statuses == ["REGISTERED", "MORTGAGED", "REGISTERED"][::-1]  # newest first, like Fabric 2.x
    assert all(len(h["tx_id"]) == 64 and h["timestamp"].endswith("Z") and not h["is_delete"] for h in history)
    assert history[0]["tx_id"] == history[0]["value"]["last_tx_id"]
    lien_history = c.ok("regulator", "GetLienHistory", "L1")
    assert [h["value"]["status"] for h in lien_history] == ["RELEASED", "RECORDED", "REQUESTED"]
    c.fail("ta", "GetLienHistory", "L1", status=403)


@pytest.mark.parametrize(
    ("who", "fn", "args", "status", "needle"),
    [
        ("ta", "GetVehicle", ["1M8GDM9A1KP042788"], 400, "check digit"),
        ("ta", "GetVehicle", [vin(55)], 404, "not found"),
        ("ta", "GetLien", ["NOPE"], 404, "lien NOPE not found"),
        ("ta", "GetLien", ["bad id!"], 400, "invalid argument 'lien_id'"),
        ("ta", "RecordLien", [], 400, "expects 1 argument"),
        ("bank_a", "RequestLien", ["{not json"], 400, "invalid argument 'request'"),
        ("bank_a", "RecordValuation", [{"vin": V}], 400, "valuation_id"),
        ("ta", "SetConfig", [{"ltv_cap": "3", "valuation_max_age_days": 5}], 403, "rule 'config_admin'"),
        ("ta_admin", "SetConfig", [{"ltv_cap": "3", "valuation_max_age_days": 5}], 400, "ltv_cap"),
        ("ta", "RejectLien", ["NOPE", " "], 400, "reason"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_writes_nothing(
    c: Chain, who: str, fn: str, args: list[Any], status: int, needle: str
) -> None:
    assert needle in c.fail(who, fn, *args, status=status)


def test_register_validation(c: Chain) -> None:
    transient, _ = owner("z")
    base = {
        "vin": vin(20),
        "plate": "C55555",
        "make": "Tesla",
        "model": "3",
        "year": 2024,
        "registration_date": "2025-01-01",
    }
    assert "already registered" in c.fail(
        "ta", "RegisterVehicle", {**base, "vin": V}, status=409, transient=transient
    )
    assert "plate" in c.fail(
        "ta", "RegisterVehicle", {**base, "plate": f"A{V[-6:]}"}, status=409, transient=transient
    )
    assert "transient 'owner'" in c.fail("ta", "RegisterVehicle", base, status=400)
    bad_salt = {**transient, "owner_salt": b"short"}
    assert "owner_salt" in c.fail("ta", "RegisterVehicle", base, status=400, transient=bad_salt)
    assert "field 'vin'" in c.fail(
        "ta", "RegisterVehicle", {**base, "vin": "11111111211111111"}, status=400, transient=transient
    )
    assert "colour" in c.fail(
        "ta", "RegisterVehicle", {**base, "colour": "red"}, status=400, transient=transient
    )
    buyer, _ = owner("q")
    wrong = {"new_owner_hash": "ab" * 32, "reason": "sale"}
    assert "does not match" in c.fail("ta", "TransferTitle", V, wrong, status=400, transient=buyer)


def test_execution_is_deterministic(c: Chain) -> None:
    """The same proposal simulated twice (two endorsing peers) yields byte-identical results."""
    transient, _ = owner("det")
    body = json.dumps(
        {
            "vin": vin(30),
            "plate": "D1",
            "make": "M",
            "model": "X",
            "year": 2020,
            "registration_date": "2020-01-01",
        }
    ).encode()
    ctx = TxContext(
        "ab" * 32, "vehicles", c.ledger.clock, identity("ta").creator, [b"RegisterVehicle", body], transient
    )
    first = c.ledger.host.execute(c.ledger.snapshot("TrafficAuthorityMSP"), ctx)
    second = c.ledger.host.execute(c.ledger.snapshot("TrafficAuthorityMSP"), ctx)
    assert first.ok and first.response == second.response
    assert first.rwsets[NS].writes == second.rwsets[NS].writes
    assert first.rwsets[NS].private_writes == second.rwsets[NS].private_writes
    assert first.event == second.event


def test_latest_valuation_and_staleness(c: Chain) -> None:
    c.value(V, "90000", valuation_id="V-NEW")
    latest = c.ok("bank_b", "GetLatestValuation", V)
    assert (latest["valuation_id"], latest["stale"], latest["value"]) == ("V-NEW", False, "90000")
    c.advance(days=100)
    assert c.ok("bank_b", "GetLatestValuation", V)["stale"] is True
    assert len(c.ok("bank_b", "GetValuations", V)) == 2
    assert Decimal(c.ok("ta", "GetConfig")["ltv_cap"]) == Decimal("0.8")


def test_transient_owner_refusals_name_the_transient_value(c: Chain) -> None:
    """Owner data missing, its salt missing, or the owner malformed: a 400 naming which, nothing written."""
    transient, _ = owner("t")
    base = {"vin": vin(901), "plate": "T901", "make": "Tesla", "model": "3", "year": 2024}
    base["registration_date"] = "2025-01-01"
    no_owner = c.fail(
        "ta", "RegisterVehicle", base, status=400, transient={"owner_salt": transient["owner_salt"]}
    )
    assert "transient 'owner': missing" in no_owner
    no_salt = c.fail("ta", "RegisterVehicle", base, status=400, transient={"owner": transient["owner"]})
    assert "transient 'owner_salt': missing" in no_salt
    malformed = {**transient, "owner": b'{"name": "A", "id_number": "ID-1234", "email": "a@b"}'}
    assert "transient 'owner': field 'email'" in c.fail(
        "ta", "RegisterVehicle", base, status=400, transient=malformed
    )
    assert "not found" in c.fail("ta", "GetVehicle", base["vin"], status=404)
