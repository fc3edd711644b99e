"""Risk API: who may train, promote, score, read and monitor (every role x every route), promotion
is explicit, training limits, serving missing fields and unseen levels, early-warning alerts."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.api.deps import AuthUser, current_user
from app.api.errors import install_error_handlers
from app.api.routers import risk as risk_router
from app.api.routers.risk import get_registry, router, scorecard_name
from app.api.routers.valuation import get_valuation_service
from app.risk.books import BookShape, book_csv, generate_book
from app.risk.scoring import ScorecardService, TrainingLimits
from app.users.roles import ROLES_BY_ORG, Role
from app.users.store import User
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService

from .conftest import APPLICATION, TrainedCard

START = date(2024, 6, 1)
BANKS = ("BankAMSP", "BankBMSP")
EVERY_USER = sorted((org, role) for org, roles in ROLES_BY_ORG.items() for role in roles)


@pytest.fixture(scope="module")
def root(card: TrainedCard, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both banks hold the session card as version 1, promoted."""
    root = tmp_path_factory.mktemp("risk-api")
    for bank in BANKS:
        service = ScorecardService(ModelRegistry(root), scorecard_name(bank))
        service.register(card.result, "test")
        service.promote(1, "setup", "initial")
    return root


@pytest.fixture(scope="module")
def client(root: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router, prefix="/api/v1")
    valuations = ValuationService(ModelRegistry(tmp_path_factory.mktemp("empty")))  # no valuation model

    async def user_from_header(request: Request) -> AuthUser:
        org, _, role = request.headers["x-test-user"].partition("/")
        return AuthUser(User(org, f"u-{role}", Role(role), True, None, False))

    app.dependency_overrides[current_user] = user_from_header
    app.dependency_overrides[get_registry] = lambda: ModelRegistry(root)
    app.dependency_overrides[get_valuation_service] = lambda: valuations
    return TestClient(app)


def as_(org: str, role: Role | str) -> dict[str, str]:
    return {"x-test-user": f"{org}/{Role(role).value}"}


def _loan(**extra: object) -> dict[str, object]:
    return {
        "loan_id": "LN1",
        "vin": "LSVAB2180E2100001",
        "permitted_region": {"lat": 30.27, "lon": 120.15, "radius_km": 250},
        **extra,
    }


def _monitor_csv(card: TrainedCard) -> bytes:
    return book_csv(card.frame.head(200))


def _is_bank(*roles: Role) -> Callable[[str, Role], bool]:
    return lambda org, role: org in BANKS and role in roles


READ = _is_bank(Role.model_admin, Role.auditor)


def _reader(org: str, role: Role) -> bool:
    return READ(org, role) or org == "RegulatorMSP"


# route -> (who may, how to call it); an allowed caller gets 200 here, or 400 where the body is
# deliberately invalid (body checks run only after the access rule, so 400 proves access).
ROUTES: dict[str, tuple[Callable[[str, Role], bool], int]] = {
    "score": (_is_bank(Role.loan_officer, Role.model_admin, Role.auditor), 200),
    "train_csv": (_is_bank(Role.model_admin), 400),
    "train_synthetic": (_is_bank(Role.model_admin), 400),
    "promote": (_is_bank(Role.model_admin), 200),
    "promotions": (_reader, 200),
    "models": (_reader, 200),
    "model": (_reader, 200),
    "report": (_reader, 200),
    "monitor": (READ, 200),
    "alerts": (_is_bank(Role.loan_officer, Role.model_admin, Role.auditor), 200),
    "simulate": (_is_bank(Role.model_admin), 200),
}


def _call(client: TestClient, card: TrainedCard, route: str, org: str, role: Role):  # type: ignore[no-untyped-def]
    h = as_(org, role)
    q = "?bank=BankAMSP" if org == "RegulatorMSP" else ""
    base = "/api/v1/risk"
    if route == "score":
        return client.post(f"{base}/score", json={"application": APPLICATION}, headers=h)
    if route == "train_csv":  # no spec: 400 for an allowed caller
        return client.post(f"{base}/scorecard/train", files={"file": ("b.csv", b"a,b\n1,2\n")}, headers=h)
    if route == "train_synthetic":
        return client.post(f"{base}/scorecard/train/synthetic", json={"loans": 10}, headers=h)
    if route == "promote":
        return client.post(f"{base}/scorecard/promote", json={"version": 1, "reason": "matrix"}, headers=h)
    if route == "promotions":
        return client.get(f"{base}/scorecard/promotions{q}", headers=h)
    if route == "models":
        return client.get(f"{base}/scorecard/models{q}", headers=h)
    if route == "model":
        return client.get(f"{base}/scorecard/models/1{q}", headers=h)
    if route == "report":
        return client.get(f"{base}/scorecard/models/1/report{q}", headers=h)
    if route == "monitor":
        return client.post(
            f"{base}/scorecard/monitor", files={"file": ("a.csv", _monitor_csv(card))}, headers=h
        )
    if route == "alerts":
        body = {
            "loan": _loan(outstanding_balance=90_000, vehicle_value=70_000),
            "start": str(START),
            "as_of": str(START + timedelta(days=5)),
        }
        return client.post(f"{base}/alerts", json=body, headers=h)
    if route == "simulate":
        return client.post(
            f"{base}/portfolio/simulate", json={"loans": 50, "days": 60, "anomaly": False}, headers=h
        )
    raise AssertionError(route)


