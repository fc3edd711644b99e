"""The regulator's dashboard page counts exactly, past the chaincode's page cap (issue 24).

The old page followed ``QueryVehicles`` for at most MAX_PAGES × PAGE_SIZE records per status and
silently stopped there (10,000 in production). MAX_PAGES is lowered to 1 here so that the same cut
shows at 200 with a fast test; the page must still say 250.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

import app.web.data as web_data
from app.settings import Settings
from app.users.provision import demo_password
from tests.unit.api.conftest import make_client, users_template  # noqa: F401  (fixtures)
from tests.unit.readmodel.helpers import register_many

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def _login(client: TestClient, qualified: str) -> httpx.Response:
    name, _, msp = qualified.partition("@")
    page = client.get("/login")
    csrf = CSRF_FIELD.search(page.text)
    assert csrf, page.text[:300]
    form = {
        "username": qualified,
        "password": demo_password(msp, name),
        "csrf": csrf.group(1),
        "next": "/regulator",
    }
    return client.post("/login", data=form, follow_redirects=False)


def _count(page: str, status: str) -> int:
    found = re.search(rf'data-status="{status}">[^<]*</td><td>(\d+)</td>', page)
    assert found, page[:2000]
    return int(found.group(1))


def test_regulator_dashboard_counts_past_the_page_cap(make_client, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setattr(web_data, "MAX_PAGES", 1)  # the production cap is 50 pages of 200
    client = make_client(Settings(data_dir=tmp_path / "gw", token_secret="t" * 32))
    ledger = client.app.state.gw.ledger  # type: ignore[attr-defined]
    client.portal.call(lambda: register_many(ledger, 250, "CAP"))  # type: ignore[union-attr]
    assert _login(client, "regulator1@RegulatorMSP").status_code == 303
    page = client.get("/regulator")
    assert page.status_code == 200, page.text[:500]
    assert _count(page.text, "REGISTERED") == 250
