"""The API fixtures (a gateway per test on its own embedded ledger) for the operations tests, and a
real PostgreSQL of their own (scripts/postgres, the store tests' port + 1) for the PostgreSQL store."""

from collections.abc import Iterator

import pytest

from tests.unit.api.conftest import api, make_client, settings, users_template  # noqa: F401
from tests.unit.store.postgres import PostgresServer, start_for_tests


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_for_tests(offset=1)
    try:
        yield server
    finally:
        server.stop()
