"""The lien-law desks in a browser (issue 15, pages where people act): the vehicle office seizes a car
on its vehicle desk and the bank's release is refused with the seizure named on the page; a dealer asks
for a payoff quote, the bank issues it, the dealer sees it."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Page, expect

from app.demo.data import demo_vin
from tests.browser.conftest import Gateway, log_in, new_page, shot

TA, BANK, DEALER = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP", "dealer1@DealerMSP"


def _mortgaged(gw: Gateway, serial: int) -> tuple[str, str]:
    """A registered car with a lien of BankA's recorded on it: (vin, lien id)."""
    v, lien_id = demo_vin(serial, "LGW", "EF4B2"), f"L-DESK-{serial}"
    vehicle = {
        "vin": v, "plate": f"京D{serial % 100000:05d}", "make": "Geely", "model": "Xingyue", "trim": "L",
        "year": 2023, "configuration": {}, "registration_date": "2023-04-01", "new_price": "180000.00",
        "currency": "CNY", "region": "Beijing",
    }  # fmt: skip
    owner = {"name": "Desk Owner", "id_number": f"1101011990{serial:08d}"}
    gw.api(TA, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
    consent = _document(gw, BANK, "owner_consent", f"consent {serial}", v)
    gw.api(BANK, "POST", "/liens", json={
        "lien_id": lien_id, "vin": v, "loan_number": f"BA-{serial}",
        "mortgage_contract_number": f"MC-{serial}", "secured_amount": "90000.00", "currency": "CNY",
        "consent_document_id": consent,
        "maturity_date": (date.today() + timedelta(days=900)).isoformat(),
    })  # fmt: skip
    gw.api(BANK, "POST", "/valuation-records", json={
        "valuation_id": f"VAL-DESK-{serial}", "vin": v, "value": "150000.00", "currency": "CNY",
        "interval_low": "140000.00", "interval_high": "160000.00", "coverage": 0.9,
        "model_id": "demo-hedonic", "model_version": "1.0.0", "inputs_hash": "2" * 64, "valuer": "BankA desk",
    })  # fmt: skip
    gw.api(TA, "POST", f"/liens/{lien_id}/record")
    return v, lien_id


def _document(gw: Gateway, user: str, doc_type: str, text: str, v: str) -> str:
    files = {"file": ("doc.txt", text.encode(), "text/plain")}
    answer = gw.api(user, "POST", "/documents", data={"doc_type": doc_type, "vin": v}, files=files)
    return str(answer["document"]["document_id"])


def test_seizure_hold_then_the_banks_release_is_refused_naming_it(page: Page, gateway: Gateway) -> None:
    v, lien_id = _mortgaged(gateway, 300511)
    order = _document(gateway, TA, "seizure_order", "seizure order 300511", v)
    log_in(page, TA)
    page.goto(f"/passport/{v}")
    page.get_by_test_id("vehicle-desk").click()
    form = page.get_by_test_id("hold-form")
    form.locator("[name=kind]").select_option("seizure")
    form.locator("[name=document_id]").fill(order)
    form.locator("[name=authority]").fill("Chaoyang District Court")
    form.locator("[name=reason]").fill("judgment debt")
    form.get_by_role("button").click()
    expect(page.get_by_test_id("flash")).to_contain_text("hold set")
    expect(page.get_by_test_id("holds")).to_contain_text("seizure")
    shot(page, "vehicle-desk-seized")

    bank = new_page(page.context.browser, gateway)  # type: ignore[arg-type]
    log_in(bank, BANK)
    bank.goto(f"/liens/{lien_id}/desk")
    bank.get_by_test_id("release-form").get_by_role("button").click()
    refusal = bank.get_by_test_id("refusal")
    expect(refusal).to_contain_text("rule 'seized'")
    expect(refusal).to_contain_text("Chaoyang District Court")
    expect(refusal).to_contain_text(order)
    expect(bank.get_by_test_id("lien-status")).to_have_text("RECORDED")
    shot(bank, "lien-desk-release-refused")
    bank.context.close()
    assert gateway.api(BANK, "GET", f"/liens/{lien_id}")["status"] == "RECORDED"


def test_payoff_quote_dealer_requests_bank_issues_dealer_sees(page: Page, gateway: Gateway) -> None:
    v, lien_id = _mortgaged(gateway, 300512)
    consent = _document(gateway, DEALER, "owner_consent", "owner agrees to a payoff quote", v)
    log_in(page, DEALER)
    page.goto(f"/vehicles/{v}/desk")
    page.get_by_test_id("liens").get_by_role("link", name=lien_id, exact=False).click()
    form = page.get_by_test_id("request-form")
    form.locator("[name=request_id]").fill("R-DESK-1")
    form.locator("[name=owner_consent_document_id]").fill(consent)
    form.get_by_role("button").click()
    expect(page.get_by_test_id("flash")).to_contain_text("payoff quote requested")

    bank = new_page(page.context.browser, gateway)  # type: ignore[arg-type]
    log_in(bank, BANK)
    bank.goto(f"/liens/{lien_id}/desk")
    expect(bank.get_by_test_id("open-requests")).to_contain_text("R-DESK-1")
    quote = bank.get_by_test_id("quote-form")
    quote.locator("[name=quote_id]").fill("Q-DESK-1")
    expect(quote.locator("[name=request_id]")).to_have_value("R-DESK-1")
    quote.locator("[name=amount]").fill("88000.00")
    quote.locator("[name=good_through]").fill((date.today() + timedelta(days=10)).isoformat())
    quote.get_by_role("button").click()
    expect(bank.get_by_test_id("flash")).to_contain_text("payoff quote issued")
    bank.context.close()

    page.reload()
    row = page.locator("[data-quote='Q-DESK-1']")
    expect(row).to_contain_text("88000.00")
    expect(row.get_by_test_id("quote-status")).to_have_text("OPEN")
    shot(page, "lien-desk-dealer-quote")
