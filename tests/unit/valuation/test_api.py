from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.valuation.registry import ModelRegistry
from app.valuation.router import get_valuation_service, router
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market, market_to_csv

from .conftest import VEHICLE, Trained


@pytest.fixture(scope="module")
def client(trained: Trained) -> TestClient:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    service = ValuationService(ModelRegistry(trained.root))
    app.dependency_overrides[get_valuation_service] = lambda: service
    return TestClient(app)


def _errors(response) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    return response.json()["error"]["details"]


def test_value_then_reproduce(client: TestClient) -> None:
    response = client.post("/api/v1/valuation/value", json={"vehicle": VEHICLE})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["ref"].startswith("residual-value@")
    assert body["interval"]["low"] < body["value"] < body["interval"]["high"]
    assert body["contributions"] is None
    again = client.post(
        "/api/v1/valuation/reproduce",
        json={"model": body["model"]["ref"], "inputs": body["inputs"], "input_hash": body["input_hash"],
              "value": body["value"]},
    )  # fmt: skip
    assert again.status_code == 200 and again.json()["match"] is True


def test_explain_returns_contributions(client: TestClient) -> None:
    body = client.post("/api/v1/valuation/explain", json={"vehicle": VEHICLE}).json()
    assert {c["feature"] for c in body["contributions"]} >= {"age_months", "mileage_km", "condition_grade"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"make": "Lada"}, "make"),
        ({"mileage_km": -1}, "vehicle.mileage_km"),
        ({"valuation_date": "2999-01-01"}, "valuation_date"),
        ({"condition_grade": 9}, "vehicle.condition_grade"),
        ({"colour": "red"}, "vehicle.colour"),
    ],
)
def test_bad_input_is_400_naming_the_field(client: TestClient, change: dict[str, object], field: str) -> None:
    errors = _errors(client.post("/api/v1/valuation/value", json={"vehicle": {**VEHICLE, **change}}))
    assert field in [e["field"] for e in errors]


def test_nan_is_refused(client: TestClient) -> None:
    raw = json.dumps({"vehicle": VEHICLE}).replace('"mileage_km": 52000', '"mileage_km": NaN')
    errors = _errors(
        client.post("/api/v1/valuation/value", content=raw, headers={"content-type": "application/json"})
    )
    assert errors[0]["field"] == "vehicle.mileage_km"


def test_unknown_model_version_is_404(client: TestClient) -> None:
    response = client.post(
        "/api/v1/valuation/value", json={"vehicle": VEHICLE, "model": "residual-value@999"}
    )
    assert response.status_code == 404


def test_train_from_uploaded_csv_with_mapping(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = FastAPI()
    app.include_router(router)
    service = ValuationService(ModelRegistry(tmp_path))
    app.dependency_overrides[get_valuation_service] = lambda: service
    api = TestClient(app)
    csv = market_to_csv(generate_market(1500, seed=4)).replace("mileage_km", "odo", 1)
    response = api.post(
        "/valuation/train",
        files={"file": ("sales.csv", csv, "text/csv")},
        data={"mapping": json.dumps({"mileage_km": "odo"}), "num_boost_round": "100"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["ref"] == "residual-value@1" and len(body["training_data_sha256"]) == 64
    assert body["metrics"]["mape"] < body["baseline_metrics"]["mape"]
    bad = api.post("/valuation/train", files={"file": ("s.csv", csv.replace(",odo,", ",km,", 1), "text/csv")})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "mileage_km"
    assert [m["ref"] for m in api.get("/valuation/models").json()] == ["residual-value@1"]


def test_mileage_endpoint_flags_rollback(client: TestClient) -> None:
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


def test_errors_keep_their_shape_when_mounted_like_the_gateway(trained: Trained) -> None:
    from fastapi import APIRouter, Depends
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.exception_handler(RequestValidationError)  # the gateway has app-wide handlers too
    async def _other(_request, _exc):  # type: ignore[no-untyped-def]
        return JSONResponse(status_code=422, content={"unexpected": True})

    api = APIRouter(prefix="/api/v1")
    api.include_router(router, dependencies=[Depends(lambda: None)])
    app.include_router(api)
    service = ValuationService(ModelRegistry(trained.root))
    app.dependency_overrides[get_valuation_service] = lambda: service
    response = TestClient(app).post(
        "/api/v1/valuation/value", json={"vehicle": {**VEHICLE, "mileage_km": -3}}
    )
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "bad_request" and body["details"][0]["field"] == "vehicle.mileage_km"
    missing = TestClient(app).post("/api/v1/valuation/value", json={"vehicle": VEHICLE, "model": "nope@4"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_evaluate_uploaded_sales(client: TestClient) -> None:
    csv = market_to_csv(generate_market(600, seed=77))
    response = client.post("/api/v1/valuation/evaluate", files={"file": ("new.csv", csv, "text/csv")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metrics"]["n"] == 600 and body["metrics"]["mape"] < body["baseline_metrics"]["mape"]
    assert len(body["data_sha256"]) == 64
