"""The valuation routes: bank-scoped models, explicit promotion, limits, errors in the gateway's shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.deps import AuthUser, current_user
from app.api.routers import valuation as router_module
from app.api.routers.valuation import get_valuation_service, router
from app.users.roles import Role
from app.users.store import User
from app.valuation.lender_shapes import lender_sales, to_csv
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService

CAR = {
    "make": "Toyota",
    "model": "TOY2",
    "body_type": "suv",
    "first_registration": "2021-05-12",
    "valuation_date": "2025-06-01",
    "mileage_km": 52_000,
}


class Caller:
    def __init__(self) -> None:
        self.user = User("BankAMSP", "admin-ml", Role.model_admin, True, None, False)

    def as_(self, msp: str, role: Role) -> None:
        self.user = User(msp, f"{role.value}1", role, True, None, False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Caller, Path]]:
    root = tmp_path_factory.mktemp("bank-models")
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    service = ValuationService(ModelRegistry(root))
    caller = Caller()
    app.dependency_overrides[get_valuation_service] = lambda: service
    app.dependency_overrides[current_user] = lambda: AuthUser(caller.user)
    client = TestClient(app)
    csv = to_csv(lender_sales("no_list_price", 150, seed=21))
    response = client.post(
        "/api/v1/valuation/train",
        files={"file": ("sales.csv", csv, "text/csv")},
        data={"num_boost_round": "200"},
    )
    assert response.status_code == 200, response.text
    yield client, caller, root


def _errors(response) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    return response.json()["error"]["details"]


def test_first_training_is_the_champion_and_later_ones_need_an_explicit_promotion(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankAMSP", Role.model_admin)
    models = client.get("/api/v1/valuation/models").json()
    assert [(m["ref"], m["champion"]) for m in models] == [("residual-value-banka@1", True)]
    csv = to_csv(lender_sales("no_list_price", 120, seed=22))
    second = client.post(
        "/api/v1/valuation/train", files={"file": ("s.csv", csv, "text/csv")}, data={"num_boost_round": "200"}
    ).json()
    assert second["model"]["ref"] == "residual-value-banka@2"
    assert (
        second["promoted"] is False and second["champion"] == "residual-value-banka@1"
    )  # newest does not win
    caller.as_("BankAMSP", Role.loan_officer)
    assert client.post("/api/v1/valuation/value", json={"vehicle": CAR}).json()["model"]["ref"].endswith("@1")
    caller.as_("BankAMSP", Role.model_admin)
    promoted = client.post("/api/v1/valuation/models/promote", json={"version": 2, "reason": "reviewed"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["previous"] == "residual-value-banka@1"
    caller.as_("BankAMSP", Role.loan_officer)
    assert client.post("/api/v1/valuation/value", json={"vehicle": CAR}).json()["model"]["ref"].endswith("@2")
    caller.as_("BankAMSP", Role.model_admin)
    client.post("/api/v1/valuation/models/promote", json={"version": 1})
    assert client.post("/api/v1/valuation/models/promote", json={"version": 9}).status_code == 404


def test_value_explain_reproduce_and_forecast(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankAMSP", Role.loan_officer)
    body = client.post("/api/v1/valuation/value", json={"vehicle": CAR}).json()
    assert body["interval"]["low"] < body["value"] < body["interval"]["high"]
    explained = client.post("/api/v1/valuation/explain", json={"vehicle": CAR}).json()
    assert {c["feature"] for c in explained["contributions"]} >= {"age_months"}
    again = client.post(
        "/api/v1/valuation/reproduce",
        json={
            "model": body["model"]["ref"],
            "inputs": body["inputs"],
            "input_hash": body["input_hash"],
            "value": body["value"],
        },
    )
    assert again.status_code == 200 and again.json()["match"] is True
    fc = client.post(
        "/api/v1/valuation/forecast",
        json={
            "vehicle": CAR,
            "months": 24,
            "loan_balance": body["value"] * 0.9,
            "annual_rate": 0.06,
            "remaining_months": 36,
            "ltv_limit": 0.8,
        },
    )
    assert fc.status_code == 200, fc.text
    points = fc.json()["points"]
    assert len(points) == 25 and points[-1]["value"] < points[0]["value"]

    def rel(p: dict[str, float]) -> float:
        return (p["high"] - p["low"]) / p["value"]

    assert rel(points[-1]) > rel(points[0])  # uncertainty grows with the horizon
    assert fc.json()["first_breach"]["month"] == 0  # 0.9 of the value is over 0.8 on the low bound at once


def test_unseen_category_values_with_the_pooled_level(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankAMSP", Role.loan_officer)
    response = client.post(
        "/api/v1/valuation/value", json={"vehicle": {**CAR, "make": "Lada", "model": "Niva"}}
    )
    assert response.status_code == 200, response.text
    assert any("pooled level" in f for f in response.json()["flags"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mileage_km": -1}, "vehicle.mileage_km"),
        ({"valuation_date": "2999-01-01"}, "valuation_date"),
        ({"colour": "red"}, "colour"),
        ({"first_registration": None}, "first_registration"),
    ],
)
def test_bad_input_is_400_naming_the_field(setup, change: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankAMSP", Role.loan_officer)
    vehicle = {k: v for k, v in {**CAR, **change}.items() if v is not None}
    errors = _errors(client.post("/api/v1/valuation/value", json={"vehicle": vehicle}))
    assert field in [e["field"] for e in errors]


def test_nan_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankAMSP", Role.loan_officer)
    raw = json.dumps({"vehicle": CAR}).replace('"mileage_km": 52000', '"mileage_km": NaN')
    errors = _errors(
        client.post("/api/v1/valuation/value", content=raw, headers={"content-type": "application/json"})
    )
    assert errors[0]["field"] == "vehicle.mileage_km"


def test_another_banks_model_is_403_and_an_unknown_version_404(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankBMSP", Role.loan_officer)
    response = client.post(
        "/api/v1/valuation/value", json={"vehicle": CAR, "model": "residual-value-banka@1"}
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/valuation/value", json={"vehicle": CAR}).status_code == 404  # Bank B has none
    caller.as_("BankAMSP", Role.loan_officer)
    response = client.post(
        "/api/v1/valuation/value", json={"vehicle": CAR, "model": "residual-value-banka@999"}
    )
    assert response.status_code == 404


def test_training_limits(setup, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    client, caller, root = setup
    caller.as_("BankAMSP", Role.model_admin)
    before = sorted(p.name for p in (root / "residual-value-banka").iterdir())
    csv = to_csv(lender_sales("no_list_price", 60, seed=1))
    rounds = client.post(
        "/api/v1/valuation/train",
        files={"file": ("s.csv", csv, "text/csv")},
        data={"num_boost_round": "5000"},
    )
    assert _errors(rounds)[0]["field"] == "num_boost_round"
    synthetic = client.post("/api/v1/valuation/train/synthetic", json={"rows": 500_000})
    assert _errors(synthetic)[0]["field"] == "rows"
    monkeypatch.setattr(router_module, "MAX_TRAIN_ROWS", 50)
    rows = client.post("/api/v1/valuation/train", files={"file": ("s.csv", csv, "text/csv")})
    assert rows.status_code == 413 and rows.json()["error"]["details"][0]["field"] == "file"
    monkeypatch.setattr(router_module, "MAX_UPLOAD_BYTES", 1000)
    big = client.post("/api/v1/valuation/train", files={"file": ("s.csv", csv, "text/csv")})
    assert big.status_code == 413 and "byte limit" in big.json()["error"]["message"]
    huge = client.post(
        "/api/v1/valuation/value",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert sorted(p.name for p in (root / "residual-value-banka").iterdir()) == before  # nothing registered


def test_mileage_endpoint_flags_rollback(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("InsurerMSP", Role.underwriter)
    body = {
        "as_of": "2024-07-01T00:00:00Z",
        "readings": [
            {"ts": "2024-05-01T00:00:00Z", "km": 50000},
            {"ts": "2024-06-01T00:00:00+08:00", "km": 30000},
        ],
    }
    response = client.post("/api/v1/valuation/mileage", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["rollback_suspected"] is True
    naive = client.post("/api/v1/valuation/mileage", json={**body, "as_of": "2024-07-01T00:00:00"})
    assert _errors(naive)[0]["field"] == "as_of"


def test_evaluate_never_refuses_unseen_levels(setup) -> None:  # type: ignore[no-untyped-def]
    client, caller, _ = setup
    caller.as_("BankAMSP", Role.model_admin)
    frame = lender_sales("no_list_price", 80, seed=77)
    frame.loc[3, "model"] = "NEWMODEL"
    response = client.post(
        "/api/v1/valuation/evaluate", files={"file": ("new.csv", to_csv(frame), "text/csv")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metrics"]["n"] == 80 and body["fallbacks"]["model"] >= 1
