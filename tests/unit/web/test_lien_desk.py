"""The lien desk's forms (issue 15, pages where people act): the loan officer amends, extends, issues
a payoff quote and records its payment (release); a dealer asks for a quote and reads its answer; the
vehicle office corrects a lien recorded in error. Each: allowed role acts and the state changes; a
wrong role sees no form and its post is refused; a contract refusal is shown with the input kept and
nothing written; the CSRF token is required."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.api.builders import BANK_A, BANK_B, DEALER, TA, TODAY, Api, vin
from tests.unit.web.browse import Browser


def _doc(api: Api, user: str, doc_type: str, text: str, **link: str) -> str:
    return str(api.ok(api.upload(user, doc_type, text.encode(), **link), 201)["document"]["document_id"])


def _lien(api: Api, lien_id: str) -> dict:  # type: ignore[type-arg]
    return api.ok(api.get(BANK_A, f"/liens/{lien_id}"))  # type: ignore[no-any-return]


def test_loan_officer_amends_and_extends_and_an_increase_needs_consent(api: Api) -> None:
    api.register(311)
    lien_id = api.mortgage(311)
    desk = f"/liens/{lien_id}/desk"
    officer = Browser(api).sign_in(BANK_A)
    assert 'data-testid="lien-desk"' in officer.get("/lender").text
    page = officer.get(desk)
    assert 'data-testid="amend-form"' in page.text and 'data-testid="extend-form"' in page.text
    done = officer.post(desk, f"{desk}/amend", mortgage_contract_number="MC-311-NEW", reason="renumbered")
    assert done.status_code == 200 and "lien amended" in done.text
    assert 'data-testid="contract-number">MC-311-NEW<' in done.text
    assert _lien(api, lien_id)["version"] == 2

    refused = officer.post(desk, f"{desk}/amend", secured_amount="150000.00", reason="top-up")
    assert refused.status_code == 409 and "rule &#39;owner_consent&#39;" in refused.text
    assert 'value="150000.00"' in refused.text and 'value="top-up"' in refused.text
    assert (_lien(api, lien_id)["secured_amount"], _lien(api, lien_id)["version"]) == ("100000.00", 2)

    later = (TODAY + timedelta(days=2000)).isoformat()
    extended = officer.post(desk, f"{desk}/extend", maturity_date=later)
    assert extended.status_code == 200 and f'data-testid="maturity">{later}<' in extended.text
    assert _lien(api, lien_id)["maturity_date"] == later


def test_other_roles_cannot_amend_and_the_csrf_token_is_required(api: Api) -> None:
    api.register(312)
    lien_id = api.mortgage(312)
    desk = f"/liens/{lien_id}/desk"
    other_bank = Browser(api).sign_in(BANK_B)
    page = other_bank.get(desk)
    assert 'data-testid="amend-form"' not in page.text and 'data-testid="quote-form"' not in page.text
    refused = other_bank.post(desk, f"{desk}/amend", loan_number="LN-X", reason="not mine")
    assert refused.status_code == 403 and "lienholder_only" in refused.text
    dealer = Browser(api).sign_in(DEALER)
    assert dealer.post(desk, f"{desk}/amend", loan_number="LN-X", reason="x").status_code == 403
    assert (
        dealer.post(desk, f"{desk}/correct", evidence_document_id="D", reason="x", cancel="1").status_code
        == 403
    )
    officer = Browser(api).sign_in(BANK_A)
    assert officer.post_without_csrf(f"{desk}/amend", loan_number="LN-X", reason="x").status_code == 403
    assert _lien(api, lien_id)["version"] == 1


def test_payoff_quote_flow_through_the_pages(api: Api) -> None:
    api.register(313)
    lien_id = api.mortgage(313)
    v = vin(313)
    desk = f"/liens/{lien_id}/desk"
    consent = _doc(api, DEALER, "owner_consent", "payoff consent 313", vin=v)
    dealer = Browser(api).sign_in(DEALER)
    assert 'data-testid="request-form"' in dealer.get(desk).text
    missing = dealer.post(desk, f"{desk}/request", request_id="R-313", requested_by="dealer")
    assert (
        missing.status_code == 400 and "owner_consent_id" in missing.text and 'value="R-313"' in missing.text
    )
    asked = dealer.post(
        desk, f"{desk}/request", request_id="R-313", requested_by="dealer", owner_consent_document_id=consent
    )
    assert asked.status_code == 200 and "payoff quote requested" in asked.text

    officer = Browser(api).sign_in(BANK_A)
    page = officer.get(desk)
    assert 'data-testid="open-requests"' in page.text and "R-313" in page.text
    good = (TODAY + timedelta(days=10)).isoformat()
    issued = officer.post(desk, f"{desk}/quote", quote_id="Q-313", request_id="R-313", amount="90000.00",
                          currency="CNY", good_through=good)  # fmt: skip
    assert issued.status_code == 200 and "payoff quote issued" in issued.text

    dealer.sign_in(DEALER)
    seen = dealer.get(desk)
    assert 'data-quote="Q-313"' in seen.text and 'data-testid="quote-status">OPEN<' in seen.text

    officer.sign_in(BANK_A)
    short = officer.post(desk, f"{desk}/payment", quote_id="Q-313", amount="1.00", currency="CNY",
                         paid_on=TODAY.isoformat(), payment_reference="WIRE-313")  # fmt: skip
    assert short.status_code in (400, 409) and 'value="WIRE-313"' in short.text
    assert _lien(api, lien_id)["status"] == "RECORDED"
    paid = officer.post(desk, f"{desk}/payment", quote_id="Q-313", amount="90000.00", currency="CNY",
                        paid_on=TODAY.isoformat(), payment_reference="WIRE-313")  # fmt: skip
    assert paid.status_code == 200 and "lien released" in paid.text
    assert _lien(api, lien_id)["status"] == "RELEASED"


def test_vehicle_office_corrects_a_lien_recorded_in_error(api: Api) -> None:
    api.register(314)
    lien_id = api.mortgage(314)
    v = vin(314)
    desk = f"/liens/{lien_id}/desk"
    evidence = _doc(api, TA, "correction_evidence", "evidence 314", vin=v)
    officer = Browser(api).sign_in(TA)
    assert 'data-testid="correct-form"' in officer.get(desk).text
    both = officer.post(desk, f"{desk}/correct", evidence_document_id=evidence, reason="typo", cancel="1",
                        loan_number="LN-314-OK")  # fmt: skip
    assert (
        both.status_code == 400
        and "give either cancel=true" in both.text
        and 'value="LN-314-OK"' in both.text
    )
    assert _lien(api, lien_id)["version"] == 1
    fixed = officer.post(desk, f"{desk}/correct", evidence_document_id=evidence, reason="typo",
                         loan_number="LN-314-OK")  # fmt: skip
    assert fixed.status_code == 200 and "lien corrected" in fixed.text
    assert _lien(api, lien_id)["loan_number"] == "LN-314-OK"


def test_release_is_refused_while_seized_naming_the_seizure(api: Api) -> None:
    api.register(315)
    lien_id = api.mortgage(315)
    v = vin(315)
    order = _doc(api, TA, "seizure_order", "seizure 315", vin=v)
    seizure = {"document_id": order, "authority": "Chaoyang Court", "reason": "judgment debt"}
    api.ok(api.post(TA, f"/vehicles/{v}/seizure", json=seizure))
    desk = f"/liens/{lien_id}/desk"
    officer = Browser(api).sign_in(BANK_A)
    refused = officer.post(desk, f"{desk}/release")
    assert refused.status_code == 409 and "rule &#39;seized&#39;" in refused.text
    assert "Chaoyang Court" in refused.text and order in refused.text
    assert _lien(api, lien_id)["status"] == "RECORDED"
    api.ok(api.post(TA, f"/vehicles/{v}/seizure/lift", json=seizure))
    released = officer.post(desk, f"{desk}/release")
    assert released.status_code == 200 and "lien released" in released.text
    assert _lien(api, lien_id)["status"] == "RELEASED"


def test_a_buyers_bank_asks_for_a_quote_and_reads_its_answer_in_chinese(api: Api) -> None:
    api.register(316)
    lien_id = api.mortgage(316)
    desk = f"/liens/{lien_id}/desk"
    consent = _doc(api, BANK_B, "owner_consent", "buyer consent 316", vin=vin(316))
    buyer = Browser(api).sign_in(BANK_B)
    page = buyer.get(desk + "?lang=zh")
    assert "抵押权业务办理" in page.text and '<option value="buyer">买方银行</option>' in page.text
    asked = buyer.post(desk, f"{desk}/request", request_id="R-316", requested_by="buyer",
                       owner_consent_document_id=consent)  # fmt: skip
    assert asked.status_code == 200 and "payoff quote requested" in asked.text
    good = (TODAY + timedelta(days=5)).isoformat()
    api.ok(api.post(BANK_A, f"/liens/{lien_id}/payoff-quotes", json={
        "quote_id": "Q-316", "request_id": "R-316", "amount": "95000.00", "currency": "CNY",
        "good_through": good,
    }), 201)  # fmt: skip
    seen = buyer.get(desk)
    assert 'data-quote="Q-316"' in seen.text and "95000.00 CNY" in seen.text
