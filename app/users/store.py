"""The gateway's user store (SQLite under the data dir): users, password hashes, API keys, revoked tokens.

Users are named ``username@MSP`` because every org has its own ``admin`` and ``auditor1``.
API keys are ``mlk_<key id>_<secret>``; only a SHA-256 of the secret is kept. Demo users (the
well-known passwords of the embedded demo) are marked ``demo``: the gateway refuses them unless it
runs in demo mode. Revoked token ids (logout) are kept until the token would have expired.

Password checks are slow on purpose (Argon2id): call :meth:`UserStore.authenticate` from a worker
thread, as :mod:`app.users.login` does.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.data_files import secure_file
from app.users.passwords import burn_dummy_verify, hash_password, needs_rehash, verify_password
from app.users.roles import Role, check_role_for_org

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    msp_id TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    enrolled INTEGER NOT NULL DEFAULT 0,
    enrollment_id TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    PRIMARY KEY (msp_id, username)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    msp_id TEXT NOT NULL,
    username TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""


class UserError(ValueError):
    """A user-admin request that cannot be done (the message names the field and reason)."""


@dataclass(frozen=True, slots=True)
class User:
    msp_id: str
    username: str
    role: Role
    enrolled: bool
    enrollment_id: str | None
    disabled: bool
    demo: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.username}@{self.msp_id}"


def split_qualified(name: str, default_msp: str | None) -> tuple[str, str]:
    """``loan1@BankAMSP`` → (BankAMSP, loan1); a bare name uses the gateway's only org."""
    if "@" in name:
        username, _, msp_id = name.rpartition("@")
        return msp_id, username
    if default_msp is None:
        raise UserError("username: give it as name@MSP (this gateway serves several orgs)")
    return default_msp, name


class UserStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        secure_file(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(users)")}
        if "demo" not in columns:  # data dirs from before demo users were marked
            self._db.execute("ALTER TABLE users ADD COLUMN demo INTEGER NOT NULL DEFAULT 0")
        self._lock = threading.Lock()
        self.path = path

    def close(self) -> None:
        self._db.close()

    def add(self, msp_id: str, username: str, role: Role, password: str, *, demo: bool = False) -> User:
        try:
            check_role_for_org(msp_id, role)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise UserError("username: letters, digits, '.', '-' and '_' only")
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO users (msp_id, username, role, password_hash, created_at, demo)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (msp_id, username, role.value, hash_password(password), time.time(), int(demo)),
                )
            except sqlite3.IntegrityError as exc:
                raise UserError(f"username: {username}@{msp_id} already exists") from exc
        log.info("user added: %s@%s (%s)", username, msp_id, role.value)
        return self.get(msp_id, username)  # type: ignore[return-value]

    def get(self, msp_id: str, username: str) -> User | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM users WHERE msp_id = ? AND username = ?",
            (msp_id, username),
        ).fetchone()
        return _user(row) if row else None

    def list_users(self, msp_id: str | None = None) -> list[User]:
        sql = f"SELECT {_COLUMNS} FROM users"
        rows = (
            self._db.execute(sql + " WHERE msp_id = ? ORDER BY username", (msp_id,))
            if msp_id
            else self._db.execute(sql + " ORDER BY msp_id, username")
        ).fetchall()
        return [_user(row) for row in rows]

    def authenticate(
        self, msp_id: str, username: str, password: str, *, allow_demo: bool = False
    ) -> User | None:
        """The user when the password matches and the user may log in; None otherwise.

        Takes the same time whether or not the user exists (a dummy hash is checked for unknown
        users). A matching legacy (scrypt) or outdated hash is replaced by a fresh Argon2id one.
        """
        row = self._db.execute(
            "SELECT password_hash, disabled, demo FROM users WHERE msp_id = ? AND username = ?",
            (msp_id, username),
        ).fetchone()
        if row is None:
            burn_dummy_verify(password)
            return None
        encoded, disabled, demo = row
        if not verify_password(password, encoded):
            return None
        if disabled or (demo and not allow_demo):
            return None
        if needs_rehash(encoded):
            with self._lock:
                self._db.execute(
                    "UPDATE users SET password_hash = ?"
                    " WHERE msp_id = ? AND username = ? AND password_hash = ?",
                    (hash_password(password), msp_id, username, encoded),
                )
            log.info("password hash of %s@%s upgraded to argon2id", username, msp_id)
        return self.get(msp_id, username)

    def password_hash(self, msp_id: str, username: str) -> str | None:
        row = self._db.execute(
            "SELECT password_hash FROM users WHERE msp_id = ? AND username = ?", (msp_id, username)
        ).fetchone()
        return str(row[0]) if row else None

    def set_demo(self, msp_id: str, username: str, demo: bool) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE users SET demo = ? WHERE msp_id = ? AND username = ?", (int(demo), msp_id, username)
            )

    def revoke_token(self, jti: str, expires_at: float) -> None:
        """Logout: this token id is refused until its expiry (then it is refused as expired anyway)."""
        with self._lock:
            self._db.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (time.time(),))
            self._db.execute(
                "INSERT OR REPLACE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)", (jti, expires_at)
            )

    def token_revoked(self, jti: str) -> bool:
        row = self._db.execute("SELECT 1 FROM revoked_tokens WHERE jti = ?", (jti,)).fetchone()
        return row is not None

    def set_password(self, msp_id: str, username: str, password: str) -> None:
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        self._require(msp_id, username)
        with self._lock:
            self._db.execute(
                "UPDATE users SET password_hash = ? WHERE msp_id = ? AND username = ?",
                (hash_password(password), msp_id, username),
            )

    def set_disabled(self, msp_id: str, username: str, disabled: bool) -> None:
        self._require(msp_id, username)
        with self._lock:
            self._db.execute(
                "UPDATE users SET disabled = ? WHERE msp_id = ? AND username = ?",
                (int(disabled), msp_id, username),
            )
            if disabled:
                self._db.execute(
                    "UPDATE api_keys SET revoked = 1 WHERE msp_id = ? AND username = ?", (msp_id, username)
                )

    def mark_enrolled(self, msp_id: str, username: str, enrollment_id: str) -> None:
        self._require(msp_id, username)
        with self._lock:
            self._db.execute(
                "UPDATE users SET enrolled = 1, enrollment_id = ? WHERE msp_id = ? AND username = ?",
                (enrollment_id, msp_id, username),
            )

    def create_api_key(self, msp_id: str, username: str, label: str = "") -> str:
        self._require(msp_id, username)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (key_id, msp_id, username, secret_sha256, label, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, msp_id, username, hashlib.sha256(secret.encode()).hexdigest(), label, time.time()),
            )
        return f"mlk_{key_id}_{secret}"

    def revoke_api_key(self, key_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
        return cursor.rowcount > 0

    def list_api_keys(self, msp_id: str, username: str) -> list[dict[str, object]]:
        rows = self._db.execute(
            "SELECT key_id, label, created_at, revoked FROM api_keys WHERE msp_id = ? AND username = ?",
            (msp_id, username),
        ).fetchall()
        return [{"key_id": r[0], "label": r[1], "created_at": r[2], "revoked": bool(r[3])} for r in rows]

    def user_for_api_key(self, api_key: str) -> User | None:
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "mlk":
            return None
        row = self._db.execute(
            "SELECT msp_id, username, secret_sha256 FROM api_keys WHERE key_id = ? AND revoked = 0",
            (parts[1],),
        ).fetchone()
        if row is None:
            return None
        if not hmac.compare_digest(row[2], hashlib.sha256(parts[2].encode()).hexdigest()):
            return None
        user = self.get(row[0], row[1])
        return user if user and not user.disabled else None

    def _require(self, msp_id: str, username: str) -> User:
        user = self.get(msp_id, username)
        if user is None:
            raise UserError(f"username: no user {username}@{msp_id}")
        return user


_COLUMNS = "msp_id, username, role, enrolled, enrollment_id, disabled, demo"


def _user(row: tuple) -> User:  # type: ignore[type-arg]
    return User(
        msp_id=row[0],
        username=row[1],
        role=Role(row[2]),
        enrolled=bool(row[3]),
        enrollment_id=row[4],
        disabled=bool(row[5]),
        demo=bool(row[6]),
    )
