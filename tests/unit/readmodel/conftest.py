"""A generated registry stream (10,500 vehicles: more than the old 10,000 cap) stored once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.readmodel.blockgen import Expected, Scenario, StreamBuilder
from app.readmodel.postgres import PostgresStore
from app.readmodel.sqlite import SqliteStore
from app.readmodel.store import SqlStore
from tests.unit.readmodel.helpers import write_block_file
from tests.unit.store.postgres import PostgresServer, start_for_tests

VEHICLES = 10_500
LIENS = 400
RELEASED = 60


@pytest.fixture(scope="session")
def big_stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected, int]:
    """(ledger file, expected counts, height): registrations with an invalid tx every 1,000, liens,
    releases, valuations, and a config block in the middle of the stream."""
    builder = StreamBuilder()
    blocks = []
    for block in Scenario(vehicles=VEHICLES, liens=LIENS, released=RELEASED, invalid_every=1000).blocks(
        builder
    ):
        blocks.append(block)
        if len(blocks) == 5:
            blocks.append(builder.config_block())
    path = tmp_path_factory.mktemp("stream") / "ledger.sqlite"
    height = write_block_file(path, blocks)
    return path, builder.expected, height


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The read model's own PostgreSQL (store tests' port + 3, its own folder)."""
    server = start_for_tests(offset=3)
    try:
        yield server
    finally:
        server.stop()


class StoreFactory:
    """Opens the read model of one backend; ``open()`` again reopens the same database."""

    def __init__(self, backend: str, tmp_path: Path, postgres: PostgresServer | None) -> None:
        self.backend = backend
        self.path = tmp_path / "rm.sqlite"
        self.postgres = postgres
        self.url = postgres.new_database() if postgres is not None else ""

    def open(self) -> SqlStore:
        if self.postgres is None:
            return SqliteStore(self.path)
        return PostgresStore(self.url, password=self.postgres.password)


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StoreFactory:
    """Each read-model test that takes this runs on SQLite and on a real PostgreSQL."""
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    return StoreFactory(str(request.param), tmp_path_factory.mktemp("rm"), server)
