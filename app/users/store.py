"""The gateway's users (in the off-chain store, app/store): password hashes, API keys, revoked tokens.

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
import time
from dataclasses import dataclass
from pathlib import Path

from app.store.database import Conflict, Database, SqliteDatabase, Tx
from app.store.migrations import migrate, sqlite_columns
from app.users.passwords import burn_dummy_verify, hash_password, needs_rehash, verify_password
from app.users.roles import Role, check_role_for_org

log = logging.getLogger(__name__)

COMPONENT = "users"


def legacy_version(tx: Tx) -> int:
    """Data dirs from before versioned migrations: 2 with the demo column, 1 without, 0 empty."""
    columns = sqlite_columns(tx, "users")
    if columns is None:
        return 0
    return 2 if "demo" in columns else 1


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
    """``where``: a SQLite file (its own database) or a shared :class:`Database` (PostgreSQL)."""

    def __init__(self, where: Path | Database) -> None:
        if isinstance(where, Path):
            where.parent.mkdir(parents=True, exist_ok=True)
            where = SqliteDatabase(where)
        self._db: Database = where
        self._owned = isinstance(where, SqliteDatabase)
        migrate(where, COMPONENT, legacy=legacy_version if where.dialect == "sqlite" else None)
        self.path = getattr(where, "path", None)

    @property
    def db(self) -> Database:
        return self._db

    def close(self) -> None:
        if self._owned:
            self._db.close()

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:  # type: ignore[type-arg]
        with self._db.reading() as tx:
            return tx.one(sql, params)

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
        with self._db.reading() as tx:
            return tx.all(sql, params)

    def _execute(self, sql: str, params: tuple = ()) -> int:  # type: ignore[type-arg]
        with self._db.transaction() as tx:
            return tx.execute(sql, params)

    def check_new(self, msp_id: str, username: str, role: Role, password: str) -> None:
        """UserError unless ``add`` would accept this user (checked before anything is enrolled)."""
        try:
            check_role_for_org(msp_id, role)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise UserError("username: letters, digits, '.', '-' and '_' only")
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        if self.get(msp_id, username) is not None:
            raise UserError(f"username: {username}@{msp_id} already exists")

    def add(
        self,
        msp_id: str,
        username: str,
        role: Role,
        password: str,
        *,
        demo: bool = False,
        enrollment_id: str | None = None,
    ) -> User:
        """Store a user; with ``enrollment_id`` it is stored enrolled (one write: never half-made)."""
        self.check_new(msp_id, username, role, password)
        try:
            self._execute(
                "INSERT INTO users (msp_id, username, role, password_hash, created_at, demo, enrolled,"
                " enrollment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (msp_id, username, role.value, hash_password(password), time.time(), int(demo),
                 int(enrollment_id is not None), enrollment_id),
            )  # fmt: skip
        except Conflict as exc:
            raise UserError(f"username: {username}@{msp_id} already exists") from exc
        log.info("user added: %s@%s (%s)", username, msp_id, role.value)
        return self.get(msp_id, username)  # type: ignore[return-value]

    def get(self, msp_id: str, username: str) -> User | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM users WHERE msp_id = ? AND username = ?",
            (msp_id, username),
        )
        return _user(row) if row else None

    def list_users(self, msp_id: str | None = None) -> list[User]:
        sql = f"SELECT {_COLUMNS} FROM users"
        rows = (
            self._all(sql + " WHERE msp_id = ? ORDER BY username", (msp_id,))
            if msp_id
            else self._all(sql + " ORDER BY msp_id, username")
        )
        return [_user(row) for row in rows]

    def authenticate(
        self, msp_id: str, username: str, password: str, *, allow_demo: bool = False
    ) -> User | None:
        """The user when the password matches and the user may log in; None otherwise.

        Takes the same time whether or not the user exists (a dummy hash is checked for unknown
        users). A matching legacy (scrypt) or outdated hash is replaced by a fresh Argon2id one.
        """
        row = self._one(
            "SELECT password_hash, disabled, demo FROM users WHERE msp_id = ? AND username = ?",
            (msp_id, username),
        )
        if row is None:
            burn_dummy_verify(password)
            return None
        encoded, disabled, demo = row
        if not verify_password(password, encoded):
            return None
        if disabled or (demo and not allow_demo):
            return None
        if needs_rehash(encoded):
            self._execute(
                "UPDATE users SET password_hash = ? WHERE msp_id = ? AND username = ? AND password_hash = ?",
                (hash_password(password), msp_id, username, encoded),
            )
            log.info("password hash of %s@%s upgraded to argon2id", username, msp_id)
        return self.get(msp_id, username)

    def password_hash(self, msp_id: str, username: str) -> str | None:
        row = self._one(
            "SELECT password_hash FROM users WHERE msp_id = ? AND username = ?", (msp_id, username)
        )
        return str(row[0]) if row else None

    def set_demo(self, msp_id: str, username: str, demo: bool) -> None:
        self._execute(
            "UPDATE users SET demo = ? WHERE msp_id = ? AND username = ?", (int(demo), msp_id, username)
        )

    def revoke_token(self, jti: str, expires_at: float) -> None:
        """Logout: this token id is refused until its expiry (then it is refused as expired anyway)."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (time.time(),))
            tx.execute(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)"
                " ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at",
                (jti, expires_at),
            )

    def token_revoked(self, jti: str) -> bool:
        row = self._one("SELECT 1 FROM revoked_tokens WHERE jti = ?", (jti,))
        return row is not None

    def set_password(self, msp_id: str, username: str, password: str) -> None:
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        self._require(msp_id, username)
        self._execute(
            "UPDATE users SET password_hash = ? WHERE msp_id = ? AND username = ?",
            (hash_password(password), msp_id, username),
        )

    def set_disabled(self, msp_id: str, username: str, disabled: bool) -> None:
        self._require(msp_id, username)
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE users SET disabled = ? WHERE msp_id = ? AND username = ?",
                (int(disabled), msp_id, username),
            )
            if disabled:
                tx.execute(
                    "UPDATE api_keys SET revoked = 1 WHERE msp_id = ? AND username = ?", (msp_id, username)
                )

    def mark_enrolled(self, msp_id: str, username: str, enrollment_id: str) -> None:
        self._require(msp_id, username)
        self._execute(
            "UPDATE users SET enrolled = 1, enrollment_id = ? WHERE msp_id = ? AND username = ?",
            (enrollment_id, msp_id, username),
        )

    def create_api_key(self, msp_id: str, username: str, label: str = "") -> str:
        self._require(msp_id, username)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        self._execute(
            "INSERT INTO api_keys (key_id, msp_id, username, secret_sha256, label, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, msp_id, username, hashlib.sha256(secret.encode()).hexdigest(), label, time.time()),
        )
        return f"mlk_{key_id}_{secret}"

    def revoke_api_key(self, key_id: str) -> bool:
        return self._execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,)) > 0

    def list_api_keys(self, msp_id: str, username: str) -> list[dict[str, object]]:
        rows = self._all(
            "SELECT key_id, label, created_at, revoked FROM api_keys WHERE msp_id = ? AND username = ?",
            (msp_id, username),
        )
        return [{"key_id": r[0], "label": r[1], "created_at": r[2], "revoked": bool(r[3])} for r in rows]

    def user_for_api_key(self, api_key: str) -> User | None:
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "mlk":
            return None
        row = self._one(
            "SELECT msp_id, username, secret_sha256 FROM api_keys WHERE key_id = ? AND revoked = 0",
            (parts[1],),
        )
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
