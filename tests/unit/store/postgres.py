"""A real PostgreSQL for the store's tests, started by the project's script (scripts/postgres).

The cluster lives in ``<tmp>/mledger-test-postgres-<port>`` (kept between runs: initdb once); it is
started at the session's start and stopped at its end by its recorded PID (``postmaster.pid``). Port:
``MLEDGER_STORE_TEST_PORT``, else the network base port + 950 (27950 by default).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.store.local_postgres import PostgresServer

__all__ = ["PostgresServer", "start_for_tests", "test_port"]


def test_port() -> int:
    explicit = os.environ.get("MLEDGER_STORE_TEST_PORT")
    if explicit:
        return int(explicit)
    return int(os.environ.get("MLEDGER_NETWORK_BASE_PORT", "27000")) + 950


def start_for_tests(offset: int = 0) -> PostgresServer:
    """``offset``: another suite's own server (port and folder), so two suites running at once on the
    machine never share (or stop) one cluster."""
    # not under the repo's .data: that folder is private to root, and the server runs as mledger-pg
    port = test_port() + offset
    server = PostgresServer(Path(tempfile.gettempdir()) / f"mledger-test-postgres-{port}", port, "")
    server.start()
    return server
