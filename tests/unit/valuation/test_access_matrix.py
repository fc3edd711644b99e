"""Issue 12 finding 4: every role of every org × every valuation route, on the real gateway app.

Only a bank's model administrator trains, retrains, evaluates and promotes (its own bank's model);
a bank's loan officers and model administrators value with their bank's champion; the regulator
and auditors reproduce and list; nobody else touches the models, and a refused call registers
nothing. Anonymous calls are 401.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.routers.valuation import get_valuation_service
from app.main import create_app
from app.settings import ALL_ORGS, Settings
from app.users.roles import ROLES_BY_ORG, Role
from app.users.tokens import issue_token
from app.valuation.dataset import read_sales
from app.valuation.lender_shapes import lender_sales, to_csv
from app.valuation.model import TrainConfig
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService

CAR = {
    "make": "Toyota",
    "model": "TOY2",
    "body_type": "suv",
    "age_months": 40,
    "mileage_km": 52_000,
    "valuation_date": "2025-06-01",
}
CSV = to_csv(lender_sales("no_list_price", 40, seed=5))
FAST = {"num_boost_round": "50"}


def _reproduce_body(service: ValuationService) -> dict[str, Any]:
    recorded = service.value_inputs(CAR, "residual-value-banka")
    return {
        "model": recorded.model.ref,
        "inputs": recorded.inputs,
        "input_hash": recorded.input_hash,
        "value": recorded.value,
    }


Route = tuple[str, str, Callable[[ValuationService], dict[str, Any]]]
ROUTES: list[Route] = [
    ("POST", "/api/v1/valuation/value", lambda s: {"json": {"vehicle": CAR}}),
    ("POST", "/api/v1/valuation/explain", lambda s: {"json": {"vehicle": CAR}}),
    ("POST", "/api/v1/valuation/forecast", lambda s: {"json": {"vehicle": CAR, "months": 12}}),
    ("POST", "/api/v1/valuation/reproduce", lambda s: {"json": _reproduce_body(s)}),
    ("GET", "/api/v1/valuation/models", lambda s: {}),
    ("POST", "/api/v1/valuation/mileage", lambda s: {"json": {"as_of": "2024-07-01T00:00:00Z"}}),
    (
        "POST",
        "/api/v1/valuation/train",
        lambda s: {"files": {"file": ("s.csv", CSV, "text/csv")}, "data": FAST},
    ),
    (
        "POST",
        "/api/v1/valuation/retrain",
        lambda s: {"files": {"file": ("s.csv", CSV, "text/csv")}, "data": FAST},
    ),
    ("POST", "/api/v1/valuation/train/synthetic", lambda s: {"json": {"rows": 40, "num_boost_round": 50}}),
    ("POST", "/api/v1/valuation/evaluate", lambda s: {"files": {"file": ("s.csv", CSV, "text/csv")}}),
    ("POST", "/api/v1/valuation/models/promote", lambda s: {"json": {"version": 1}}),
]
BANKS = ("BankAMSP", "BankBMSP")


def expected(msp: str, role: Role, path: str) -> int:
    """The access rules, written out independently of app/valuation/access.py."""
    bank = msp in BANKS
    oversight = msp == "RegulatorMSP" or role is Role.auditor
    if role is Role.scanner:
        return 403
    action = path.removeprefix("/api/v1/valuation/")
    if action == "mileage":
        ok = True
    elif action == "models":
        ok = bank or oversight
    elif action == "reproduce":  # the body names Bank A's model
        ok = msp == "BankAMSP" or oversight
    elif action in ("value", "explain", "forecast"):
        ok = bank and role in (Role.loan_officer, Role.model_admin)
    else:
        ok = bank and role is Role.model_admin
    return 200 if ok else 403


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Settings, ValuationService]]:
    data = tmp_path_factory.mktemp("gw")
    settings = Settings(data_dir=Path(data), token_secret="m" * 32)
    app = create_app(settings)
    service = ValuationService(ModelRegistry(Path(data) / "models"))
    app.dependency_overrides[get_valuation_service] = lambda: service
    for seed, short in ((11, "banka"), (12, "bankb")):
        sales = read_sales(to_csv(lender_sales("no_list_price", 60, seed=seed)))
        service.train_and_register(
            sales, None, TrainConfig(num_boost_round=50), name=f"residual-value-{short}"
        )
    with TestClient(app) as client:
        for msp in ALL_ORGS:
            for role in ROLES_BY_ORG[msp]:
                app.state.gw.users.add(msp, f"m-{role.value}".replace("_", "-"), role, "matrix-password-1")
        yield client, settings, service


def _token(settings: Settings, msp: str, role: Role) -> dict[str, str]:
    user = f"m-{role.value}".replace("_", "-")
    return {
        "Authorization": f"Bearer {issue_token(settings.signing_secret, f'{msp}/{user}', role.value, 600)}"
    }


CELLS = [(msp, role) for msp in ALL_ORGS for role in sorted(ROLES_BY_ORG[msp])]


def test_every_role_on_every_valuation_route(gateway) -> None:  # type: ignore[no-untyped-def]
    client, settings, service = gateway
    registry = service.registry
    mismatches = []
    for msp, role in CELLS:
        headers = _token(settings, msp, role)
        for method, path, body in ROUTES:
            before = {
                b: (registry.versions(f"residual-value-{s}"), registry.champion(f"residual-value-{s}"))
                for b, s in (("A", "banka"), ("B", "bankb"))
            }
            response = client.request(method, path, headers=headers, **body(service))
            want = expected(msp, role, path)
            if response.status_code != want:
                mismatches.append((msp, role.value, path, response.status_code, response.text[:200]))
            if want == 403:
                after = {
                    b: (registry.versions(f"residual-value-{s}"), registry.champion(f"residual-value-{s}"))
                    for b, s in (("A", "banka"), ("B", "bankb"))
                }
                assert after == before, (msp, role, path)  # a refused call changes nothing
                assert response.json()["error"]["code"] == "forbidden"
    assert not mismatches, mismatches


def test_anonymous_and_forged_callers_get_401(gateway) -> None:  # type: ignore[no-untyped-def]
    client, _, service = gateway
    for method, path, body in ROUTES:
        assert client.request(method, path, **body(service)).status_code == 401, path
    forged = {
        "Authorization": f"Bearer {issue_token(b'x' * 32, 'BankAMSP/m-model-admin', 'model_admin', 600)}"
    }
    assert (
        client.post("/api/v1/valuation/models/promote", json={"version": 1}, headers=forged).status_code
        == 401
    )


def test_a_dealer_file_cannot_move_a_banks_valuation(gateway) -> None:  # type: ignore[no-untyped-def]
    """The issue's attack: a dealer's doctored sales file became the bank's default model."""
    client, settings, _ = gateway
    officer = _token(settings, "BankAMSP", Role.loan_officer)
    before = client.post("/api/v1/valuation/value", json={"vehicle": CAR}, headers=officer).json()
    doctored = lender_sales("no_list_price", 60, seed=9)
    doctored["price"] = doctored["price"] * 0.4
    for msp, role in (
        ("DealerMSP", Role.dealer),
        ("RegulatorMSP", Role.regulator),
        ("BankAMSP", Role.auditor),
        ("BankBMSP", Role.model_admin),
    ):
        response = client.post(
            "/api/v1/valuation/train",
            headers=_token(settings, msp, role),
            files={"file": ("d.csv", to_csv(doctored), "text/csv")},
            data=FAST,
        )
        assert response.status_code == 403 or (
            msp == "BankBMSP" and response.json()["model"]["name"].endswith("bankb")
        )
    after = client.post("/api/v1/valuation/value", json={"vehicle": CAR}, headers=officer).json()
    assert after["value"] == before["value"] and after["model"] == before["model"]