def test_every_role_on_every_route(client: TestClient, card: TrainedCard, root: Path) -> None:
    assert all(isinstance(r, APIRoute) for r in router.routes)
    assert {r.path for r in router.routes if isinstance(r, APIRoute)} == {  # a new route must join the matrix
        "/risk/score",
        "/risk/scorecard/train",
        "/risk/scorecard/train/synthetic",
        "/risk/scorecard/promote",
        "/risk/scorecard/promotions",
        "/risk/scorecard/models",
        "/risk/scorecard/models/{version}",
        "/risk/scorecard/models/{version}/report",
        "/risk/scorecard/monitor",
        "/risk/alerts",
        "/risk/portfolio/simulate",
    }
    before = {b: ScorecardService(ModelRegistry(root), scorecard_name(b)) for b in BANKS}
    promotions_before = {b: len(s.promotions()) for b, s in before.items()}
    wrong = []
    allowed_promotions = dict.fromkeys(BANKS, 0)
    for org, role in EVERY_USER:
        for route, (may, ok_status) in ROUTES.items():
            response = _call(client, card, route, org, role)
            expected = ok_status if may(org, role) else 403
            if response.status_code != expected:
                wrong.append((org, role.value, route, response.status_code, expected, response.text[:160]))
            if route == "promote" and may(org, role):
                allowed_promotions[org] += 1
    assert not wrong, wrong
    for bank, service in before.items():  # refused calls changed nothing
        assert service.registry.versions(service.name) == [1]
        assert len(service.promotions()) == promotions_before[bank] + allowed_promotions[bank]


def test_a_bank_reads_only_its_own_cards_and_regulator_names_the_bank(client: TestClient) -> None:
    r = client.get("/api/v1/risk/scorecard/models?bank=BankAMSP", headers=as_("BankBMSP", Role.auditor))
    assert r.status_code == 403
    r = client.get("/api/v1/risk/scorecard/models", headers=as_("RegulatorMSP", Role.regulator))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "bank"


