"""The lender page shows one loan's projected-LTV chart (``/lender?projection=<lien id>``), forecast
with the bank's champion valuation model, in English and Chinese, with a table of the figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.users.provision import demo_password
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market
from tests.unit.api.builders import BANK_A, Api, lien, vin
from tests.unit.valuation.conftest import SMALL


@pytest.fixture
def bank_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bank A's champion model in the registry the gateway's valuation service reads."""
    root = tmp_path / "models"
    monkeypatch.setenv("MLEDGER_MODELS_DIR", str(root))
    market = generate_market(400, seed=5)
    ValuationService(ModelRegistry(root)).train_and_register(
        market.sales, market.index, SMALL, source="synthetic", name="residual-value-banka"
    )


def _requested_lien(api: Api, serial: int, amount: str) -> str:
    api.register(serial)
    doc = api.ok(api.upload(BANK_A, "owner_consent", f"consent {serial}".encode(), vin=vin(serial)), 201)
    api.ok(api.post(BANK_A, "/liens", json=lien(serial, "A", doc["document"]["document_id"], amount)), 201)
    return f"L-{serial}-A"


def _web_login(api: Api) -> None:
    origin = {"Origin": str(api.client.base_url)}
    csrf = api.client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
    form = {"username": BANK_A, "password": demo_password("BankAMSP", "loan1"), "csrf": csrf}
    assert api.client.post("/login", data=form, headers=origin, follow_redirects=False).status_code == 303


def test_lender_page_renders_the_projected_ltv_chart_of_a_loan(api: Api, bank_model: None) -> None:
    lien_id = _requested_lien(api, 171, "400000.00")  # far above the car's value: breaches at once
    _web_login(api)
    page = api.client.get("/lender")
    assert f'href="/lender?projection={lien_id}#projection"' in page.text
    assert 'data-testid="ltv-projection-chart"' not in page.text  # only on request, one loan at a time

    page = api.client.get(f"/lender?projection={lien_id}&lang=en")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-testid="ltv-projection-chart"' in html and 'aria-labelledby="ltv-projection-title' in html
    assert f"Projected LTV — {lien_id}" in html and "<desc id=" in html
    assert 'data-testid="ltv-band"' in html and 'data-testid="ltv-threshold"' in html
    assert 'data-testid="ltv-breach" data-month="1"' in html
    assert 'data-testid="projection-breach-row"' in html and "projected_ltv_breach" in html
    assert "residual-value-banka@1" in html and "400000.00 CNY" in html
    months = html.split('data-testid="projection-table"')[1].count("<tr") - 1  # minus the header row
    assert months >= 30  # month 0 to maturity (1,000 days ahead)

    zh = api.client.get(f"/lender?projection={lien_id}&lang=zh").text
    assert "预计抵押率" in zh and "预警阈值" in zh and "首次突破" in zh


def test_lender_page_says_why_there_is_no_chart(api: Api, bank_model: None) -> None:
    _web_login(api)
    html = api.client.get("/lender?projection=L-NO-SUCH").text
    assert 'data-testid="projection-error"' in html and 'data-testid="ltv-projection-chart"' not in html
