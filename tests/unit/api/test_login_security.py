"""Logins (issue 12, findings 6-8): lockout with backoff, uniform work for unknown users, hashing off
the event loop, Argon2id with scrypt re-hashing, demo users only in demo mode."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from pathlib import Path
from typing import Literal

import httpx
import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from app import cli
from app.main import create_app
from app.settings import Settings
from app.store.database import SqliteDatabase
from app.users import passwords
from app.users.provision import demo_password, ensure_standard_users
from app.users.roles import Role
from app.users.store import UserStore
from tests.unit.api.conftest import login

TOKEN = "/api/v1/auth/token"


def _form(user: str, password: str) -> dict[str, str]:
    return {"username": user, "password": password}


# --- finding 6: rate limit, lockout, backoff, uniform work ------------------------------------------


def _sqlite(store: object) -> SqliteDatabase:
    """The store's SQLite database (the embedded default), for statements a test makes by hand."""
    db = store._db  # type: ignore[attr-defined]
    assert isinstance(db, SqliteDatabase)
    return db


def test_account_locks_out_after_failures_and_refuses_even_the_right_password(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = make_client(Settings(data_dir=tmp_path / "gw", token_secret="l" * 32))
    right = demo_password("BankAMSP", "loan1")
    for _ in range(5):
        assert client.post(TOKEN, data=_form("loan1@BankAMSP", "wrong-guess-123")).status_code == 401
    locked = client.post(TOKEN, data=_form("loan1@BankAMSP", right))
    assert locked.status_code == 429, locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert "account" in locked.json()["error"]["message"]
    # another account from the same address is not locked by this account's failures
    assert (
        client.post(TOKEN, data=_form("loan1@BankBMSP", demo_password("BankBMSP", "loan1"))).status_code
        == 200
    )


def test_lockout_backs_off_from_seconds_to_an_hour(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path / "gw", token_secret="l" * 32, login_limits_per_account="2/second;4/hour"
    )
    client = make_client(settings)
    for _ in range(2):
        assert client.post(TOKEN, data=_form("dealer1@DealerMSP", "wrong-guess-123")).status_code == 401
    first = client.post(TOKEN, data=_form("dealer1@DealerMSP", "wrong-guess-123"))
    assert first.status_code == 429 and int(first.headers["Retry-After"]) <= 1
    time.sleep(1.1)  # the short window has passed; the hour window still counts the failures
    for _ in range(2):
        assert client.post(TOKEN, data=_form("dealer1@DealerMSP", "wrong-guess-123")).status_code == 401
    second = client.post(TOKEN, data=_form("dealer1@DealerMSP", demo_password("DealerMSP", "dealer1")))
    assert second.status_code == 429 and int(second.headers["Retry-After"]) > 3000


def test_client_address_locks_out_across_accounts(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "gw", token_secret="l" * 32, login_limits_per_address="6/minute")
    client = make_client(settings)
    for i in range(6):  # one guess each at six different (mostly unknown) accounts
        assert client.post(TOKEN, data=_form(f"user{i}@BankAMSP", "wrong-guess-123")).status_code == 401
    locked = client.post(TOKEN, data=_form("loan1@BankAMSP", demo_password("BankAMSP", "loan1")))
    assert locked.status_code == 429 and "address" in locked.json()["error"]["message"]


def test_unknown_user_costs_one_hash_verification_like_a_known_one(
    make_client, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    client = make_client(Settings(data_dir=tmp_path / "gw", token_secret="l" * 32))
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append(str(hash)[:9])
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "_HASHER", Counting(time_cost=2, memory_cost=19 * 1024, parallelism=1))
    for name in ("loan1@BankAMSP", "nobody@BankAMSP", "nobody@NoSuchMSP", "no-at-sign"):
        calls.clear()
        answer = client.post(TOKEN, data=_form(name, "wrong-guess-123"))
        assert answer.status_code in (400, 401)
        if answer.status_code == 401:
            assert calls == ["$argon2id"], (name, calls)  # one Argon2id verification, known user or not


# --- finding 7: hashing off the event loop, Argon2id, scrypt re-hashed ------------------------------


def test_password_hashing_runs_off_the_event_loop(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """While password checks are in progress (held in their worker threads), /healthz still answers."""
    settings = Settings(data_dir=tmp_path / "gw", token_secret="l" * 32, login_hash_concurrency=4)
    app = create_app(settings)
    release, entered = threading.Event(), threading.Semaphore(0)
    real = UserStore.authenticate

    def held(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        entered.release()
        assert release.wait(30), "never released"
        return real(self, *args, **kwargs)

    monkeypatch.setattr(UserStore, "authenticate", held)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            logins = [
                asyncio.create_task(http.post(TOKEN, data=_form(f"u{i}@BankAMSP", "wrong-guess-123")))
                for i in range(4)
            ]
            deadline = time.monotonic() + 60
            for _ in range(4):  # all four checks are running in their threads now
                while not entered.acquire(blocking=False):
                    assert time.monotonic() < deadline, "the password checks did not start"
                    await asyncio.sleep(0.01)
            health = await asyncio.wait_for(http.get("/healthz"), timeout=10)
            assert health.status_code == 200
            assert not any(task.done() for task in logins)  # the checks are still held
            release.set()
            assert [(await task).status_code for task in logins] == [401] * 4

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        app.state.gw.users.close()


def _scrypt_hash(password: str) -> str:
    """A hash in the format of earlier versions (hashlib scrypt, N=2**14, r=8, p=1)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_old_scrypt_hash_is_rehashed_to_argon2id_at_the_next_login(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "gw", token_secret="l" * 32)
    client = make_client(settings)
    store: UserStore = client.app.state.gw.users  # type: ignore[attr-defined]
    store.add("BankAMSP", "legacy1", Role.loan_officer, "old-password-1")
    _sqlite(store).execute(
        "UPDATE users SET password_hash = ? WHERE username = 'legacy1'", (_scrypt_hash("old-password-1"),)
    )
    assert client.post(TOKEN, data=_form("legacy1@BankAMSP", "wrong-password")).status_code == 401
    assert store.password_hash("BankAMSP", "legacy1").startswith("scrypt$")  # type: ignore[union-attr]
    assert client.post(TOKEN, data=_form("legacy1@BankAMSP", "old-password-1")).status_code == 200
    upgraded = store.password_hash("BankAMSP", "legacy1")
    assert upgraded is not None and upgraded.startswith("$argon2id$")
    assert client.post(TOKEN, data=_form("legacy1@BankAMSP", "old-password-1")).status_code == 200


# --- finding 8: demo users only in demo mode ---------------------------------------------------------


def test_production_settings_refuse_demo_mode() -> None:
    with pytest.raises(ValueError, match="demo_mode: refused because environment is production"):
        Settings(environment="production", demo_mode=True)
    with pytest.raises(ValueError, match="production"):
        Settings(environment="production", seed_demo=True)


def test_serve_refuses_demo_in_production(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLEDGER_ENVIRONMENT", "production")
    monkeypatch.delenv("MLEDGER_DEMO_MODE", raising=False)
    result = CliRunner().invoke(cli.cli, ["serve", "--demo", "--data-dir", str(tmp_path / "gw")])
    assert result.exit_code == 2, result.output
    assert "production" in result.output


def test_demo_users_are_refused_when_the_data_dir_restarts_outside_demo_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "gw"
    demo = create_app(Settings(data_dir=data_dir, token_secret="d" * 32, demo_mode=True))
    ensure_standard_users(demo.state.gw.users, demo.state.gw.enroller, ["BankAMSP"])
    marked = demo.state.gw.users.get("BankAMSP", "loan1")
    assert marked is not None and marked.demo
    from fastapi.testclient import TestClient

    with TestClient(demo) as client:
        headers = login(client, "loan1@BankAMSP")
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    demo.state.gw.users.close()

    production = create_app(Settings(data_dir=data_dir, token_secret="d" * 32, demo_mode=False))
    with TestClient(production) as client:
        answer = client.post(TOKEN, data=_form("loan1@BankAMSP", demo_password("BankAMSP", "loan1")))
        assert answer.status_code == 401
        # a token issued in demo mode stops working too
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_start_up_check_refuses_unmarked_users_that_still_have_a_demo_password(tmp_path: Path) -> None:
    """A data dir seeded before demo users were marked: the published passwords must not stay live."""
    data_dir = tmp_path / "gw"
    data_dir.mkdir()
    store = UserStore(data_dir / "users.sqlite")
    store.add("BankAMSP", "loan1", Role.loan_officer, demo_password("BankAMSP", "loan1"))  # unmarked
    store.add("BankAMSP", "auditor1", Role.auditor, "a-real-secret-password")  # changed: stays usable
    store.close()
    app = create_app(Settings(data_dir=data_dir, token_secret="d" * 32, demo_mode=False))
    users: UserStore = app.state.gw.users
    assert users.get("BankAMSP", "loan1").demo  # type: ignore[union-attr]
    assert not users.get("BankAMSP", "auditor1").demo  # type: ignore[union-attr]
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        assert (
            client.post(TOKEN, data=_form("loan1@BankAMSP", demo_password("BankAMSP", "loan1"))).status_code
            == 401
        )
        assert (
            client.post(TOKEN, data=_form("auditor1@BankAMSP", "a-real-secret-password")).status_code == 200
        )


def test_one_counter_per_account_however_its_name_is_typed(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path / "gw",
        token_secret="l" * 32,
        orgs=["DealerMSP"],
        login_limits_per_account="3/minute",
    )
    client = make_client(settings)
    for name in ("dealer1", "DEALER1@DealerMSP", " dealer1@dealermsp "):
        assert client.post(TOKEN, data=_form(name, "wrong-guess-123")).status_code in (400, 401)
    locked = client.post(TOKEN, data=_form("dealer1", demo_password("DealerMSP", "dealer1")))
    assert locked.status_code == 429, locked.text
