"""Which read model a gateway opens: MLEDGER_READMODEL_URL, else the off-chain store's PostgreSQL, else
the embedded SQLite file; a URL carrying a password is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.readmodel.postgres import PostgresStore
from app.readmodel.runtime import open_store
from app.readmodel.sqlite import SqliteStore
from app.settings import Settings
from app.store.database import StoreError, StoreUnavailable
from tests.unit.store.postgres import PostgresServer


def _settings(tmp_path: Path, **fields: object) -> Settings:
    return Settings(data_dir=tmp_path, **fields)  # type: ignore[arg-type]


def test_the_embedded_default_is_the_sqlite_file(tmp_path: Path) -> None:
    store = open_store(_settings(tmp_path))
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "readmodel.sqlite"
    store.close()


@pytest.mark.parametrize("field", ["readmodel_url", "store_url"])
def test_postgresql_from_either_url(tmp_path: Path, postgres: PostgresServer, field: str) -> None:
    url = postgres.new_database()
    settings = _settings(tmp_path, **{field: url}, store_password_file=postgres.password_file)
    store = open_store(settings)
    try:
        assert isinstance(store, PostgresStore) and store.next_block() == 0
    finally:
        store.close()
    assert not (tmp_path / "readmodel.sqlite").exists()


def test_readmodel_url_sqlite_keeps_the_file_beside_a_postgresql_store(tmp_path: Path) -> None:
    settings = _settings(tmp_path, store_url="postgresql://mledger@127.0.0.1:1/x", readmodel_url="sqlite")
    store = open_store(settings)
    assert isinstance(store, SqliteStore)
    store.close()


def test_a_password_in_the_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="readmodel_url: carries a password"):
        open_store(_settings(tmp_path, readmodel_url="postgresql://u:secret@127.0.0.1:1/x"))


def test_an_unreachable_postgresql_is_store_unavailable(tmp_path: Path) -> None:
    """Not a crash of the gateway's start: create_app logs it and the reports answer 503."""
    with pytest.raises(StoreUnavailable, match="read model"):
        open_store(_settings(tmp_path, readmodel_url="postgresql://mledger@127.0.0.1:1/readmodel"))
