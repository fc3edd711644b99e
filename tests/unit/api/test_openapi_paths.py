"""The API keeps every path it had (issue 13): a renamed path stays as a deprecated alias.

``fixtures/openapi_paths.json`` is the path → methods set captured before the restructuring.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings

BEFORE = json.loads((Path(__file__).parent / "fixtures" / "openapi_paths.json").read_text())
RENAMED = {("/api/v1/valuations", "POST"): "/api/v1/valuation-records"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("openapi")
    return create_app(Settings(data_dir=data / "gw", token_secret="t" * 32)).openapi()


def test_every_path_and_method_of_before_is_still_served(spec: dict[str, Any]) -> None:
    now = {path: {m.upper() for m in ops} for path, ops in spec["paths"].items()}
    missing = [f"{m} {p}" for p, methods in BEFORE.items() for m in methods if m not in now.get(p, set())]
    assert missing == []


def test_renamed_paths_are_served_and_their_old_names_deprecated(spec: dict[str, Any]) -> None:
    for (old, method), new in RENAMED.items():
        assert spec["paths"][old][method.lower()].get("deprecated") is True
        assert not spec["paths"][new][method.lower()].get("deprecated", False)
    deprecated = {
        (path, method.upper())
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if op.get("deprecated")
    }
    assert deprecated == set(RENAMED)


def test_valuation_records_and_the_valuation_engine_differ_by_more_than_a_letter(
    spec: dict[str, Any],
) -> None:
    records = [p for p in spec["paths"] if p.startswith("/api/v1/valuation-records")]
    engine = [p for p in spec["paths"] if p.startswith("/api/v1/valuation/")]
    assert records == ["/api/v1/valuation-records"] and len(engine) >= 10


def test_the_deprecated_alias_still_records_a_valuation(api) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.api.builders import BANK_A, valuation, vin

    api.register(61)
    api.mortgage(61)  # records a valuation through POST /valuation-records
    api.register_model(BANK_A)
    body = valuation(61, value="140000.00", valuation_id="VAL-ALIAS-61")
    recorded = api.ok(api.post(BANK_A, "/valuations", json=body), 201)
    assert recorded["validation_code"] == "VALID"
    latest = api.ok(api.get(BANK_A, f"/vehicles/{vin(61)}/valuations/latest"))
    assert latest["value"] == "140000.00"
