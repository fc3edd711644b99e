"""Which database holds the gateway's off-chain state, from the settings.

``MLEDGER_STORE_URL`` unset (or ``sqlite``): SQLite files under the data dir, one per component
(``users.sqlite``, ``idempotency.sqlite``, ``qr.sqlite``, as before). ``postgresql://user@host:port/db``:
one PostgreSQL database for every component, shared by every replica of the org's gateway. The
password never sits in the URL (refused there, as URLs end up in logs and process listings): it comes
from ``MLEDGER_STORE_PASSWORD_FILE`` (a 0600 file), ``MLEDGER_STORE_PASSWORD``, or libpq's own
``PGPASSWORD`` / ``PGPASSFILE``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlsplit

from app.settings import Settings
from app.store.database import Database, PostgresDatabase, SqliteDatabase, StoreError

_pools: dict[tuple[str, str | None], PostgresDatabase] = {}
_pools_lock = threading.Lock()


def is_postgres(url: str | None) -> bool:
    return bool(url) and urlsplit(str(url)).scheme in ("postgresql", "postgres")


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "sqlite"):
        raise StoreError(f"store_url: scheme {parts.scheme!r} is not postgresql:// or sqlite")
    if parts.password:
        raise StoreError(
            "store_url: carries a password; put it in MLEDGER_STORE_PASSWORD_FILE (or MLEDGER_STORE_PASSWORD)"
        )
    return url


def store_password(settings: Settings) -> str | None:
    if settings.store_password_file is not None:
        try:
            return Path(settings.store_password_file).read_text().strip()
        except OSError as exc:
            raise StoreError(f"store_password_file: cannot read it ({exc.strerror})") from exc
    if settings.store_password is not None:
        return settings.store_password.get_secret_value()
    return None


def shared_postgres(settings: Settings) -> PostgresDatabase:
    """One pool per store URL in this process (the components share it)."""
    url = check_url(str(settings.store_url))
    key = (url, str(settings.store_password_file))
    with _pools_lock:
        db = _pools.get(key)
        if db is None:
            db = PostgresDatabase(
                url,
                password=store_password(settings),
                max_size=settings.store_pool_size,
                connect_timeout=settings.store_timeout_seconds,
            )
            _pools[key] = db
        return db


def open_component(settings: Settings, sqlite_path: Path) -> Database:
    """The database holding a component: the shared PostgreSQL pool, or the component's SQLite file
    (the store classes migrate it when they open it)."""
    if is_postgres(settings.store_url):
        return shared_postgres(settings)
    if settings.store_url:
        check_url(settings.store_url)
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(sqlite_path)
