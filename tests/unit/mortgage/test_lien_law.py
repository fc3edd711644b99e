"""Issue 15, lien law as registries and courts apply it: each test starts from what the issue saw go wrong."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from chaincode.mortgage.contract import BASE_KEY_POLICY
from chaincode.runtime.policy import KeyEndorsementPolicy

from .chain import Chain, owner, vin

V = vin(15)
H = "ab" * 32


@pytest.fixture
def c() -> Chain:
    """BankA holds the senior 70,000 lien, BankB the junior 40,000 one (valuation 150,000: cap 120,000)."""
    chain = Chain()
    chain.register(V)
    chain.value(V, "150000")
    chain.lien("bank_a", "L1", V, "70000")
    chain.lien("bank_b", "L2", V, "40000")
    return chain


def foreclose(c: Chain, who: str, lien_id: str) -> None:
    c.ok(who, "StartForeclosure", lien_id, c.document(who, "foreclosure_notice", V, lien_id))


def sale(
    c: Chain, who: str, price: str, label: str = "buyer", **extra: Any
) -> tuple[dict[str, Any], dict[str, bytes]]:
    transient, h = owner(label)
    body = {
        "sale_price": price,
        "currency": "CNY",
        "buyer_owner_hash": h,
        "sale_document_id": c.document(who, "sale_contract", V),
        **extra,
    }
    return body, transient


def vehicle_policy(c: Chain) -> list[str]:
    raw = c.state_metadata("VEHICLE", V).get("VALIDATION_PARAMETER")
    return [] if raw in (None, BASE_KEY_POLICY) else KeyEndorsementPolicy(raw).list_orgs()


# --- 1. enforcement by seniority ---------------------------------------------------------------


def test_junior_cannot_sell_free_of_the_senior_lien_without_consent_or_court_order(c: Chain) -> None:
    foreclose(c, "bank_b", "L2")
    body, buyer = sale(c, "bank_b", "50000")
    msg = c.fail("bank_b", "CompleteDisposal", V, body, status=409, transient=buyer)
    assert "rule 'senior_consent'" in msg
    assert "L1 held by BankAMSP (priority 1, claim 70000.00 CNY)" in msg
    assert c.ok("bank_a", "GetLien", "L1")["status"] == "RECORDED"


def test_junior_sale_subject_to_the_senior_lien_leaves_it_on_the_vehicle(c: Chain) -> None:
    foreclose(c, "bank_b", "L2")
    body, buyer = sale(c, "bank_b", "50000", mode="subject_to_senior_liens")
    result = c.ok("bank_b", "CompleteDisposal", V, body, transient=buyer)
    assert result["liens_remaining"] == ["L1"]
    assert [(p["lien_id"], p["paid"]) for p in result["distribution"]] == [("L2", "40000")]
    assert Decimal(result["surplus"]) == Decimal(10000)
    vehicle = c.ok("ta", "GetVehicle", V)
    assert vehicle["status"] == "MORTGAGED" and vehicle["owner_hash"] == body["buyer_owner_hash"]
    assert [ref["lien_id"] for ref in vehicle["liens"]] == ["L1"]
    assert vehicle_policy(c) == ["BankAMSP", "TrafficAuthorityMSP"]
    assert c.ok("bank_a", "GetLien", "L1")["status"] == "RECORDED"
    assert c.ok("bank_a", "GetLien", "L2")["status"] == "DISCHARGED"


def test_senior_consent_lets_the_junior_sell_free_and_clear_paying_the_senior_first(c: Chain) -> None:
    foreclose(c, "bank_b", "L2")
    consent = c.ok("bank_a", "ConsentToEnforcement", "L1", {"foreclosing_lien_id": "L2"})
    assert (consent["lienholder"], consent["below_reserve"]) == ("BankAMSP", False)
    # only the senior's own loan officer consents for it
    c.fail("bank_b", "ConsentToEnforcement", "L1", {"foreclosing_lien_id": "L2"}, status=403)
    body, buyer = sale(c, "bank_b", "140000")
    result = c.ok("bank_b", "CompleteDisposal", V, body, transient=buyer)
    assert [(p["lien_id"], p["paid"]) for p in result["distribution"]] == [("L1", "70000"), ("L2", "40000")]
    assert result["authority"] == ["consent:L1"]
    assert (result["reserve"], result["reserve_basis"]) == ("135000.00", "interval_low of valuation VAL-1")


def test_court_sale_order_discharges_every_lien(c: Chain) -> None:
    foreclose(c, "bank_b", "L2")
    order = c.document("ta", "court_order", V)
    c.fail("bank_a", "RecordSaleOrder", V, {"document_id": order, "court": "Haidian"}, status=403)
    c.ok("ta", "RecordSaleOrder", V, {"document_id": order, "court": "Haidian", "minimum_price": "136000"})
    body, buyer = sale(c, "bank_b", "135500")
    msg = c.fail("bank_b", "CompleteDisposal", V, body, status=409, transient=buyer)
    assert "rule 'court_minimum'" in msg and "136000.00" in msg
    body, buyer = sale(c, "bank_b", "136000", label="b2")
    result = c.ok("bank_b", "CompleteDisposal", V, body, transient=buyer)
    assert result["authority"] == [f"court_order:{order}"]
    assert c.ok("ta", "GetVehicle", V)["status"] == "DISPOSED"
    # the order is used up: it is gone from state, its history stays
    assert c.ok("ta", "GetEnforcement", V)["sale_order"] is None


def test_sale_below_reserve_needs_a_court_order_or_every_paid_lienholders_consent(c: Chain) -> None:
    foreclose(c, "bank_a", "L1")
    body, buyer = sale(c, "bank_a", "90000")
    msg = c.fail("bank_a", "CompleteDisposal", V, body, status=409, transient=buyer)
    assert "rule 'reserve': sale price 90000.00 CNY is below the reserve 135000.00 CNY" in msg
    assert "missing: L2 held by BankBMSP (priority 2, claim 40000.00 CNY)" in msg
    c.ok("bank_b", "ConsentToEnforcement", "L2", {"foreclosing_lien_id": "L1", "below_reserve": True})
    result = c.ok("bank_a", "CompleteDisposal", V, body, transient=buyer)
    assert "below_reserve:consents" in result["authority"]
    assert [(p["lien_id"], p["paid"], p["shortfall"]) for p in result["distribution"]] == [
        ("L1", "70000", "0"),
        ("L2", "20000", "20000"),
    ]


def test_reserve_share_is_configurable_and_court_may_allow_below_reserve(c: Chain) -> None:
    c.ok("ta_admin", "SetLawConfig", {"reserve_share": "0.5"})
    foreclose(c, "bank_a", "L1")
    body, buyer = sale(c, "bank_a", "74999")
    msg = c.fail("bank_a", "CompleteDisposal", V, body, status=409, transient=buyer)
    assert "the reserve 75000.00 CNY (0.5 × value 150000.00" in msg
    order = c.document("ta", "court_order", V)
    c.ok("ta", "RecordSaleOrder", V, {"document_id": order, "court": "Haidian", "below_reserve": True})
    result = c.ok("bank_a", "CompleteDisposal", V, body, transient=buyer)
    assert "below_reserve:court_order" in result["authority"]


def test_proceeds_pay_costs_first_then_outstanding_balances_and_record_surplus_and_deficiency(
    c: Chain,
) -> None:
    # BankA's loan is half repaid: it claims its balance, not its original secured amount
    c.ok("bank_a", "ReportLienBalance", "L1", {"outstanding": "35000", "currency": "CNY", "as_of": c.today})
    c.ok(
        "bank_b", "ReportLienBalance", "L2", {"outstanding": "39000.50", "currency": "CNY", "as_of": c.today}
    )
    foreclose(c, "bank_a", "L1")
    body, buyer = sale(c, "bank_a", "140000", costs="6000")
    c.fail("bank_a", "CompleteDisposal", V, body, status=400, transient=buyer)  # costs need a document
    body["costs_document_id"] = c.document("bank_a", "sale_costs", V)
    result = c.ok("bank_a", "CompleteDisposal", V, body, transient=buyer)
    paid = {p["lien_id"]: (p["claim"], p["paid"], p["shortfall"]) for p in result["distribution"]}
    assert paid == {"L1": ("35000", "35000", "0"), "L2": ("39000.50", "39000.50", "0.00")}
    total = sum(Decimal(p["paid"]) for p in result["distribution"])
    assert total + Decimal(result["surplus"]) + Decimal(result["costs"]) == Decimal("140000")
    assert result["surplus"] == "59999.50" and result["surplus_owed_to"] == owner(V)[1]
    [owed] = c.ok("bank_a", "GetSurpluses", V)
    assert (owed["amount"], owed["owner_hash"]) == ("59999.50", owner(V)[1])


# --- 2. balances and payoff ------------------------------------------------------------------------


def test_balance_reports_are_dated_and_refused_with_reasons(c: Chain) -> None:
    future = c.days_from_now(2)
    msg = c.fail(
        "bank_a",
        "ReportLienBalance",
        "L1",
        {"outstanding": "1", "currency": "CNY", "as_of": future},
        status=400,
    )
    assert "field 'as_of': is in the future" in msg
    c.fail(
        "bank_b",
        "ReportLienBalance",
        "L1",
        {"outstanding": "1", "currency": "CNY", "as_of": c.today},
        status=403,
    )
    c.ok("bank_a", "ReportLienBalance", "L1", {"outstanding": "60000", "currency": "CNY", "as_of": c.today})
    c.advance(days=3)
    msg = c.fail(
        "bank_a",
        "ReportLienBalance",
        "L1",
        {"outstanding": "1", "currency": "CNY", "as_of": "2025-12-01"},
        status=409,
    )
    assert "before the balance already reported" in msg
    account = c.ok("bank_a", "GetLienAccount", "L1")
    assert (account["claim"], account["balance"]["outstanding"]) == ("60000", "60000")


def test_payoff_quote_then_payment_releases_the_lien(c: Chain) -> None:
    # a dealer asks with the owner's consent; without it the request is refused naming the field
    msg = c.fail(
        "dealer", "RequestPayoffQuote", "L2", {"request_id": "R1", "requested_by": "dealer"}, status=400
    )
    assert "owner_consent_document_id" in msg
    consent = c.document("dealer", "owner_consent", V)
    request = {"request_id": "R1", "requested_by": "dealer", "owner_consent_document_id": consent}
    assert c.ok("dealer", "RequestPayoffQuote", "L2", request)["requester_msp"] == "DealerMSP"
    # an owner asks the lienholder directly: nobody else may claim to be the owner
    c.fail("bank_a", "RequestPayoffQuote", "L2", {"request_id": "R2", "requested_by": "owner"}, status=403)
    good_through = c.days_from_now(10)
    quote = {
        "quote_id": "Q1",
        "request_id": "R1",
        "amount": "38500",
        "currency": "CNY",
        "good_through": good_through,
    }
    c.fail("bank_a", "IssuePayoffQuote", "L2", quote, status=403)
    c.ok("bank_b", "IssuePayoffQuote", "L2", quote)
    assert c.last_event()[0] == "PayoffQuoted"
    pay = {
        "quote_id": "Q1",
        "amount": "38000",
        "currency": "CNY",
        "paid_on": c.today,
        "payment_reference": "W1",
    }
    msg = c.fail("bank_b", "RecordPayoffPayment", "L2", pay, status=409)
    assert "rule 'quote_amount': paid 38000.00 CNY, quote Q1 is 38500.00 CNY (short by 500.00)" in msg
    c.advance(days=11)
    late = {**pay, "amount": "38500", "paid_on": c.today}
    msg = c.fail("bank_b", "RecordPayoffPayment", "L2", late, status=409)
    assert f"quote Q1 was good through {good_through}" in msg
    on_time = {**late, "paid_on": good_through}
    released = c.ok("bank_b", "RecordPayoffPayment", "L2", on_time)
    assert (released["status"], released["end_reason"]) == ("RELEASED", "payoff")
    account = c.ok("bank_b", "GetLienAccount", "L2")
    assert account["payoff_quotes"][0]["paid"] is True and account["balance"]["outstanding"] == "0.00"
    assert vehicle_policy(c) == ["BankAMSP", "TrafficAuthorityMSP"]


def _dealer_quote(c: Chain, lien_id: str = "L2", holder: str = "bank_b") -> dict[str, Any]:
    consent = c.document("dealer", "owner_consent", V)
    request = {"request_id": "R1", "requested_by": "dealer", "owner_consent_document_id": consent}
    c.ok("dealer", "RequestPayoffQuote", lien_id, request)
    quote = {
        "quote_id": "Q1",
        "request_id": "R1",
        "amount": "38500",
        "currency": "CNY",
        "good_through": c.days_from_now(10),
    }
    c.ok(holder, "IssuePayoffQuote", lien_id, quote)
    return quote


def test_the_dealer_who_asked_reads_its_quote_but_not_the_account(c: Chain) -> None:
    """Issue 15 point 2: the dealer asked for a payoff figure and could not read the answer."""
    quote = _dealer_quote(c)
    c.fail("dealer", "GetLienAccount", "L2", status=403)  # the balance history stays with credit readers
    got = c.ok("dealer", "GetPayoffQuote", "L2", "Q1")
    assert {k: got[k] for k in ("quote_id", "lien_id", "vin", "amount", "currency", "good_through")} == {
        "quote_id": "Q1",
        "lien_id": "L2",
        "vin": V,
        "amount": quote["amount"],
        "currency": "CNY",
        "good_through": quote["good_through"],
    }
    assert (got["status"], got["request_id"], got["requested_by"], got["requester_msp"]) == (
        "OPEN",
        "R1",
        "dealer",
        "DealerMSP",
    )
    assert not {"balance", "claim", "deficiency", "payoff_requests", "payoff_quotes"} & set(got)
    # the dealer finds the quote's id by listing: it sees the quotes answering its own requests only
    c.ok("bank_b", "RequestPayoffQuote", "L2", {"request_id": "R2", "requested_by": "owner"})
    c.ok("bank_b", "IssuePayoffQuote", "L2", {**quote, "quote_id": "Q2", "request_id": "R2"})
    assert [q["quote_id"] for q in c.ok("dealer", "GetPayoffQuotes", "L2")] == ["Q1"]
    assert [q["quote_id"] for q in c.ok("bank_b", "GetPayoffQuotes", "L2")] == ["Q1", "Q2"]
    msg = c.fail("dealer", "GetPayoffQuote", "L2", "Q2", status=403)
    assert "rule 'payoff_quote_party'" in msg and "R2" in msg
    for reader in ("ta", "ta_admin", "regulator", "bank_a_auditor", "dealer_auditor"):
        assert c.ok(reader, "GetPayoffQuote", "L2", "Q2")["amount"] == quote["amount"], reader
    # another bank, holding a different lien on the vehicle, did not ask: refused, naming the rule
    msg = c.fail("bank_a", "GetPayoffQuote", "L2", "Q1", status=403)
    assert "rule 'payoff_quote_party'" in msg and "BankAMSP" in msg
    assert c.ok("bank_a", "GetPayoffQuotes", "L2") == []
    c.fail("bank_a_admin", "GetPayoffQuote", "L2", "Q1", status=403)
    c.fail("insurer", "GetPayoffQuote", "L2", "Q1", status=403)
    c.fail("dealer", "GetPayoffQuote", "L2", "Q9", status=404)
    c.fail("dealer", "GetPayoffQuote", "L2", "bad id!", status=400)


def test_a_quote_reads_expired_then_paid(c: Chain) -> None:
    _dealer_quote(c)
    c.advance(days=11)
    assert c.ok("dealer", "GetPayoffQuote", "L2", "Q1")["status"] == "EXPIRED"
    c.ok("bank_b", "RequestPayoffQuote", "L2", {"request_id": "R3", "requested_by": "owner"})
    fresh = {
        "quote_id": "Q3",
        "request_id": "R3",
        "amount": "38600",
        "currency": "CNY",
        "good_through": c.days_from_now(5),
    }
    c.ok("bank_b", "IssuePayoffQuote", "L2", fresh)
    pay = {
        "quote_id": "Q3",
        "amount": "38600",
        "currency": "CNY",
        "paid_on": c.today,
        "payment_reference": "W",
    }
    c.ok("bank_b", "RecordPayoffPayment", "L2", pay)
    paid = c.ok("bank_b", "GetPayoffQuote", "L2", "Q3")
    assert (paid["status"], paid["paid"]) == ("PAID", True) and paid["paid_at"]
    # the dealer's unpaid quote of a lien released by another quote's payment is void
    assert c.ok("dealer", "GetPayoffQuote", "L2", "Q1")["status"] == "VOID"


def test_paying_off_a_foreclosing_lien_redeems_the_vehicle(c: Chain) -> None:
    foreclose(c, "bank_b", "L2")
    c.ok("bank_b", "RequestPayoffQuote", "L2", {"request_id": "R1", "requested_by": "owner"})
    quote = {
        "quote_id": "Q1",
        "request_id": "R1",
        "amount": "41000",
        "currency": "CNY",
        "good_through": c.today,
    }
    c.ok("bank_b", "IssuePayoffQuote", "L2", quote)
    pay = {
        "quote_id": "Q1",
        "amount": "41000",
        "currency": "CNY",
        "paid_on": c.today,
        "payment_reference": "W",
    }
    assert c.ok("bank_b", "RecordPayoffPayment", "L2", pay)["status"] == "RELEASED"
    vehicle = c.ok("ta", "GetVehicle", V)
    assert vehicle["status"] == "MORTGAGED" and [r["lien_id"] for r in vehicle["liens"]] == ["L1"]


# --- 3. lien maintenance ----------------------------------------------------------------------------


def test_amend_increase_needs_owner_consent_and_the_ltv_check(c: Chain) -> None:
    msg = c.fail("bank_a", "AmendLien", "L1", {"secured_amount": "75000", "reason": "top-up"}, status=409)
    assert "rule 'owner_consent'" in msg and "from 70000.00 to 75000.00 CNY" in msg
    consent = c.document("bank_a", "owner_consent", V)
    body = {"secured_amount": "90000", "reason": "top-up", "owner_consent_document_id": consent}
    msg = c.fail("bank_a", "AmendLien", "L1", body, status=409)
    assert "LTV exceeded" in msg and "secured total 130000.00 CNY > cap 120000.00 CNY" in msg
    body["secured_amount"] = "80000"
    amended = c.ok("bank_a", "AmendLien", "L1", body)
    assert (amended["secured_amount"], amended["version"]) == ("80000", 2)
    down = c.ok(
        "bank_a", "AmendLien", "L1", {"secured_amount": "60000", "loan_number": "LN-9", "reason": "repaid"}
    )
    assert (down["secured_amount"], down["loan_number"], down["version"]) == ("60000", "LN-9", 3)
    name, event = c.last_event()
    assert name == "LienAmended" and event["changes"]["secured_amount"] == {
        "before": "80000",
        "after": "60000",
    }
    versions = [entry["value"]["version"] for entry in c.ok("bank_a_auditor", "GetLienHistory", "L1")]
    assert sorted(v for v in versions if v) == [1, 1, 2, 3]  # requested, recorded, two amendments


def test_extension_only_before_maturity(c: Chain) -> None:
    maturity = c.ok("bank_a", "GetLien", "L1")["maturity_date"]
    later = str(int(maturity[:4]) + 1) + maturity[4:]
    extended = c.ok("bank_a", "ExtendLien", "L1", {"maturity_date": later})
    assert (extended["maturity_date"], extended["version"]) == (later, 2)
    c.fail("bank_a", "ExtendLien", "L1", {"maturity_date": maturity}, status=400)
    c.advance(days=5 * 365)
    msg = c.fail("bank_a", "ExtendLien", "L1", {"maturity_date": "2040-01-01"}, status=409)
    assert "rule 'before_maturity'" in msg and f"matured on {later}" in msg


def test_lapse_sweep_sends_notices_then_lapses_after_grace(c: Chain) -> None:
    c.ok("ta_admin", "SetLawConfig", {"lapse_grace_days": 10, "notice_days": [30, 7]})
    maturity = c.ok("bank_a", "GetLien", "L1")["maturity_date"]
    c.advance(days=3 * 365 - 31)  # 31 days before maturity: nothing due yet
    assert c.ok("dealer", "SweepLienMaturities", {})["notices"] == []
    c.advance(days=2)
    swept = c.ok("insurer", "SweepLienMaturities", {})
    assert {(n["lien_id"], n["notice_days"]) for n in swept["notices"]} == {("L1", 30), ("L2", 30)}
    assert c.last_event()[0] == "LienMaturitySweep"
    assert c.ok("insurer", "SweepLienMaturities", {})["notices"] == []  # each notice once
    c.advance(days=25)
    swept = c.ok("ta", "SweepLienMaturities", {})
    assert {(n["lien_id"], n["notice_days"]) for n in swept["notices"]} == {("L1", 7), ("L2", 7)}
    c.advance(days=4 + 10)  # 4 days left, then maturity + grace: not yet
    assert c.ok("ta", "SweepLienMaturities", {})["lapsed"] == []
    c.advance(days=1)
    swept = c.ok("ta", "SweepLienMaturities", {})
    assert [(x["lien_id"], x["maturity_date"]) for x in swept["lapsed"]] == [
        ("L1", maturity),
        ("L2", maturity),
    ]
    lien = c.ok("bank_a", "GetLien", "L1")
    assert lien["status"] == "LAPSED" and "grace 10 days" in lien["end_reason"]
    vehicle = c.ok("ta", "GetVehicle", V)
    assert (vehicle["status"], vehicle["liens"]) == ("REGISTERED", [])
    assert vehicle_policy(c) == []
    # a lapsed lien never blocks a transfer
    new_owner, h = owner("after-lapse")
    c.ok("ta", "TransferTitle", V, {"new_owner_hash": h, "reason": "sale"}, transient=new_owner)


def test_sweep_leaves_a_seized_vehicles_liens_alone(c: Chain) -> None:
    c.ok(
        "ta",
        "SeizeVehicle",
        V,
        {"document_id": c.document("ta", "seizure_order", V), "authority": "court", "reason": "x"},
    )
    c.advance(days=3 * 365 + 40)
    swept = c.ok("ta", "SweepLienMaturities", {})
    assert swept["lapsed"] == [] and {s["lien_id"] for s in swept["skipped"]} == {"L1", "L2"}
    assert c.ok("bank_a", "GetLien", "L1")["status"] == "RECORDED"


def test_correction_by_the_vehicle_office_with_evidence(c: Chain) -> None:
    wrong_doc = c.document("ta", "other", V)
    body = {"evidence_document_id": wrong_doc, "reason": "amount keyed wrongly", "secured_amount": "7000"}
    msg = c.fail("ta", "CorrectLien", "L1", body, status=409)
    assert "expected correction_evidence or court_order" in msg
    c.fail("bank_a", "CorrectLien", "L1", body, status=403)
    body["evidence_document_id"] = c.document("ta", "correction_evidence", V, "L1")
    corrected = c.ok("ta", "CorrectLien", "L1", body)
    assert (corrected["secured_amount"], corrected["version"]) == ("7000", 2)
    assert c.last_event()[1]["changes"] == {"secured_amount": {"before": "70000", "after": "7000"}}
    strike = {
        "evidence_document_id": c.document("ta", "correction_evidence", V, "L2"),
        "reason": "wrong VIN",
        "cancel": True,
    }
    cancelled = c.ok("ta", "CorrectLien", "L2", strike)
    assert cancelled["status"] == "CANCELLED"
    assert [ref["lien_id"] for ref in c.ok("ta", "GetVehicle", V)["liens"]] == ["L1"]
    history = c.ok("regulator", "GetLienHistory", "L2")
    assert [e["value"]["status"] for e in history][:2] == ["CANCELLED", "RECORDED"]
    # the true maturity was long past: corrected, the next sweep lapses the lien
    past = {
        "evidence_document_id": c.document("ta", "correction_evidence", V, "L1"),
        "reason": "maturity keyed wrongly",
        "maturity_date": "2025-01-31",
    }
    assert c.ok("ta", "CorrectLien", "L1", past)["version"] == 3
    assert [x["lien_id"] for x in c.ok("bank_a", "SweepLienMaturities", {})["lapsed"]] == ["L1"]
    assert c.ok("ta", "GetVehicle", V)["status"] == "REGISTERED"


# --- 4. holds --------------------------------------------------------------------------------------


def test_seizure_freezes_the_liens(c: Chain) -> None:
    c.ok(
        "ta",
        "SeizeVehicle",
        V,
        {"document_id": c.document("ta", "seizure_order", V), "authority": "court", "reason": "x"},
    )
    msg = c.fail("bank_a", "ReleaseLien", "L1", status=409)
    assert "release refused by rule 'seized'" in msg and "by court on" in msg
    c.fail("bank_a", "ProposeLienAssignment", "L1", "BankBMSP", status=409)
    c.fail("bank_a", "AmendLien", "L1", {"loan_number": "X1", "reason": "r"}, status=409)
    c.fail("bank_a", "ExtendLien", "L1", {"maturity_date": "2040-01-01"}, status=409)
    c.fail("ta", "ReleaseLienByCourtOrder", "L1", c.document("ta", "court_order", V, "L1"), status=409)
    request = {
        "lien_id": "L3",
        "vin": V,
        "loan_number": "LN3",
        "mortgage_contract_number": "MC3",
        "secured_amount": "1000",
        "currency": "CNY",
        "maturity_date": c.days_from_now(400),
        "consent_document_id": c.document("bank_a", "owner_consent", V),
    }
    assert "is SEIZED" in c.fail("bank_a", "RequestLien", request, status=409)  # no new liens
    assert c.ok("bank_a", "GetLien", "L1")["status"] == "RECORDED"


@pytest.mark.parametrize(
    ("kind", "doc_type"),
    [("stolen", "police_report"), ("customs", "customs_notice"), ("scrap_age", "scrap_notice")],
)
def test_holds_block_new_liens_and_transfers_naming_the_hold(kind: str, doc_type: str) -> None:
    c = Chain()
    c.register(V)
    c.value(V, "100000")
    c.fail(
        "ta",
        "SetHold",
        V,
        {"kind": kind, "document_id": c.document("ta", "other", V), "authority": "x", "reason": "r"},
        status=409,
    )
    doc = c.document("ta", doc_type, V)
    hold = {"kind": kind, "document_id": doc, "authority": "Beijing PSB", "reason": "reported"}
    c.fail("bank_a", "SetHold", V, hold, status=403)
    assert c.ok("ta", "SetHold", V, hold)["holds"][0]["kind"] == kind
    assert c.ok("dealer", "GetVehicleStatus", V)["holds"] == [kind]
    buyer, h = owner("buyer")
    msg = c.fail(
        "ta", "TransferTitle", V, {"new_owner_hash": h, "reason": "sale"}, status=409, transient=buyer
    )
    assert f"transfer refused by rule 'holds': vehicle {V} is under hold {kind}" in msg
    consent = c.document("bank_a", "owner_consent", V)
    request = {
        "lien_id": "LH",
        "vin": V,
        "loan_number": "LN",
        "mortgage_contract_number": "MC",
        "secured_amount": "1000",
        "currency": "CNY",
        "maturity_date": c.days_from_now(400),
        "consent_document_id": consent,
    }
    msg = c.fail("bank_a", "RequestLien", request, status=409)
    assert "lien request refused by rule 'holds'" in msg and "Beijing PSB" in msg
    c.ok("ta", "LiftHold", V, {**hold, "reason": "found"})
    c.ok("bank_a", "RequestLien", request)
    c.ok("ta", "TransferTitle", V, {"new_owner_hash": h, "reason": "sale"}, transient=buyer)


# --- 5. registration changes -------------------------------------------------------------------------


def test_registration_change_keeps_before_and_after_and_tells_every_lienholder(c: Chain) -> None:
    doc = c.document("ta", "registration_change", V)
    old_plate = c.ok("ta", "GetVehicle", V)["plate"]
    c.register(vin(16), plate="TAKEN1")
    c.fail(
        "ta", "ChangeRegistration", V, {"change_id": "C0", "document_id": doc, "plate": "TAKEN1"}, status=409
    )
    contact = {"owner_contact": json.dumps({"phone": "13900000000", "address": "1 New Road"}).encode()}
    change = {
        "change_id": "C1",
        "document_id": doc,
        "plate": "NEW123",
        "colour": "red",
        "engine_number": "E99",
        "owner_contact": True,
    }
    vehicle = c.ok("ta", "ChangeRegistration", V, change, transient=contact)
    assert (vehicle["plate"], vehicle["colour"], vehicle["engine_number"]) == ("NEW123", "red", "E99")
    name, event = c.last_event()
    assert name == "RegistrationChanged" and event["lienholders"] == ["BankAMSP", "BankBMSP"]
    assert event["changes"]["plate"] == {"before": old_plate, "after": "NEW123"}
    assert event["changes"]["owner_contact"] == {"before": "private", "after": "private"}
    assert "13900000000" not in json.dumps(event)
    assert c.ok("ta", "GetVehicleByPlate", "NEW123")["vin"] == V
    c.fail("ta", "GetVehicleByPlate", old_plate, status=404)
    assert c.ok("ta", "GetOwner", V)["phone"] == "13900000000"
    [record] = c.ok("bank_a", "GetRegistrationChanges", V)
    assert record["changes"]["colour"] == {"before": None, "after": "red"}
    history = c.ok("regulator", "GetVehicleHistory", V)
    assert [h["value"]["plate"] for h in history[:2]] == ["NEW123", old_plate]
    c.fail(
        "ta",
        "ChangeRegistration",
        V,
        {"change_id": "C2", "document_id": doc, "owner_contact": True},
        status=400,
    )


# --- 6. brands --------------------------------------------------------------------------------------


def test_brand_is_public_and_a_new_lien_needs_the_banks_acknowledgement() -> None:
    c = Chain()
    c.register(V)
    c.value(V, "100000")
    loss = c.document("insurer", "loss_report", V)
    c.fail("bank_a", "RecordBrand", V, {"kind": "flood", "document_id": loss}, status=403)
    c.ok("insurer", "RecordBrand", V, {"kind": "flood", "document_id": loss})
    c.fail("insurer", "RecordBrand", V, {"kind": "flood", "document_id": loss}, status=409)
    passport = c.ok("ta_norole", "GetVehicleStatus", V)
    assert [b["kind"] for b in passport["brands"]] == ["flood"]
    c.request_lien("bank_a", "L1", V, "10000")
    msg = c.fail("ta", "RecordLien", "L1", status=409)
    assert "rule 'brand_acknowledgement'" in msg and "branded flood" in msg
    c.fail("bank_a", "AcknowledgeBrands", "L1", {"brands": ["salvage"]}, status=400)
    c.ok("bank_a", "AcknowledgeBrands", "L1", {"brands": ["flood"]})
    assert c.ok("ta", "RecordLien", "L1")["status"] == "RECORDED"


# --- 7. valuation attestations -------------------------------------------------------------------------


def valuation(valuation_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "valuation_id": valuation_id,
        "vin": V,
        "value": "100000",
        "currency": "CNY",
        "interval_low": "90000",
        "interval_high": "110000",
        "coverage": "0.9",
        "model_id": "residual-lgbm",
        "model_version": "1.0.0",
        "inputs_hash": H,
        "valuer": "svc",
        **extra,
    }


def test_manual_valuation_with_a_zero_hash_is_refused_and_needs_an_appraiser() -> None:
    c = Chain()
    c.register(V)
    c.request_lien("bank_a", "L-STAKE", V)  # a bank values only a vehicle it has a lien stake in
    zeros = valuation("V1", model_id="manual", model_version="-", inputs_hash="0" * 64)
    assert "all-zero hash" in c.fail("bank_a", "RecordValuation", zeros, status=400)
    manual = valuation("V1", model_id="manual", model_version="-")
    assert "rule 'appraiser_only'" in c.fail("bank_a", "RecordValuation", manual, status=403)
    assert "appraisal_document_id" in c.fail("bank_a_appraiser", "RecordValuation", manual, status=400)
    manual["appraisal_document_id"] = c.document("bank_a_appraiser", "appraisal", V)
    recorded = c.ok("bank_a_appraiser", "RecordValuation", manual)
    assert recorded["attestation"] == f"appraisal:{manual['appraisal_document_id']}"


def test_a_valuation_must_name_a_registered_model_version() -> None:
    c = Chain()
    c.register(V)
    c.request_lien("bank_a", "L-STAKE", V)  # a bank values only a vehicle it has a lien stake in
    msg = c.fail("bank_a", "RecordValuation", valuation("V1", model_version="9.9"), status=409)
    assert "rule 'registered_model': model residual-lgbm version 9.9 is not registered" in msg
    card = "cd" * 32
    model = {"model_id": "residual-lgbm", "model_version": "9.9", "model_card_sha256": card}
    c.fail(
        "bank_a", "RegisterModelVersion", model, status=403
    )  # loan officers use models, never register them
    c.ok("bank_a_model_admin", "RegisterModelVersion", model)
    c.fail("bank_a_model_admin", "RegisterModelVersion", model, status=409)
    recorded = c.ok("bank_a", "RecordValuation", valuation("V1", model_version="9.9"))
    assert recorded["attestation"] == f"model:residual-lgbm@9.9#{card}"
    assert [m["model_version"] for m in c.ok("regulator", "GetModelVersions")] == ["9.9"]


# --- 8. alerts on chain ---------------------------------------------------------------------------------


def test_risk_alerts_are_anchored_acknowledged_and_counted(c: Chain) -> None:
    alert = {"alert_id": "A1", "lien_id": "L1", "rule": "ltv_breach", "severity": "high", "alert_sha256": H}
    c.fail("bank_b", "RecordRiskAlert", alert, status=403)  # not BankB's loan
    c.ok("bank_a", "RecordRiskAlert", alert)
    c.ok("bank_b", "RecordRiskAlert", {**alert, "alert_id": "A2", "lien_id": "L2", "severity": "low"})
    c.fail("bank_b", "AcknowledgeRiskAlert", "A1", "seen", status=403)
    acked = c.ok("bank_a", "AcknowledgeRiskAlert", "A1", "borrower called")
    assert acked["acknowledged"] is True
    c.fail("bank_a", "AcknowledgeRiskAlert", "A1", "again", status=409)
    counts = c.ok("regulator", "CountRiskAlerts")
    assert (counts["total"], counts["unacknowledged"]) == (2, 1)
    assert counts["by_severity"] == {"high": 1, "low": 1} and counts["by_rule"] == {"ltv_breach": 2}
    assert [a["alert_id"] for a in c.ok("regulator", "QueryRiskAlerts", {"unacknowledged": True})] == ["A2"]