def test_training_never_promotes_and_promotion_is_explicit(client: TestClient, root: Path) -> None:
    frame, raw = generate_book(BookShape(600, 0.3, vehicle=True, seed=31))
    spec = {**raw, "cv": {"folds": 3, "repeats": 1}, "challengers": {"enabled": False}}
    h = as_("BankBMSP", Role.model_admin)
    r = client.post(
        "/api/v1/risk/scorecard/train",
        files={"file": ("book.csv", book_csv(frame))},
        data={"spec": json.dumps(spec)},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["ref"] == "application-scorecard-bankb@2" and body["promoted"] is False
    assert set(body["exclusions"]["protected"]) == {"sex", "marital_status"}
    officer = as_("BankBMSP", Role.loan_officer)
    scored = client.post("/api/v1/risk/score", json={"application": APPLICATION}, headers=officer)
    assert scored.json()["model"]["version"] == 1  # the newest does not win
    models = client.get("/api/v1/risk/scorecard/models", headers=h).json()
    assert [(m["version"], m["promoted"]) for m in models] == [(1, True), (2, False)]
    # a loan officer may not choose a version; the model administrator may evaluate one
    r = client.post(
        "/api/v1/risk/score",
        json={"application": APPLICATION, "model": "application-scorecard-bankb@2"},
        headers=officer,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/risk/score",
        json={"application": APPLICATION, "model": "application-scorecard-bankb@2"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["model"]["version"] == 2
    r = client.post(
        "/api/v1/risk/scorecard/promote", json={"version": 2, "reason": "committee 2024-07"}, headers=h
    )
    assert r.status_code == 200 and r.json()["by"] == "BankBMSP/u-model_admin"
    assert (
        client.post("/api/v1/risk/score", json={"application": APPLICATION}, headers=officer).json()["model"][
            "version"
        ]
        == 2
    )
    other = client.post(
        "/api/v1/risk/score", json={"application": APPLICATION}, headers=as_("BankAMSP", Role.loan_officer)
    )
    assert other.json()["model"]["ref"] == "application-scorecard-banka@1"  # BankA untouched
    assert client.post("/api/v1/risk/scorecard/promote", json={"version": 9}, headers=h).status_code == 404
    report = client.get("/api/v1/risk/scorecard/models/2/report", headers=h)
    assert report.status_code == 200 and "<svg" in report.text and "Master scale" in report.text


@pytest.mark.parametrize(
    ("spec_extra", "field"),
    [
        ({"challengers": {"lightgbm_max_rounds": 5000}}, "spec.challengers.lightgbm_max_rounds"),
        ({"cv": {"folds": 10, "repeats": 10}}, "spec.cv"),
        ({"cv": {"folds": 50}}, "spec.cv.folds"),
    ],
)
def test_training_limits_name_the_field(client: TestClient, spec_extra: dict, field: str) -> None:
    frame, raw = generate_book(BookShape(300, 0.3, seed=2))
    r = client.post(
        "/api/v1/risk/scorecard/train",
        files={"file": ("b.csv", book_csv(frame))},
        data={"spec": json.dumps({**raw, **spec_extra})},
        headers=as_("BankAMSP", Role.model_admin),
    )
    assert r.status_code == 400, r.text
    assert field in [d["field"] for d in r.json()["error"]["details"]]


def test_row_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(risk_router, "API_LIMITS", TrainingLimits(max_rows=500))
    frame, raw = generate_book(BookShape(600, 0.3, seed=2))
    r = client.post(
        "/api/v1/risk/scorecard/train",
        files={"file": ("b.csv", book_csv(frame))},
        data={"spec": json.dumps(raw)},
        headers=as_("BankAMSP", Role.model_admin),
    )
    assert r.status_code == 400 and "600 loans; the limit is 500" in r.text
    r = client.post(
        "/api/v1/risk/scorecard/train/synthetic",
        json={"loans": 50_000},
        headers=as_("BankAMSP", Role.model_admin),
    )
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "loans"


def test_score_missing_fields_unseen_levels_and_impossible_values(client: TestClient) -> None:
    h = as_("BankAMSP", Role.loan_officer)
    partial = {k: v for k, v in APPLICATION.items() if k not in ("monthly_income", "checking_account")}
    r = client.post(
        "/api/v1/risk/score",
        json={"application": {**partial, "home_ownership": "HOUSEBOAT", "favourite_colour": "blue"}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"monthly_income", "checking_account"} <= set(body["missing"]) and "favourite_colour" in body[
        "ignored"
    ]
    assert not set(body["ignored"]) & set(body["missing"])
    assert 0 < body["pd"] < 1 and body["band"] and body["reasons"]
    assert {"variable", "value", "bin", "points", "points_below_best"} <= set(body["reasons"][0])
    r = client.post(
        "/api/v1/risk/score", json={"application": {**APPLICATION, "monthly_income": "plenty"}}, headers=h
    )
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "application.monthly_income"
    r = client.post("/api/v1/risk/score", json={"application": {**APPLICATION, "age": 7}}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "application.age"


def test_monitor_json_and_prometheus(client: TestClient, card: TrainedCard) -> None:
    h = as_("BankAMSP", Role.model_admin)
    r = client.post(
        "/api/v1/risk/scorecard/monitor", files={"file": ("a.csv", book_csv(card.frame))}, headers=h
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score_psi"]["psi"] < 0.1 and all(v["psi"] < 0.1 for v in body["psi"].values())
    assert body["backtest"] and body["backtest_overall"]["auc"] > 0.6
    r = client.post(
        "/api/v1/risk/scorecard/monitor",
        files={"file": ("a.csv", book_csv(card.frame))},
        data={"format": "prometheus"},
        headers=h,
    )
    assert r.status_code == 200 and "mledger_risk_psi{" in r.text and "mledger_risk_backtest_loans{" in r.text


def test_alerts_from_daily_telematics(client: TestClient) -> None:
    days = [
        {"day": str(START + timedelta(days=i)), "km": 40, "max_dist_km": 600 if i >= 10 else 20}
        for i in range(20)
    ]
    body = {
        "loan": _loan(outstanding_balance=90_000, vehicle_value=70_000),
        "start": str(START),
        "as_of": str(START + timedelta(days=19)),
        "telematics": days,
        "insurance_events": [{"day": str(START + timedelta(days=2)), "kind": "lapse"}],
    }
    response = client.post("/api/v1/risk/alerts", json=body, headers=as_("BankAMSP", Role.loan_officer))
    assert response.status_code == 200, response.text
    got = {(a["rule"], a["severity"]) for a in response.json()["alerts"]}
    assert {
        ("geofence_exit", "medium"),
        ("geofence_exit", "high"),
        ("insurance_lapse", "high"),
        ("ltv_breach", "high"),
    } <= got
    assert response.json()["event_name"] == "RiskAlert"


def test_alerts_bad_dates_are_400(client: TestClient) -> None:
    body = {"loan": _loan(), "start": str(START), "as_of": "2999-01-01"}
    response = client.post("/api/v1/risk/alerts", json=body, headers=as_("BankAMSP", Role.loan_officer))
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "as_of"


def test_spec_that_is_neither_json_nor_yaml_names_the_field(client: TestClient) -> None:
    r = client.post(
        "/api/v1/risk/scorecard/train",
        files={"file": ("b.csv", io.BytesIO(b"x\n"))},
        data={"spec": "{not json"},
        headers=as_("BankAMSP", Role.model_admin),
    )
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "spec"
