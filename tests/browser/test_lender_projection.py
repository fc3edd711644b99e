"""The lender page's projected-LTV chart in a real browser: a loan built to breach shows the chart
with its band, the threshold line and the breach month marked (and the same month in the table)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.demo.data import demo_vin
from app.valuation.registry import ModelRegistry
from app.valuation.schemas import VehicleInput
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market
from tests.browser.conftest import Gateway, log_in, shot
from tests.unit.valuation.conftest import SMALL

pytestmark = pytest.mark.browser

TA, LENDER = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP"
VIN = demo_vin(300171, "LHG", "CV1F3")
LIEN = "L-WEB-LTV"
VEHICLE = {
    "vin": VIN, "plate": "京W30171", "make": "Toyota", "model": "Camry", "trim": "2.5HG", "year": 2022,
    "configuration": {}, "registration_date": "2022-03-01", "new_price": "219800.00", "currency": "CNY",
    "region": "HZ",
}  # fmt: skip


@pytest.fixture(scope="module")
def breaching_loan(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bank A's champion model where the gateway reads models, and a loan of 1.3× the car's value."""
    root = Path(tmp_path_factory.mktemp("lender-models"))
    service = ValuationService(ModelRegistry(root))
    market = generate_market(400, seed=5)
    service.train_and_register(
        market.sales, market.index, SMALL, source="synthetic", name="residual-value-banka"
    )
    vehicle = VehicleInput.model_validate(
        {"make": "Toyota", "model": "Camry", "trim": "2.5HG", "region": "HZ", "new_price": 219800.0,
         "first_registration": "2022-03-01"}
    )  # fmt: skip
    value = service.value(vehicle, "residual-value-banka").value
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLEDGER_MODELS_DIR", str(root))
        gateway.api(TA, "POST", "/vehicles", json={"vehicle": VEHICLE, "owner": {
            "name": "Chart Owner", "id_number": "110101199001017777"}})  # fmt: skip
        files = {"file": ("consent.txt", b"owner consent for the chart test", "text/plain")}
        data = {"doc_type": "owner_consent", "document_id": "DOC-WEB-LTV", "vin": VIN}
        gateway.api(LENDER, "POST", "/documents", data=data, files=files)
        gateway.api(LENDER, "POST", "/liens", json={
            "lien_id": LIEN, "vin": VIN, "loan_number": "BA-WEB-LTV",
            "mortgage_contract_number": "MC-WEB-LTV",
            "secured_amount": f"{1.3 * value:.2f}", "currency": "CNY",
            "maturity_date": (date.today() + timedelta(days=1100)).isoformat(),
            "consent_document_id": "DOC-WEB-LTV",
        })  # fmt: skip
        yield LIEN


def test_projected_ltv_chart_marks_the_breach_month(page: Page, breaching_loan: str) -> None:
    log_in(page, LENDER)
    row = page.locator(f"tr[data-lien='{breaching_loan}']")
    expect(row).to_contain_text("REQUESTED")
    row.get_by_test_id("projection-link").click()
    expect(page).to_have_url(re.compile(rf"/lender\?projection={breaching_loan}#projection$"))
    chart = page.get_by_test_id("ltv-projection-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_have_text(f"Projected LTV — {breaching_loan}")
    expect(chart.get_by_test_id("ltv-band")).to_have_count(1)
    expect(chart.get_by_test_id("ltv-threshold")).to_have_count(1)
    breach = chart.get_by_test_id("ltv-breach")
    expect(breach).to_have_attribute("data-month", "1")
    expect(breach).to_contain_text("1 (")
    expect(page.get_by_test_id("projection-finding")).to_contain_text("projected LTV")
    page.get_by_text("The figures as a table").click()
    expect(page.get_by_test_id("projection-breach-row").locator("td").first).to_have_text("1")
    shot(page, "lender-projected-ltv-desktop")
