"""Idempotency-Key support: a retried write gets the original answer, and never runs twice.

Follows the IETF httpapi idempotency-key draft: the key is scoped to the user; the first request
with a key is recorded as in flight, its final answer (success or a definite refusal) is stored in
SQLite (WAL, synchronous=FULL, so it survives a crash); the same key with a different request gets
422. Only a fingerprint (SHA-256) of each request is kept, never its body.

Crash safety: before a transaction is sent for ordering, its id is recorded with the answer
template (status code, extra fields). A key whose process died (or whose request failed after
submitting) is *orphaned*; the next retry asks the ledger for that transaction: committed → the
original answer is rebuilt and stored; invalidated or never ordered → the request runs again; not
seen yet → 409 until the grace period in which it could still commit has passed. A key still owned
by a live request gets 409 (concurrent duplicate).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from app.data_files import secure_file

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
_COLUMNS = {  # added to stores created before crash-safe idempotency
    "owner": "TEXT",
    "tx_id": "TEXT",
    "template": "TEXT",
    "submitted_at": "REAL",
}


ABANDONED = "abandoned:"


class Outcome(Enum):
    started = "started"
    stored = "stored"
    in_flight = "in_flight"
    orphaned = "orphaned"  # in flight when its process died (or its request failed after submitting)
    mismatch = "mismatch"


@dataclass(frozen=True, slots=True)
class Begin:
    outcome: Outcome
    status: int | None = None
    body: Any = None
    tx_id: str | None = None
    template: dict[str, Any] | None = None
    submitted_at: float | None = None
    owner: str | None = None


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc``), so a pid reused after a restart
    (a container's gateway is often pid 1 every time) is not taken for the process that died; "" where
    ``/proc`` is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22 (starttime), counted after "(comm)"


def _pid_alive(owner: str | None) -> bool:
    """Owners are ``<pid>:<start time>:<nonce>``; a pid gone from this host (or now another process)
    means its process died."""
    if not owner:
        return False
    parts = owner.split(":")
    try:
        pid = int(parts[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass
    return len(parts) < 3 or not parts[1] or _started(pid) in ("", parts[1])


class IdempotencyStore:
    def __init__(self, path: Path, *, stale_after_seconds: float = 3600.0, keep_seconds: float = 86400.0):
        secure_file(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(idempotency)")}
        for column, kind in _COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE idempotency ADD COLUMN {column} {kind}")
        self._lock = threading.Lock()
        self._stale_after = stale_after_seconds
        self._keep = keep_seconds
        pid = os.getpid()
        self.owner = f"{pid}:{_started(pid)}:{secrets.token_hex(6)}"  # this store object (one per process)
        self._db.execute("DELETE FROM idempotency WHERE created_at < ?", (time.time() - keep_seconds,))

    def close(self) -> None:
        self._db.close()

    def _owner_dead(self, owner: str | None, created_at: float) -> bool:
        if owner == self.owner:
            return False
        if owner is None or owner.startswith(ABANDONED) or not _pid_alive(owner):
            return True
        return time.time() - created_at > self._stale_after  # another live process, stuck for long

    def begin(self, scope: str, key: str, fingerprint: str) -> Begin:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT fingerprint, status, body, created_at, owner, tx_id, template, submitted_at"
                    " FROM idempotency WHERE scope = ? AND key = ?",
                    (scope, key),
                ).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at, owner)"
                        " VALUES (?, ?, ?, NULL, NULL, ?, ?)",
                        (scope, key, fingerprint, now, self.owner),
                    )
                    result = Begin(Outcome.started)
                elif row[0] != fingerprint:
                    result = Begin(Outcome.mismatch)
                elif row[1] is not None:
                    result = Begin(Outcome.stored, status=row[1], body=json.loads(row[2]))
                elif not self._owner_dead(row[4], row[3]):
                    result = Begin(Outcome.in_flight)
                elif row[5] is None:  # died before anything was sent for ordering: run it again
                    self._db.execute(
                        "UPDATE idempotency SET owner = ?, created_at = ? WHERE scope = ? AND key = ?",
                        (self.owner, now, scope, key),
                    )
                    result = Begin(Outcome.started)
                else:
                    template = json.loads(row[6]) if row[6] else None
                    result = Begin(
                        Outcome.orphaned, tx_id=row[5], template=template, submitted_at=row[7], owner=row[4]
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def take_over(self, scope: str, key: str, seen: Begin) -> bool:
        """Claim an orphaned key to run it again (its transaction did not and will not commit).
        False when another retry claimed it first."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE idempotency SET owner = ?, tx_id = NULL, template = NULL, submitted_at = NULL,"
                " created_at = ? WHERE scope = ? AND key = ? AND status IS NULL"
                " AND owner IS ? AND tx_id IS ?",
                (self.owner, time.time(), scope, key, seen.owner, seen.tx_id),
            )
        return cursor.rowcount == 1

    def record_submission(self, scope: str, key: str, tx_id: str, template: dict[str, Any]) -> None:
        """Durably note the transaction about to be ordered for this key (before it is sent)."""
        with self._lock:
            self._db.execute(
                "UPDATE idempotency SET tx_id = ?, template = ?, submitted_at = ?"
                " WHERE scope = ? AND key = ? AND status IS NULL",
                (tx_id, json.dumps(template, separators=(",", ":")), time.time(), scope, key),
            )

    def finish(self, scope: str, key: str, status: int, body: Any) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE idempotency SET status = ?, body = ?, owner = NULL WHERE scope = ? AND key = ?",
                (status, json.dumps(body, separators=(",", ":")), scope, key),
            )

    def abandon(self, scope: str, key: str) -> None:
        """The request ended without a definite answer. With nothing submitted the key is forgotten;
        with a transaction submitted it is orphaned, so the next retry asks the ledger first."""
        with self._lock:
            self._db.execute(
                "DELETE FROM idempotency WHERE scope = ? AND key = ? AND status IS NULL AND tx_id IS NULL",
                (scope, key),
            )
            self._db.execute(
                "UPDATE idempotency SET owner = ? WHERE scope = ? AND key = ? AND status IS NULL",
                (ABANDONED + self.owner, scope, key),
            )

    def owner_alive(self, owner: str | None) -> bool:
        """Whether the process that submitted an orphaned key's transaction still runs (it may still
        be committing it), as opposed to one that died with its ledger connection."""
        if owner is None:
            return False
        return _pid_alive(owner.removeprefix(ABANDONED))
