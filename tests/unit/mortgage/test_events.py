"""Each state change emits its one chaincode event; the set of names is the documented list."""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import floorplan_chain as fp
from .chain import Chain, owner, vin

DOC = Path(__file__).resolve().parents[3] / "docs" / "mortgage-chaincode.md"


def documented_events() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Events") :].split("\n## ")[0]
    return set(re.findall(r"`([A-Z][A-Za-z]+)`", section))


def test_every_documented_event_is_emitted_once_per_transaction() -> None:
    c = Chain()
    v = vin(900)
    c.register(v)
    c.ok("ta_admin", "SetConfig", {"ltv_cap": "0.8", "valuation_max_age_days": 90})
    c.value(v, "100000")
    c.ok(
        "insurer",
        "RecordInsurancePolicy",
        {
            "policy_id": "P1",
            "vin": v,
            "coverage": {"type": "theft", "amount": "5000", "currency": "CNY"},
            "valid_from": "2025-12-01",
            "valid_to": "2026-12-01",
        },
    )
    c.ok(
        "insurer",
        "FileInsuranceClaim",
        {
            "claim_id": "C1",
            "policy_id": "P1",
            "incident_date": "2025-12-30",
            "amount": "10",
            "description": "x",
        },
    )
    c.ok("insurer", "LapseInsurancePolicy", "P1", "unpaid")
    c.ok("dealer", "RecordOdometer", {"vin": v, "odometer_km": 100, "source": "x"})
    c.ok("dealer", "RecordOdometer", {"vin": v, "odometer_km": 50, "source": "x"})
    c.ok(
        "dealer",
        "RecordMaintenance",
        {
            "record_id": "M1",
            "vin": v,
            "date": c.today,
            "odometer_km": 200,
            "cost": "1",
            "currency": "CNY",
            "kind": "k",
            "description": "d",
        },
    )
    c.ok("ta", "IssueQrIdentity", v, {"code_id": "Q1", "payload_sha256": "aa" * 32})
    c.request_lien("bank_a", "R1", v, "100")
    c.ok("ta", "RejectLien", "R1", "no")
    c.lien("bank_a", "L1", v, "1000")
    c.ok("bank_a", "ProposeLienAssignment", "L1", "BankBMSP")
    c.ok("bank_b", "AcceptLienAssignment", "L1")
    order = {"document_id": c.document("ta", "seizure_order", v), "authority": "court", "reason": "r"}
    c.ok("ta", "SeizeVehicle", v, order)
    c.ok("ta", "LiftSeizure", v, order)
    buyer, h = owner("b1")
    consent = c.document("ta", "lienholder_consent", v)
    c.ok(
        "ta",
        "TransferTitle",
        v,
        {"new_owner_hash": h, "reason": "sale", "lienholder_consent_document_id": consent},
        transient=buyer,
    )
    c.ok("bank_b", "StartForeclosure", "L1", c.document("bank_b", "foreclosure_notice", v))
    final, fh = owner("b2")
    sale = c.document("bank_b", "sale_contract", v)
    body = {"sale_price": "900", "currency": "CNY", "buyer_owner_hash": fh, "sale_document_id": sale}
    c.ok("bank_b", "CompleteDisposal", v, body, transient=final)
    c.lien("bank_a", "L2", v, "1000")
    c.ok("bank_a", "ReleaseLien", "L2")
    _floor_plan_events(c)
    _owner_events(c, v)
    c.ok("ta", "ScrapVehicle", v, c.document("ta", "scrap_certificate", v))

    emitted = [event.name for _, event in c.ledger.events]
    assert len(c.ledger.events) == c.ledger.block  # exactly one event per committed transaction
    assert set(emitted) == documented_events()
    assert emitted[:4] == [
        "VehicleRegistered",
        "ConfigChanged",
        "ModelVersionRegistered",
        "ValuationRecorded",
    ]
    assert emitted[-1] == "VehicleScrapped"


def _owner_events(c: Chain, v: str) -> None:
    """Issue 16: an owner enrolled, a consent asked of them and signed with their key."""
    from .chain import identity
    from .owner_keys import owner_identity, sign, signed_document

    owner_id = owner_identity("owner-events01")
    c.ok("ta", "EnrolOwner", {"certificate_pem": owner_id.cert_pem.decode(), "vins": [v]})
    c.ok("dealer", "RequestOwnerConsent", {"consent_id": "OC1", "vin": v, "kind": "certificate_release"})
    shown = c.ledger.simulate(identity("ta"), "GetOwnerConsent", "OC1").response.payload  # no block
    document = signed_document(json.loads(shown))
    c.ok("dealer", "SignOwnerConsent", "OC1", {"signature": sign(owner_id, document)})
    # issue 16: a dealer's search certificate for the car, recorded by its hash
    certificate = {"certificate_number": "SC-E1", "vin": v, "sha256": "ab" * 32, "as_of_block": 3}
    c.ok("dealer", "RecordSearchCertificate", {**certificate, "issuer": "DealerMSP"})


def _floor_plan_events(c: Chain) -> None:
    """Every floor-plan transaction once: whitelist, line, advances, curtailment, floor check, sale,
    overdue curtailment, payoff, pledge and its release, delisting."""
    sold, kept = vin(901), vin(902)
    c.register(sold)
    c.register(kept)
    fp.whitelist(c)
    fp.open_line(c)
    fp.finance(c, "A1", sold)
    fp.finance(c, "A2", kept)
    c.ok("bank_a", "RecordCurtailment", "A1", fp.payment(c, "100"))
    c.ok("bank_a", "OpenFloorCheck", {"check_id": "FC1", "line_id": "FL1", "location": "lot"})
    c.ok("bank_a_checker", "ScanFloorCheck", "FC1", {"vin": sold, "place": "row 1"})
    c.ok("bank_a", "CloseFloorCheck", "FC1")  # A2 not seen: an alert
    args, buyer = fp.sale_args(c, sold, "A1", "19900")
    c.ok("bank_a", "RetailSale", *args, transient=buyer)
    c.advance(days=100)
    c.ok("bank_a", "CheckCurtailments", "FL1")
    c.ok("bank_a", "PayOffAdvance", "A2", fp.payment(c, "20000"))
    pledge = {
        "receivable_id": "RB1",
        "debtor_msp_id": fp.CORE,
        "line_id": "FL1",
        "kind": "rebate",
        "amount": "500",
        "currency": "CNY",
        "due_date": c.days_from_now(60),
    }
    c.ok("dealer", "PledgeReceivable", pledge)
    c.ok("bank_a", "ReleaseReceivablePledge", fp.CORE, "RB1")
    c.ok("oem", "DelistDealer", "D1", "contract ended")
