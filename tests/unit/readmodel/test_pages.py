"""The lender, auditor and regulator pages served from the read model: block height stated, pages
followed, CSV streamed with its height, a transaction the model does not hold looked up on the ledger."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.settings import Settings
from app.users.provision import demo_password
from tests.unit.api.conftest import make_client, users_template  # noqa: F401  (fixtures)
from tests.unit.readmodel.helpers import MODELS_A, lien_flow, register_many, submit

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
AS_OF = re.compile(r'data-testid="as-of">[^<\d]*(\d+)')


def _login(client: TestClient, qualified: str, target: str) -> httpx.Response:
    name, _, msp = qualified.partition("@")
    csrf = CSRF_FIELD.search(client.get("/login").text)
    assert csrf
    form = {
        "username": qualified,
        "password": demo_password(msp, name),
        "csrf": csrf.group(1),
        "next": target,
    }
    return client.post("/login", data=form, follow_redirects=False)


def _client(make: Any, tmp_path: Path) -> tuple[TestClient, Any]:
    client = make(Settings(data_dir=tmp_path / "gw", token_secret="t" * 32))
    return client, client.app.state.gw.ledger


def test_lender_page_from_the_read_model(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, ledger = _client(make_client, tmp_path)
    vins = client.portal.call(lambda: register_many(ledger, 3, "LND"))  # type: ignore[union-attr]
    lien_id = client.portal.call(lambda: lien_flow(ledger, vins[0], "LND1"))  # type: ignore[union-attr]
    assert _login(client, "loan1@BankAMSP", "/lender").status_code == 303
    page = client.get("/lender")
    assert page.status_code == 200
    assert f'data-lien="{lien_id}"' in page.text
    height = int(AS_OF.search(page.text).group(1))  # type: ignore[union-attr]
    assert height == ledger.height()
    assert 'data-testid="ltv">50.0%' in page.text


def test_audit_search_pages_csv_and_ledger_fallback(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, ledger = _client(make_client, tmp_path)
    vins = client.portal.call(lambda: register_many(ledger, 3, "AUD"))  # type: ignore[union-attr]
    client.portal.call(lambda: lien_flow(ledger, vins[0], "AUD1"))  # type: ignore[union-attr]
    model_tx = client.portal.call(  # type: ignore[union-attr]
        lambda: submit(ledger, MODELS_A, "RegisterModelVersion",
                       {"model_id": "m", "model_version": "9", "model_card_sha256": "ab" * 32})
    ).tx_id  # fmt: skip
    assert _login(client, "auditor1@TrafficAuthorityMSP", "/audit").status_code == 303
    page = client.get("/audit", params={"q": vins[0]})
    assert page.status_code == 200 and int(AS_OF.search(page.text).group(1)) == ledger.height()  # type: ignore[union-attr]
    assert "RecordLien" not in page.text and "RECORDED" in page.text and vins[0] in page.text

    dated = client.get("/audit", params={"from": "2000-01-01", "to": "2100-01-01"})
    assert dated.status_code == 200 and "AUD1" in dated.text
    bad = client.get("/audit", params={"from": "yesterday"})
    assert bad.status_code == 400 and "from" in bad.text

    export = client.get("/audit.csv", params={"q": vins[0]})
    assert export.status_code == 200
    assert int(export.headers["x-block-height"]) == ledger.height()
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0] == ["kind", "key", "tx_id", "block_number", "timestamp", "org", "status", "is_delete"]
    assert {r[0] for r in rows[1:]} >= {"vehicle", "lien", "valuation", "document"}

    # a transaction that wrote no projected record is still found, on the ledger itself
    found = client.get("/audit", params={"q": model_tx})
    assert found.status_code == 200 and model_tx[:16] in found.text and "VALID" in found.text


def test_reports_api(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from tests.unit.api.conftest import login

    client, ledger = _client(make_client, tmp_path)
    vins = client.portal.call(lambda: register_many(ledger, 4, "API"))  # type: ignore[union-attr]
    lien_id = client.portal.call(lambda: lien_flow(ledger, vins[1], "API1"))  # type: ignore[union-attr]
    regulator = login(client, "regulator1@RegulatorMSP")
    board = client.get("/api/v1/reports/dashboard", headers=regulator).json()
    assert board["block_height"] == ledger.height() and dict(board["counts"])["REGISTERED"] == 3
    assert client.get("/api/v1/reports/dashboard", headers=login(client, "loan1@BankAMSP")).status_code == 403

    bank = login(client, "loan1@BankAMSP")
    page = client.get("/api/v1/reports/portfolio", headers=bank).json()
    assert [r["lien"]["lien_id"] for r in page["rows"]] == [lien_id] and page["rows"][0]["ltv"] == "50.0000"
    assert client.get("/api/v1/reports/portfolio", headers=regulator).status_code == 403

    auditor = login(client, "auditor1@TrafficAuthorityMSP")
    found = client.get("/api/v1/reports/changes", params={"vin": vins[1], "limit": 2}, headers=auditor).json()
    assert len(found["rows"]) == 2 and found["next_before"]
    rest = client.get(
        "/api/v1/reports/changes", params={"vin": vins[1], "before": found["next_before"]}, headers=auditor
    ).json()
    assert {r["kind"] for r in found["rows"] + rest["rows"]} >= {"vehicle", "lien", "valuation"}
    bad = client.get("/api/v1/reports/changes", params={"from": "2026-13-01"}, headers=auditor)
    assert bad.status_code == 400 and "from" in bad.text
    assert client.get("/api/v1/reports/changes", params={"vin": vins[1]}, headers=bank).status_code == 403
    csv_answer = client.get("/api/v1/reports/changes.csv", params={"lienholder": "BankAMSP"}, headers=auditor)
    assert csv_answer.status_code == 200 and int(csv_answer.headers["x-block-height"]) == ledger.height()
    assert csv_answer.text.count(lien_id) >= 2  # requested and recorded
