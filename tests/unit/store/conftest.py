"""Store fixtures: every contract test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.database import Database, PostgresDatabase, SqliteDatabase
from tests.unit.store.postgres import PostgresServer, start_for_tests


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_for_tests()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """An empty database of the backend under test (PostgreSQL: a fresh database per test)."""
    db: Database
    if backend == "sqlite":
        db = SqliteDatabase(tmp_path / "store.sqlite")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        db = PostgresDatabase(server.new_database(), password=server.password, max_size=4)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def replicas(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Database, Database]]:
    """Two connections (two gateway replicas' pools) to one database of the backend under test."""
    pair: tuple[Database, Database]
    if backend == "sqlite":
        pair = (SqliteDatabase(tmp_path / "store.sqlite"), SqliteDatabase(tmp_path / "store.sqlite"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()
        pair = (
            PostgresDatabase(url, password=server.password, max_size=4),
            PostgresDatabase(url, password=server.password, max_size=4),
        )
    try:
        yield pair
    finally:
        for db in pair:
            db.close()
