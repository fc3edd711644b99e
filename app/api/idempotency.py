"""Idempotency-Key support: a retried write gets the stored answer instead of a second transaction.

Follows the IETF httpapi idempotency-key draft: the key is scoped to the user; the first request
with a key is recorded as in flight, its final answer (success or a definite refusal) is stored in
SQLite (WAL, synchronous=FULL, so it survives a crash); a concurrent duplicate gets 409, the same
key with a different request 422. A 503 (network down) is not stored: the retry runs again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
"""


class Outcome(Enum):
    started = "started"
    stored = "stored"
    in_flight = "in_flight"
    mismatch = "mismatch"


@dataclass(frozen=True, slots=True)
class Begin:
    outcome: Outcome
    status: int | None = None
    body: Any = None


class IdempotencyStore:
    def __init__(self, path: Path, *, stale_after_seconds: float = 300.0, keep_seconds: float = 86400.0):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._stale_after = stale_after_seconds
        self._keep = keep_seconds
        self._db.execute("DELETE FROM idempotency WHERE created_at < ?", (time.time() - keep_seconds,))

    def close(self) -> None:
        self._db.close()

    def begin(self, scope: str, key: str, fingerprint: str) -> Begin:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT fingerprint, status, body, created_at FROM idempotency"
                    " WHERE scope = ? AND key = ?",
                    (scope, key),
                ).fetchone()
                if row is None or (row[1] is None and now - row[3] > self._stale_after):
                    self._db.execute(
                        "INSERT OR REPLACE INTO idempotency"
                        " (scope, key, fingerprint, status, body, created_at)"
                        " VALUES (?, ?, ?, NULL, NULL, ?)",
                        (scope, key, fingerprint, now),
                    )
                    result = Begin(Outcome.started)
                elif row[0] != fingerprint:
                    result = Begin(Outcome.mismatch)
                elif row[1] is None:
                    result = Begin(Outcome.in_flight)
                else:
                    result = Begin(Outcome.stored, status=row[1], body=json.loads(row[2]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def finish(self, scope: str, key: str, status: int, body: Any) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE idempotency SET status = ?, body = ? WHERE scope = ? AND key = ?",
                (status, json.dumps(body, separators=(",", ":")), scope, key),
            )

    def abandon(self, scope: str, key: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM idempotency WHERE scope = ? AND key = ? AND status IS NULL", (scope, key)
            )
