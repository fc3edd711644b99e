"""OIDC settings are checked at start-up: a misconfigured sign-on refuses to start, naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.main import create_app
from app.settings import Settings
from app.users.oidc import claim_at, config_from_settings, is_provider_token
from app.users.roles import Role
from app.users.tokens import issue_token


def _settings(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {
        "data_dir": tmp_path / "gw",
        "token_secret": "s" * 32,
        "orgs": ["BankAMSP"],
        "oidc_issuer": "https://idp.banka.example",
        "oidc_client_id": "gateway",
        "oidc_role_map": {"loan-officers": "loan_officer"},
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def test_off_without_an_issuer(tmp_path: Path) -> None:
    assert config_from_settings(Settings(data_dir=tmp_path)) is None


def test_defaults(tmp_path: Path) -> None:
    config = config_from_settings(_settings(tmp_path))
    assert config is not None
    assert config.audience == "gateway" and config.msp_id == "BankAMSP"
    assert config.role_map == {"loan-officers": Role.loan_officer}


def test_on_fabric_users_sign_as_the_orgs_standard_user_of_their_role(tmp_path: Path) -> None:
    config = config_from_settings(_settings(tmp_path, backend="fabric"))
    assert config is not None and config.signers is not None
    assert config.signers[Role.loan_officer] == "loan1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"oidc_role_map": {}}, "oidc_role_map: required"),
        ({"oidc_role_map": {"x": "pilot"}}, "oidc_role_map: 'pilot'"),
        ({"oidc_role_map": {"x": "registrar"}}, "role: 'registrar' is not a role of BankAMSP"),
        ({"orgs": ["BankAMSP", "BankBMSP"]}, "oidc_org: required"),
        ({"oidc_org": "InsurerMSP"}, "oidc_org: 'InsurerMSP' is not an org"),
        ({"oidc_client_id": None}, "oidc_audience: required"),
    ],
)
def test_misconfiguration_refuses_to_start(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(_settings(tmp_path, **overrides))


def test_routing_own_tokens_stay_local() -> None:
    own = issue_token(b"k" * 32, "BankAMSP/loan1", "loan_officer", 60)
    assert not is_provider_token(own)
    assert not is_provider_token("not-a-jwt")


def test_claim_paths() -> None:
    claims = {"realm_access": {"roles": ["a"]}, "roles": "x y"}
    assert claim_at(claims, "realm_access.roles") == ["a"]
    assert claim_at(claims, "roles") == "x y"
    assert claim_at(claims, "ext.roles") is None
