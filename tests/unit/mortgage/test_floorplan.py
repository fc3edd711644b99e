"""Dealer floor-plan finance (issue 19), point by point, on the real contract with X.509 callers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chaincode.mortgage import floorplan_rules as fr
from chaincode.mortgage.models.floorplan import Advance, CurtailmentSchedule

from . import floorplan_chain as fp
from .chain import Chain, owner, vin


@pytest.fixture
def c() -> Chain:
    chain = Chain()
    fp.whitelist(chain)
    fp.open_line(chain, limit="50000")
    return chain


def _stock(c: Chain, v: str, advance_id: str, amount: str = "20000") -> None:
    c.register(v)
    fp.finance(c, advance_id, v, amount)


# --- 1. credit lines and the whitelist ---


def test_a_line_needs_the_dealer_on_the_core_enterprise_whitelist() -> None:
    c = Chain()
    msg = c.fail("bank_a", "OpenCreditLine", _line_body("FL1"), status=409)
    assert "rule 'whitelist'" in msg and "D1" in msg and "ManufacturerMSP" in msg
    fp.whitelist(c)
    line = fp.open_line(c)
    assert (line["lender"], line["dealer_msp_id"], line["outstanding"]) == ("BankAMSP", "DealerMSP", "0")
    assert line["curtailment"] == {
        "first_after_days": 90,
        "first_percent": "10",
        "every_days": 30,
        "step_percent": "10",
    }
    # only the core enterprise keeps its whitelist; a bank cannot whitelist a dealer
    c.fail(
        "bank_a",
        "WhitelistDealer",
        {"dealer_id": "D9", "dealer_msp_id": "DealerMSP", "name": "x"},
        status=403,
    )
    bad = _line_body("FL2") | {"approver_msp_id": "BankBMSP"}
    assert "approver_msp_id" in c.fail("bank_a", "OpenCreditLine", bad, status=400)


def test_a_delisted_dealer_gets_no_new_advance(c: Chain) -> None:
    c.register(vin(1))
    c.ok("oem", "DelistDealer", "D1", "dealer agreement ended")
    msg = c.fail("bank_a", "FinanceVehicle", fp.advance_body("A1", vin(1), "1000"), status=409)
    assert "rule 'whitelist'" in msg and "delisted" in msg


# --- 2. advances per VIN ---


def test_an_advance_records_a_floor_plan_lien_and_shows_on_the_vehicle(c: Chain) -> None:
    v = vin(2)
    _stock(c, v, "A1")
    assert c.last_event()[0] == "VehicleFinanced"
    vehicle = c.ok("ta", "GetVehicle", v)
    assert vehicle["status"] == "FLOOR_PLAN"
    assert c.ok("ta", "GetVehicleStatus", v)["status"] == "FLOOR_PLAN"
    stock = c.ok("bank_a", "GetFloorPlanStock", "FL1")
    (adv,) = stock["advances"]
    assert (adv["floor_plan_lien_id"], adv["outstanding"], adv["status"]) == ("FP:A1", "20000", "OPEN")
    assert stock["line"]["outstanding"] == "20000" and stock["available"] == "30000"
    # the vehicle key now needs the lender's peer besides the vehicle office's
    assert c.state_metadata("VEHICLE", v)


def test_the_limit_is_never_exceeded(c: Chain) -> None:
    _stock(c, vin(3), "A1", "30000")
    c.register(vin(4))
    msg = c.fail("bank_a", "FinanceVehicle", fp.advance_body("A2", vin(4), "20000.01"), status=409)
    assert "rule 'line_limit'" in msg and "available 20000.00" in msg
    fp.finance(c, "A2", vin(4), "20000")  # exactly up to the limit


def test_an_advance_is_refused_on_encumbered_financed_or_foreign_stock(c: Chain) -> None:
    v = vin(5)
    c.register(v)
    c.value(v, "100000")
    c.lien("bank_b", "L1", v, "1000")
    assert "only unencumbered stock" in c.fail(
        "bank_a", "FinanceVehicle", fp.advance_body("A1", v, "1"), status=409
    )
    _stock(c, vin(6), "A2")
    msg = c.fail("bank_a", "FinanceVehicle", fp.advance_body("A3", vin(6), "1"), status=409)
    assert "already floor-plan financed" in msg
    # another bank cannot draw on BankA's line
    c.register(vin(7))
    msg = c.fail("bank_b", "FinanceVehicle", fp.advance_body("A4", vin(7), "1"), status=403)
    assert "rule 'floor_plan_lender'" in msg


def test_curtailments_are_due_from_the_transaction_date_and_unpaid_ones_alert(c: Chain) -> None:
    _stock(c, vin(8), "A1", "20000")
    assert c.ok("bank_a", "GetFloorPlanStock", "FL1")["advances"][0]["curtailment"]["due_now"] == "0.00"
    c.advance(days=91)  # first installment (10 %) fell due on day 90
    cur = c.ok("bank_a", "GetFloorPlanStock", "FL1")["advances"][0]["curtailment"]
    assert (cur["installments_due"], cur["required"], cur["due_now"], cur["overdue_installments"]) == (
        1,
        "2000.00",
        "2000.00",
        [1],
    )
    result = c.ok("bank_a", "CheckCurtailments", "FL1")
    assert len(result["alerts"]) == 1 and c.last_event()[0] == "CurtailmentsOverdue"
    (alert,) = c.ok("bank_a", "GetFloorPlanAlerts", "FL1")
    assert alert["rule"] == "curtailment_unpaid" and alert["detail"]["installment"] == 1
    # the same installment alerts once
    assert c.ok("bank_a", "CheckCurtailments", "FL1")["alerts"] == []
    c.ok("bank_a", "RecordCurtailment", "A1", fp.payment(c, "2000"))
    cur = c.ok("bank_a", "GetFloorPlanStock", "FL1")["advances"][0]["curtailment"]
    assert (cur["due_now"], cur["overdue_installments"], cur["next_required"]) == ("0.00", [], "4000.00")
    assert c.ok("bank_a", "GetFloorPlanStock", "FL1")["line"]["outstanding"] == "18000"


def test_the_schedule_arithmetic() -> None:
    schedule = CurtailmentSchedule(
        first_after_days=90, first_percent=Decimal(10), every_days=30, step_percent=Decimal(10)
    )
    assert fr.last_installment(schedule) == 10
    advance = Advance.model_validate(
        {
            "advance_id": "A",
            "line_id": "L",
            "vin": vin(1),
            "lender": "BankAMSP",
            "dealer_id": "D",
            "dealer_msp_id": "DealerMSP",
            "amount": "10000",
            "outstanding": "10000",
            "currency": "CNY",
            "odometer_km": 0,
            "advanced_on": "2026-01-01",
            "advanced_at": "2026-01-01T00:00:00Z",
            "floor_plan_lien_id": "FP:A",
            "updated_at": "x",
            "tx_id": "t",
        }
    )
    assert fr.position(advance, schedule, date(2026, 3, 31)).installments_due == 0
    pos = fr.position(advance, schedule, date(2026, 5, 1))  # day 120: installments on day 90 and 120
    assert (pos.installments_due, pos.required, pos.overdue) == (2, Decimal("2000.00"), (1,))
    late = fr.position(advance, schedule, date(2028, 1, 1))
    assert late.required == Decimal("10000.00") and late.next_date is None


# --- 3. floor checks and sold-out-of-trust alerts ----------------------------------------------------------


def test_floor_check_lists_the_financed_cars_not_seen(c: Chain) -> None:
    seen, missing = vin(10), vin(11)
    for v, a in ((seen, "A1"), (missing, "A2")):
        _stock(c, v, a, "10000")
    c.ok("ta", "IssueQrIdentity", seen, {"code_id": "QR-10", "payload_sha256": "ab" * 32})
    c.register(vin(12))  # on the lot, not financed
    c.ok("bank_a", "OpenFloorCheck", {"check_id": "FC1", "line_id": "FL1", "location": "Shanghai lot 3"})
    scan = c.ok(
        "bank_a_checker",
        "ScanFloorCheck",
        "FC1",
        {"code_id": "QR-10", "place": "row B", "latitude": "31.2304", "longitude": "121.4737"},
    )
    assert (scan["vin"], scan["advance_id"], scan["place"], scan["latitude"]) == (
        seen,
        "A1",
        "row B",
        "31.2304",
    )
    assert scan["seen_at"].startswith(c.today) and scan["scanned_by"] == "BankAMSP"
    c.ok("bank_a_checker", "ScanFloorCheck", "FC1", {"vin": vin(12), "place": "row C"})
    assert "already scanned" in c.fail(
        "bank_a_checker", "ScanFloorCheck", "FC1", {"vin": seen, "place": "x"}, status=409
    )
    closed = c.ok("bank_a", "CloseFloorCheck", "FC1")
    assert (closed["seen"], closed["not_seen"], closed["not_financed"]) == ([seen], [missing], [vin(12)])
    (alert,) = c.ok("bank_a", "GetFloorPlanAlerts", "FL1")
    assert (alert["rule"], alert["vin"], alert["severity"]) == ("sold_out_of_trust:not_seen", missing, "high")
    # it is a risk alert on the floor-plan lien: acknowledged by the lender, counted for the regulator
    c.ok("bank_a", "AcknowledgeRiskAlert", alert["alert_id"], "dealer showed the car at the body shop")
    counts = c.ok("regulator", "CountRiskAlerts")
    assert counts["by_rule"] == {"sold_out_of_trust:not_seen": 1}
    assert "was closed" in c.fail(
        "bank_a_checker", "ScanFloorCheck", "FC1", {"vin": missing, "place": "x"}, status=409
    )


def test_a_revoked_qr_code_is_refused_at_the_scan(c: Chain) -> None:
    v = vin(13)
    _stock(c, v, "A1")
    c.ok("ta", "IssueQrIdentity", v, {"code_id": "OLD", "payload_sha256": "ab" * 32})
    c.ok("ta", "IssueQrIdentity", v, {"code_id": "NEW", "payload_sha256": "cd" * 32})
    c.ok("bank_a", "OpenFloorCheck", {"check_id": "FC1", "line_id": "FL1", "location": "lot"})
    msg = c.fail("bank_a_checker", "ScanFloorCheck", "FC1", {"code_id": "OLD", "place": "x"}, status=409)
    assert "revoked" in msg and "NEW" in msg


def test_mileage_in_stock_over_the_threshold_alerts_once(c: Chain) -> None:
    v = vin(14)
    _stock(c, v, "A1")  # odometer 12 km at the advance, threshold 200 km
    c.ok("dealer", "RecordOdometer", {"vin": v, "odometer_km": 150, "source": "obd"})
    assert c.ok("bank_a", "GetFloorPlanAlerts", "FL1") == []
    c.ok("dealer", "RecordOdometer", {"vin": v, "odometer_km": 950, "source": "obd"})
    (alert,) = c.ok("bank_a", "GetFloorPlanAlerts", "FL1")
    assert alert["rule"] == "sold_out_of_trust:mileage_in_stock" and alert["detail"]["driven_km"] == 938
    c.ok("dealer", "RecordOdometer", {"vin": v, "odometer_km": 1500, "source": "obd"})
    assert len(c.ok("bank_a", "GetFloorPlanAlerts", "FL1")) == 1


def test_transfer_and_lien_recording_refused_consumer_lien_request_alerts(c: Chain) -> None:
    v = vin(15)
    _stock(c, v, "A1")
    buyer, digest = owner("buyer")
    msg = c.fail(
        "ta", "TransferTitle", v, {"new_owner_hash": digest, "reason": "sale"}, transient=buyer, status=409
    )
    assert "rule 'floor_plan'" in msg and "A1" in msg and "BankAMSP" in msg
    c.value(v, "100000")
    c.request_lien("bank_b", "CL1", v, "15000")
    name, payload = c.last_event()
    assert name == "LienRequested" and payload["floor_plan_alert_id"]
    (alert,) = c.ok("bank_a", "GetFloorPlanAlerts", "FL1")
    assert (alert["rule"], alert["severity"], alert["detail"]["consumer_lender"]) == (
        "sold_out_of_trust:consumer_lien",
        "critical",
        "BankBMSP",
    )
    assert "rule 'floor_plan'" in c.fail("ta", "RecordLien", "CL1", status=409)


# --- 4. retail sale with payoff, atomically ---


def test_retail_sale_pays_off_releases_moves_title_and_requests_the_consumer_lien(c: Chain) -> None:
    v = vin(20)
    _stock(c, v, "A1", "20000")
    args, buyer = fp.sale_args(c, v, "A1", "20000", consumer=fp.consumer_lien(c, v, "CL1"))
    result = c.ok("bank_a", "RetailSale", *args, transient=buyer)
    assert (result["payoff_amount"], result["floor_plan_lien_status"], result["consumer_lien_id"]) == (
        "20000",
        "RELEASED",
        "CL1",
    )
    vehicle = c.ok("ta", "GetVehicle", v)
    assert (vehicle["status"], vehicle["owner_hash"]) == ("REGISTERED", args[1]["buyer_owner_hash"])
    lien = c.ok("ta", "GetLien", "CL1")
    assert (lien["status"], lien["lienholder"]) == ("REQUESTED", "BankBMSP")
    stock = c.ok("bank_a", "GetFloorPlanStock", "FL1")
    assert stock["line"]["outstanding"] == "0" and stock["advances"][0]["status"] == "SOLD"
    assert c.ok("regulator", "GetOwner", v)["owner_hash"] == args[1]["buyer_owner_hash"]
    # the consumer lien can now be recorded (a paid-off advance blocks nothing)
    c.value(v, "100000")
    assert c.ok("ta", "RecordLien", "CL1")["status"] == "RECORDED"


def test_a_sale_short_of_the_payoff_is_refused_and_changes_nothing(c: Chain) -> None:
    v = vin(21)
    _stock(c, v, "A1", "20000")
    args, buyer = fp.sale_args(c, v, "A1", "19999.99", consumer=fp.consumer_lien(c, v, "CL1"))
    msg = c.fail("bank_a", "RetailSale", *args, transient=buyer, status=409)  # fail() asserts no write
    assert "rule 'payoff_amount'" in msg and "short by 0.01" in msg
    assert c.ok("ta", "GetVehicle", v)["status"] == "FLOOR_PLAN"
    c.fail("ta", "GetLien", "CL1", status=404)


def test_a_sale_with_a_foreign_consent_is_refused_whole(c: Chain) -> None:
    v = vin(22)
    _stock(c, v, "A1")
    consumer = fp.consumer_lien(c, v, "CL1") | {
        "consent_document_id": c.document("bank_a", "owner_consent", v)
    }
    args, buyer = fp.sale_args(c, v, "A1", "20000", consumer=consumer)
    assert "owner_consent_bound" in c.fail("bank_a", "RetailSale", *args, transient=buyer, status=409)


def test_a_paid_off_advance_never_blocks_a_sale(c: Chain) -> None:
    v = vin(23)
    _stock(c, v, "A1")
    c.ok("bank_a", "PayOffAdvance", "A1", fp.payment(c, "20000"))
    assert c.ok("ta", "GetVehicle", v)["status"] == "REGISTERED"
    buyer, digest = owner("later-buyer")
    c.ok("ta", "TransferTitle", v, {"new_owner_hash": digest, "reason": "sale"}, transient=buyer)
    args, transient = fp.sale_args(c, v, "A1", "1")
    assert "no longer floor-plan financed" in c.fail(
        "bank_a", "RetailSale", *args, transient=transient, status=409
    )


# --- 5. receivables ---


def test_a_receivable_is_pledged_once(c: Chain) -> None:
    body = {
        "receivable_id": "REB-Q4",
        "debtor_msp_id": fp.CORE,
        "line_id": "FL1",
        "kind": "rebate",
        "amount": "12000",
        "currency": "CNY",
        "due_date": c.days_from_now(90),
    }
    pledge = c.ok("dealer", "PledgeReceivable", body)
    assert (pledge["pledgee"], pledge["status"], pledge["amount"]) == ("BankAMSP", "PLEDGED", "12000")
    # a second line at another bank: the same receivable is refused there too
    fp.open_line(c, "FL2", who="bank_b")
    msg = c.fail("dealer", "PledgeReceivable", body | {"line_id": "FL2"}, status=409)
    assert "rule 'double_pledge'" in msg and "BankAMSP" in msg
    c.ok("bank_a", "ReleaseReceivablePledge", fp.CORE, "REB-Q4")
    assert c.ok("dealer", "PledgeReceivable", body | {"line_id": "FL2"})["pledgee"] == "BankBMSP"
    assert "debtor_msp_id" in c.fail(
        "dealer", "PledgeReceivable", body | {"receivable_id": "X", "debtor_msp_id": "BankAMSP"}, status=400
    )


# --- 6. who sees what ---


def test_exposure_per_dealer_and_totals_see_only_what_the_caller_may(c: Chain) -> None:
    _stock(c, vin(30), "A1", "20000")
    fp.whitelist(c, "D2")
    fp.open_line(c, "FL2", dealer_id="D2", limit="80000", who="bank_b")
    c.register(vin(31))
    fp.finance(c, "B1", vin(31), "5000", line_id="FL2", who="bank_b")
    mine = c.ok("bank_a", "GetFloorPlanExposure", {})["dealers"]
    assert [(d["dealer_id"], d["outstanding"], d["available"], d["utilisation"]) for d in mine] == [
        ("D1", "20000", "30000", "0.4000")
    ]
    everyone = c.ok("regulator", "GetFloorPlanExposure", {})["dealers"]
    assert {(d["lender"], d["dealer_id"]) for d in everyone} == {("BankAMSP", "D1"), ("BankBMSP", "D2")}
    totals = c.ok("regulator", "GetFloorPlanTotals")
    assert [(t["lender"], t["outstanding"], t["open_advances"]) for t in totals["lenders"]] == [
        ("BankAMSP", "20000", 1),
        ("BankBMSP", "5000", 1),
    ]
    msg = c.fail("bank_b", "GetFloorPlanStock", "FL1", status=403)
    assert "rule 'floor_plan_party'" in msg
    c.fail("bank_a", "GetFloorPlanTotals", status=403)
    assert c.ok("bank_a_auditor", "GetFloorPlanStock", "FL2")["line"]["lender"] == "BankBMSP"


def _line_body(line_id: str) -> dict[str, str]:
    return {
        "line_id": line_id,
        "dealer_id": "D1",
        "approver_msp_id": fp.CORE,
        "limit": "100000",
        "currency": "CNY",
        "rate": "0.065",
    }
