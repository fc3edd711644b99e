"""Upgrading a store that holds data: from the schemas before versioned migrations (SQLite data dirs of
earlier releases) and from each earlier version (both backends)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from app.api.idempotency import IdempotencyStore, Outcome
from app.store.database import Database
from app.store.migrations import applied, migrate
from app.users.passwords import hash_password
from app.users.roles import Role
from app.users.store import UserStore

# What earlier releases created (app/users/store.py and app/api/idempotency.py before the store).
_OLD_USERS = """
CREATE TABLE users (msp_id TEXT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
    password_hash TEXT NOT NULL, enrolled INTEGER NOT NULL DEFAULT 0, enrollment_id TEXT,
    disabled INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, PRIMARY KEY (msp_id, username));
CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, msp_id TEXT NOT NULL, username TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
"""
_OLD_IDEMPOTENCY = """
CREATE TABLE idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status INTEGER, body TEXT, created_at REAL NOT NULL, PRIMARY KEY (scope, key));
"""


def test_a_data_dir_from_before_migrations_is_adopted_and_upgraded(tmp_path: Path) -> None:
    users_db, idem_db = tmp_path / "users.sqlite", tmp_path / "idempotency.sqlite"
    with sqlite3.connect(users_db) as conn:
        conn.executescript(_OLD_USERS)
        conn.execute(
            "INSERT INTO users VALUES ('BankAMSP', 'loan1', 'loan_officer', ?, 1, 'loan1', 0, ?)",
            (hash_password("old password"), time.time()),
        )
    with sqlite3.connect(idem_db) as conn:
        conn.executescript(_OLD_IDEMPOTENCY)
        conn.execute(
            "INSERT INTO idempotency VALUES ('loan1@BankAMSP', 'k', 'fp', 201, '{\"ok\":true}', ?)",
            (time.time(),),
        )
    users = UserStore(users_db)
    user = users.authenticate("BankAMSP", "loan1", "old password")
    assert user is not None and user.enrolled and not user.demo  # the demo column came with 0002
    assert applied(users.db, "users") == 4
    idem = IdempotencyStore(idem_db)
    stored = idem.begin("loan1@BankAMSP", "k", "fp")
    assert (stored.outcome, stored.body) == (Outcome.stored, {"ok": True})
    assert idem.begin("loan1@BankAMSP", "k2", "fp").outcome is Outcome.started  # owner column: 0002
    with sqlite3.connect(users_db) as conn:
        rows = conn.execute("SELECT component, version, name FROM schema_migrations ORDER BY 1, 2").fetchall()
    assert rows == [
        ("users", 1, "initial"),
        ("users", 2, "demo_users"),
        ("users", 3, "login_failures"),
        ("users", 4, "owner_challenges"),
    ]


def test_upgrade_from_the_previous_version_with_data(database: Database) -> None:
    """Version 1 of every component holding data, then the newest: the data stays and the new
    columns and tables work (runs on SQLite and PostgreSQL)."""
    assert migrate(database, "users", target=1) == 1
    assert migrate(database, "idempotency", target=1) == 1
    with database.transaction() as tx:
        tx.execute(
            "INSERT INTO users (msp_id, username, role, password_hash, enrolled, enrollment_id, disabled,"
            " created_at) VALUES (?, ?, ?, ?, 1, ?, 0, ?)",
            ("BankAMSP", "loan1", "loan_officer", hash_password("old password"), "loan1", time.time()),
        )
        tx.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ("loan1@BankAMSP", "k", "fp", 201, '{"ok":true}', time.time()),
        )
    users = UserStore(database)  # migrates to the newest
    assert applied(database, "users") == 4
    user = users.authenticate("BankAMSP", "loan1", "old password")
    assert user is not None and user.role is Role.loan_officer and not user.demo
    users.set_demo("BankAMSP", "loan1", True)
    assert users.get("BankAMSP", "loan1").demo  # type: ignore[union-attr]
    idem = IdempotencyStore(database)
    assert applied(database, "idempotency") == 3
    idem.heartbeat()  # the replicas' heartbeat table came with 0003
    assert idem.begin("loan1@BankAMSP", "k", "fp").body == {"ok": True}
    assert idem.begin("loan1@BankAMSP", "k2", "fp").outcome is Outcome.started
    idem.record_submission("loan1@BankAMSP", "k2", "tx", {"status": 201})
