"""Idempotency keys between replicas on different hosts (both backends): a key left in flight by a
replica whose heartbeat stopped is taken over once the heartbeat is older than the owner timeout, the
replica that lost it cannot send a transaction for it any more (fenced), and a replica that never wrote
a heartbeat keeps the old rule (alive until the key is stale)."""

from __future__ import annotations

import time

import pytest

from app.api.idempotency import IdempotencyStore, KeyTakenOver, Outcome
from app.store.database import Database


def _elsewhere(store: IdempotencyStore, host: str = "replica-b.bank.internal") -> IdempotencyStore:
    """The store as a replica on another host sees it (pid checks cannot reach it)."""
    store.owner = f"4242:777:{host[:6]}@{host}"
    return store


def _seen(database: Database, owner: str) -> float | None:
    with database.transaction() as tx:
        row = tx.one("SELECT seen_at FROM idempotency_owner WHERE owner = ?", (owner,))
    return None if row is None else float(row[0])


def _age_heartbeat(database: Database, owner: str, seconds: float) -> None:
    with database.transaction() as tx:
        tx.execute("UPDATE idempotency_owner SET seen_at = ? WHERE owner = ?", (time.time() - seconds, owner))


def test_a_crashed_replicas_key_is_taken_over_once_its_heartbeat_stops(database: Database) -> None:
    crashed = _elsewhere(IdempotencyStore(database, heartbeat_seconds=5))
    crashed.heartbeat()
    assert crashed.begin("loan1@BankAMSP", "k", "fp").outcome is Outcome.started
    here = IdempotencyStore(database, owner_timeout_seconds=30)
    assert here.begin("loan1@BankAMSP", "k", "fp").outcome is Outcome.in_flight  # heartbeat fresh
    _age_heartbeat(database, crashed.owner, 31)
    assert here.begin("loan1@BankAMSP", "k", "fp").outcome is Outcome.started  # nothing sent: runs again
    # the replica taken for dead comes back: it may not send a transaction for the key any more
    with pytest.raises(KeyTakenOver):
        crashed.record_submission("loan1@BankAMSP", "k", "tx-old", {"status": 201})
    crashed.abandon("loan1@BankAMSP", "k")  # nor forget or orphan the key it lost
    here.record_submission("loan1@BankAMSP", "k", "tx-new", {"status": 201})
    here.finish("loan1@BankAMSP", "k", 201, {"tx_id": "tx-new"})
    stored = crashed.begin("loan1@BankAMSP", "k", "fp")
    assert (stored.outcome, stored.body) == (Outcome.stored, {"tx_id": "tx-new"})


def test_a_submitted_key_of_a_crashed_replica_is_resolved_from_the_ledger(database: Database) -> None:
    crashed = _elsewhere(IdempotencyStore(database, heartbeat_seconds=5))
    crashed.heartbeat()
    crashed.begin("u", "k", "fp")
    crashed.record_submission("u", "k", "tx-1", {"status": 201})
    here = IdempotencyStore(database)
    assert here.begin("u", "k", "fp").outcome is Outcome.in_flight
    _age_heartbeat(database, crashed.owner, 60)
    orphan = here.begin("u", "k", "fp")
    assert (orphan.outcome, orphan.tx_id) == (Outcome.orphaned, "tx-1")  # the retry asks the ledger


def test_a_replica_without_a_heartbeat_counts_as_alive_until_its_key_is_stale(database: Database) -> None:
    old_version = _elsewhere(IdempotencyStore(database))
    assert old_version.begin("u", "k", "fp").outcome is Outcome.started
    assert IdempotencyStore(database).begin("u", "k", "fp").outcome is Outcome.in_flight
    with database.transaction() as tx:
        tx.execute("UPDATE idempotency SET created_at = ? WHERE key = 'k'", (time.time() - 7200,))
    assert (
        IdempotencyStore(database, stale_after_seconds=3600).begin("u", "k", "fp").outcome is Outcome.started
    )


def test_the_heartbeat_thread_beats_and_a_clean_stop_frees_the_keys_at_once(database: Database) -> None:
    replica = _elsewhere(IdempotencyStore(database, heartbeat_seconds=0.05))
    replica.start_heartbeat()
    try:
        first = _seen(database, replica.owner)
        assert first is not None
        deadline = time.monotonic() + 10
        while (_seen(database, replica.owner) or 0) <= first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (_seen(database, replica.owner) or 0) > first
        replica.begin("u", "k", "fp")
        assert IdempotencyStore(database).begin("u", "k", "fp").outcome is Outcome.in_flight
    finally:
        replica.stop_heartbeat()
    assert _seen(database, replica.owner) == 0
    assert IdempotencyStore(database).begin("u", "k", "fp").outcome is Outcome.started


def test_sqlite_has_no_heartbeat_unless_asked_and_postgresql_beats_by_default(database: Database) -> None:
    store = IdempotencyStore(database)
    store.start_heartbeat()
    try:
        assert (_seen(database, store.owner) is not None) == (database.dialect == "postgresql")
    finally:
        store.stop_heartbeat()
