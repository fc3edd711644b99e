"""Idempotency-Key support: a retried write gets the original answer, and never runs twice.

Follows the IETF httpapi idempotency-key draft: the key is scoped to the user; the first request
with a key is recorded as in flight, its final answer (success or a definite refusal) is stored in
the off-chain store (app/store: SQLite with WAL and synchronous=FULL, or PostgreSQL, so it survives a
crash); the same key with a different request gets
422. Only a fingerprint (SHA-256) of each request is kept, never its body.

Crash safety: before a transaction is sent for ordering, its id is recorded with the answer
template (status code, extra fields). A key whose process died (or whose request failed after
submitting) is *orphaned*; the next retry asks the ledger for that transaction: committed → the
original answer is rebuilt and stored; invalidated or never ordered → the request runs again; not
seen yet → 409 until the grace period in which it could still commit has passed. A key still owned
by a live request gets 409 (concurrent duplicate). On PostgreSQL the first step of a key holds an
advisory lock on it, so two replicas receiving the same key at once run it once: the second sees it
in flight. An owner on another host cannot be checked by pid: on PostgreSQL every gateway process
writes a heartbeat into the store, so a replica that crashed on another host is known dead once its
heartbeat stops (30 s), and its keys are resolved from the ledger like a local crash's. An owner that
never wrote a heartbeat (a replica of an older version) counts as alive until its key is stale (1 h).
A key is fenced: a replica records a submission (and so sends its transaction) only while it still
owns the key, so a replica taken for dead that comes back never sends a transaction for a key another
one took over.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from app.store.database import Database, SqliteDatabase, Tx
from app.store.migrations import migrate, sqlite_columns

COMPONENT = "idempotency"
HOST = socket.gethostname()
HEARTBEAT_SECONDS = 5.0
OWNER_TIMEOUT_SECONDS = 30.0  # six missed heartbeats; hosts' clocks are assumed in NTP sync (skew << this)

log = logging.getLogger(__name__)


def legacy_version(tx: Tx) -> int:
    """Stores from before versioned migrations: 2 with the crash-safety columns, 1 without."""
    columns = sqlite_columns(tx, "idempotency")
    if columns is None:
        return 0
    return 2 if "tx_id" in columns else 1


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
    """Owners are ``<pid>:<start time>:<nonce>@<host>``; a pid gone from this host (or now another
    process) means its process died. An owner on another host (a replica) is taken as alive."""
    if not owner:
        return False
    owner, _, host = owner.partition("@")
    if host and host != HOST:
        return True
    parts = owner.split(":")
    try:
        pid = int(parts[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        pass
    return len(parts) < 3 or not parts[1] or _started(pid) in ("", parts[1])


class KeyTakenOver(Exception):
    """This process no longer owns the key (another replica took it for dead and took it over)."""


class IdempotencyStore:
    """Idempotency records of one gateway process. ``heartbeat_seconds``: how often
    :meth:`start_heartbeat` writes this process's heartbeat (default: every 5 s on PostgreSQL, whose
    replicas may run on other hosts; none on SQLite, where the pid check suffices)."""

    def __init__(
        self,
        where: Path | Database,
        *,
        stale_after_seconds: float = 3600.0,
        keep_seconds: float = 86400.0,
        heartbeat_seconds: float | None = None,
        owner_timeout_seconds: float = OWNER_TIMEOUT_SECONDS,
    ):
        if isinstance(where, Path):
            where = SqliteDatabase(where)
        self._db: Database = where
        self._owned = isinstance(where, SqliteDatabase)
        migrate(where, COMPONENT, legacy=legacy_version if where.dialect == "sqlite" else None)
        self._stale_after = stale_after_seconds
        self._keep = keep_seconds
        self._owner_timeout = owner_timeout_seconds
        pid = os.getpid()
        # this store object (one per process); the host tells replicas apart
        self.owner = f"{pid}:{_started(pid)}:{secrets.token_hex(6)}@{HOST}"
        self._execute("DELETE FROM idempotency WHERE created_at < ?", (time.time() - keep_seconds,))
        self._execute(  # heartbeats long gone, kept while a key they held is still in flight
            "DELETE FROM idempotency_owner WHERE seen_at < ? AND owner NOT IN"
            " (SELECT owner FROM idempotency WHERE status IS NULL AND owner IS NOT NULL)",
            (time.time() - keep_seconds,),
        )
        if heartbeat_seconds is None and where.dialect == "postgresql":
            heartbeat_seconds = HEARTBEAT_SECONDS
        self._heartbeat_every = heartbeat_seconds
        self._stop = threading.Event()
        self._beats: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        """Write this process's heartbeat now and then every few seconds (the gateway's lifespan), when
        the store has replicas elsewhere to tell (PostgreSQL, or ``heartbeat_seconds`` given)."""
        if not self._heartbeat_every or self._beats is not None:
            return
        self.heartbeat()
        self._stop.clear()
        self._beats = threading.Thread(
            target=self._beat_loop, args=(self._heartbeat_every,), name="idempotency-heartbeat", daemon=True
        )
        self._beats.start()

    def stop_heartbeat(self) -> None:
        """Stop the heartbeat and mark this process stopped (seen at 0): the server has answered its
        requests by then, so a key it still holds is abandoned and replicas may resolve it at once."""
        if self._beats is None:
            return
        self._stop.set()
        self._beats.join(timeout=5)
        self._beats = None
        try:
            self._execute("UPDATE idempotency_owner SET seen_at = 0 WHERE owner = ?", (self.owner,))
        except Exception as exc:
            log.warning("idempotency heartbeat not marked stopped: %s", type(exc).__name__)

    def heartbeat(self) -> None:
        """Note that this process is alive (replicas on other hosts read it)."""
        self._execute(
            "INSERT INTO idempotency_owner (owner, seen_at) VALUES (?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at",
            (self.owner, time.time()),
        )

    def _beat_loop(self, every: float) -> None:
        failing = False
        while not self._stop.wait(every):
            try:
                self.heartbeat()
            except Exception as exc:  # the store is down: requests answer 503 meanwhile; keep beating
                if not failing:
                    log.warning("idempotency heartbeat not written: %s", type(exc).__name__)
                failing = True
            else:
                failing = False

    def close(self) -> None:
        self.stop_heartbeat()
        if self._owned:
            self._db.close()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._db.transaction() as tx:
            return tx.execute(sql, params)

    def _owner_dead(self, tx: Tx, owner: str | None, created_at: float) -> bool:
        if owner == self.owner:
            return False
        if owner is None or owner.startswith(ABANDONED) or not _pid_alive(owner):
            return True
        if owner.partition("@")[2] != HOST:  # a replica elsewhere: alive while its heartbeat is
            row = tx.one("SELECT seen_at FROM idempotency_owner WHERE owner = ?", (owner,))
            if row is not None and time.time() - float(row[0]) > self._owner_timeout:
                return True
        return time.time() - created_at > self._stale_after  # another live process, stuck for long

    def begin(self, scope: str, key: str, fingerprint: str) -> Begin:
        now = time.time()
        with self._db.transaction(lock=f"idempotency:{scope}:{key}") as tx:
            row = tx.one(
                "SELECT fingerprint, status, body, created_at, owner, tx_id, template, submitted_at"
                " FROM idempotency WHERE scope = ? AND key = ?",
                (scope, key),
            )
            if row is None:
                tx.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at, owner)"
                    " VALUES (?, ?, ?, NULL, NULL, ?, ?)",
                    (scope, key, fingerprint, now, self.owner),
                )
                result = Begin(Outcome.started)
            elif row[0] != fingerprint:
                result = Begin(Outcome.mismatch)
            elif row[1] is not None:
                result = Begin(Outcome.stored, status=row[1], body=json.loads(row[2]))
            elif not self._owner_dead(tx, row[4], row[3]):
                result = Begin(Outcome.in_flight)
            elif row[5] is None:  # died before anything was sent for ordering: run it again
                tx.execute(
                    "UPDATE idempotency SET owner = ?, created_at = ? WHERE scope = ? AND key = ?",
                    (self.owner, now, scope, key),
                )
                result = Begin(Outcome.started)
            else:
                template = json.loads(row[6]) if row[6] else None
                result = Begin(
                    Outcome.orphaned, tx_id=row[5], template=template, submitted_at=row[7], owner=row[4]
                )
        return result

    def take_over(self, scope: str, key: str, seen: Begin) -> bool:
        """Claim an orphaned key to run it again (its transaction did not and will not commit).
        False when another retry claimed it first."""
        changed = self._execute(
            "UPDATE idempotency SET owner = ?, tx_id = NULL, template = NULL, submitted_at = NULL,"
            " created_at = ? WHERE scope = ? AND key = ? AND status IS NULL"
            " AND owner IS NOT DISTINCT FROM ? AND tx_id IS NOT DISTINCT FROM ?",
            (self.owner, time.time(), scope, key, seen.owner, seen.tx_id),
        )
        return changed == 1

    def record_submission(self, scope: str, key: str, tx_id: str, template: dict[str, Any]) -> None:
        """Durably note the transaction about to be ordered for this key (before it is sent).
        KeyTakenOver when this process no longer owns the key: the transaction must not be sent."""
        changed = self._execute(
            "UPDATE idempotency SET tx_id = ?, template = ?, submitted_at = ?"
            " WHERE scope = ? AND key = ? AND status IS NULL AND owner = ?",
            (tx_id, json.dumps(template, separators=(",", ":")), time.time(), scope, key, self.owner),
        )
        if changed != 1:
            raise KeyTakenOver(f"idempotency key {key!r} is no longer owned by this gateway process")

    def finish(self, scope: str, key: str, status: int, body: Any) -> None:
        self._execute(
            "UPDATE idempotency SET status = ?, body = ?, owner = NULL WHERE scope = ? AND key = ?",
            (status, json.dumps(body, separators=(",", ":")), scope, key),
        )

    def abandon(self, scope: str, key: str) -> None:
        """The request ended without a definite answer. With nothing submitted the key is forgotten;
        with a transaction submitted it is orphaned, so the next retry asks the ledger first."""
        with self._db.transaction() as tx:  # only while it is still ours (not taken over meanwhile)
            tx.execute(
                "DELETE FROM idempotency WHERE scope = ? AND key = ? AND status IS NULL AND tx_id IS NULL"
                " AND owner = ?",
                (scope, key, self.owner),
            )
            tx.execute(
                "UPDATE idempotency SET owner = ?"
                " WHERE scope = ? AND key = ? AND status IS NULL AND owner = ?",
                (ABANDONED + self.owner, scope, key, self.owner),
            )

    def owner_alive(self, owner: str | None) -> bool:
        """Whether the process that submitted an orphaned key's transaction still runs (it may still
        be committing it), as opposed to one that died with its ledger connection."""
        if owner is None:
            return False
        return _pid_alive(owner.removeprefix(ABANDONED))
