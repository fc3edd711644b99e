"""Fixtures for the gateway API tests: a gateway per test with its own data dir."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ALL_ORGS, Settings
from app.users.enrolment import EmbeddedEnroller
from app.users.provision import demo_password, ensure_standard_users
from app.users.store import UserStore


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "gateway", token_secret="test-secret-" + "x" * 20)


@pytest.fixture(scope="session")
def users_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard users of every org, hashed once per session (scrypt is slow on purpose)."""
    path = tmp_path_factory.mktemp("users") / "users.sqlite"
    store = UserStore(path)
    ensure_standard_users(store, EmbeddedEnroller(path.parent / "ledger"), list(ALL_ORGS))
    store.close()
    return path


@pytest.fixture
def make_client(tmp_path: Path, users_template: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(settings: Settings | None = None, **kwargs: Any) -> TestClient:
        settings = settings or Settings(data_dir=tmp_path / "gateway")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.users_db.exists():
            shutil.copyfile(users_template, settings.users_db)
        app = create_app(settings, **kwargs)
        ensure_standard_users(app.state.gw.users, app.state.gw.enroller, settings.orgs)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def login(client: TestClient, qualified: str) -> dict[str, str]:
    """Authorization header for a standard demo user (``name@MSP``)."""
    username, _, msp_id = qualified.partition("@")
    response = client.post(
        "/api/v1/auth/token", data={"username": qualified, "password": demo_password(msp_id, username)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def api(make_client: Callable[..., TestClient], tmp_path: Path):  # type: ignore[no-untyped-def]
    """A gateway on its own embedded ledger (all orgs), as an :class:`Api` helper."""
    from tests.unit.api.builders import Api

    return Api(make_client(Settings(data_dir=tmp_path / "gw", token_secret="t" * 32)))
