from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.risk.router import get_scorecard_service, router
from app.risk.scoring import ScorecardService
from app.valuation.registry import ModelRegistry
from app.valuation.router import get_valuation_service
from app.valuation.service import ValuationService

from .conftest import APPLICATION, TrainedCard

START = date(2024, 6, 1)


@pytest.fixture(scope="module")
def client(card: TrainedCard, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    scorecards = ScorecardService(ModelRegistry(card.root))
    valuations = ValuationService(ModelRegistry(tmp_path_factory.mktemp("empty")))  # no valuation model
    app.dependency_overrides[get_scorecard_service] = lambda: scorecards
    app.dependency_overrides[get_valuation_service] = lambda: valuations
    return TestClient(app)


def _loan(**extra: object) -> dict[str, object]:
    return {"loan_id": "LN1", "vin": "LSVAB2180E2100001",
            "permitted_region": {"lat": 30.27, "lon": 120.15, "radius_km": 250}, **extra}  # fmt: skip


def test_score(client: TestClient, card: TrainedCard) -> None:
    response = client.post("/api/v1/risk/score", json={"application": APPLICATION})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["ref"] == card.registered.ref and 0 < body["pd"] < 1 and body["band"] in "ABCDE"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ltv": -1}, "application.ltv"),
        ({"age_years": 12}, "application.age_years"),
        ({"extra": 1}, "application.extra"),
    ],
)
def test_score_bad_input_is_400(client: TestClient, change: dict[str, object], field: str) -> None:
    response = client.post("/api/v1/risk/score", json={"application": {**APPLICATION, **change}})
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["error"]["details"]]


def test_alerts_from_daily_telematics(client: TestClient) -> None:
    days = [{"day": str(START + timedelta(days=i)), "km": 40, "max_dist_km": 600 if i >= 10 else 20}
            for i in range(20)]  # fmt: skip
    body = {"loan": _loan(outstanding_balance=90_000, vehicle_value=70_000), "start": str(START),
            "as_of": str(START + timedelta(days=19)), "telematics": days,
            "insurance_events": [{"day": str(START + timedelta(days=2)), "kind": "lapse"}]}  # fmt: skip
    response = client.post("/api/v1/risk/alerts", json=body)
    assert response.status_code == 200, response.text
    got = {(a["rule"], a["severity"]) for a in response.json()["alerts"]}
    assert {("geofence_exit", "medium"), ("geofence_exit", "high"), ("insurance_lapse", "high"),
            ("ltv_breach", "high")} <= got  # fmt: skip
    alert = response.json()["alerts"][0]
    assert alert["schema"] == "mledger.risk.alert/v1" and response.json()["event_name"] == "RiskAlert"


def test_alerts_from_raw_gps(client: TestClient) -> None:
    fixes = [
        {"ts": f"{START + timedelta(days=i)}T12:00:00+08:00", "lat": 39.9, "lon": 116.4} for i in range(6)
    ]
    body = {"loan": _loan(), "start": str(START), "as_of": str(START + timedelta(days=5)), "gps": fixes}
    response = client.post("/api/v1/risk/alerts", json=body)
    assert response.status_code == 200, response.text
    assert ("geofence_exit", "high") in {(a["rule"], a["severity"]) for a in response.json()["alerts"]}
    assert "ltv_breach" not in response.json()["rules_evaluated"]


def test_alerts_bad_dates_and_missing_valuation_model(client: TestClient) -> None:
    body = {"loan": _loan(), "start": str(START), "as_of": "2999-01-01"}
    response = client.post("/api/v1/risk/alerts", json=body)
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "as_of"
    late = {"loan": _loan(), "start": str(START), "as_of": str(START + timedelta(days=3)),
            "telematics": [{"day": str(START + timedelta(days=9)), "km": 1}]}  # fmt: skip
    response = client.post("/api/v1/risk/alerts", json=late)
    assert (
        response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "telematics[0].day"
    )
    vehicle = {"make": "Toyota", "model": "Camry", "trim": "2.0G", "powertrain": "petrol",
               "transmission": "automatic", "first_registration": "2022-01-01", "mileage_km": 1000,
               "region": "HZ",
               "repair_cost_recent_3m": 0, "repair_cost_older": 0, "claims_count": 0, "accident_severity": 0,
               "condition_grade": 4, "new_price": 180_000}  # fmt: skip
    body = {"loan": _loan(outstanding_balance=1, vehicle=vehicle), "start": str(START), "as_of": str(START)}
    assert client.post("/api/v1/risk/alerts", json=body).status_code == 404


def test_simulate_small_portfolio(client: TestClient) -> None:
    response = client.post(
        "/api/v1/risk/portfolio/simulate", json={"loans": 100, "days": 90, "anomaly": False}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["loans"] == 100 and 0 <= body["false_alarm_rate"] <= 1
    assert "LTV rule skipped: no valuation model" in body["notes"]
