"""The off-chain store's contract, on both backends: users, API keys, tokens, idempotency, QR payloads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.api.idempotency import IdempotencyStore, Outcome
from app.qr import AuthorityKey
from app.services.qr import QrService
from app.store.database import Conflict, Database
from app.store.migrations import applied, migrations
from app.users.roles import Role
from app.users.store import UserError, UserStore


def _key(tmp_path: Path) -> AuthorityKey:
    return AuthorityKey.load_or_create_embedded(tmp_path / "qr")


def test_migrations_reach_the_newest_version(database: Database, tmp_path: Path) -> None:
    UserStore(database)
    IdempotencyStore(database)
    QrService(_key(tmp_path), "http://x", database)
    for component in ("users", "idempotency", "qr"):
        assert applied(database, component) == len(migrations(database.dialect, component))
    UserStore(database)  # opening again applies nothing twice
    assert applied(database, "users") == 4


def test_owner_challenges_are_spent_once_bound_to_their_account(database: Database) -> None:
    from app.users.owner_signin import OwnerChallenges, OwnerSignInError

    UserStore(database)
    store = OwnerChallenges(database)
    issued = store.issue("owner-alice0001", now=1000.0)
    assert store.spend(issued.challenge_id, "owner-alice0001", now=1001.0) == issued
    with pytest.raises(OwnerSignInError, match="already used") as replay:
        store.spend(issued.challenge_id, "owner-alice0001", now=1002.0)
    assert replay.value.field == "challenge_id"
    other = store.issue("owner-alice0001", now=1000.0)
    with pytest.raises(OwnerSignInError, match="another account") as wrong:
        store.spend(other.challenge_id, "owner-bob000001", now=1001.0)
    assert wrong.value.field == "account_id"
    late = store.issue("owner-alice0001", now=1000.0)
    with pytest.raises(OwnerSignInError, match="expired"):
        store.spend(late.challenge_id, "owner-alice0001", now=1000.0 + store.ttl_seconds + 1)
    with pytest.raises(OwnerSignInError, match="unknown"):
        store.spend("och_" + "0" * 32, "owner-alice0001", now=1001.0)
    for _ in range(5):
        store.issue("owner-carol0001", now=1000.0)
    with pytest.raises(OwnerSignInError, match="open") as flood:
        store.issue("owner-carol0001", now=1000.0)
    assert flood.value.status == 429
    assert store.issue("owner-carol0001", now=1000.0 + store.ttl_seconds + 1).account_id == "owner-carol0001"


def test_users_keys_and_tokens(database: Database) -> None:
    users = UserStore(database)
    user = users.add("BankAMSP", "loan1", Role.loan_officer, "correct horse", enrollment_id="loan1")
    assert user.enrolled and user.enrollment_id == "loan1" and not user.demo
    with pytest.raises(UserError, match="already exists"):
        users.add("BankAMSP", "loan1", Role.loan_officer, "another password")
    with pytest.raises(UserError, match="already exists"):
        users.check_new("BankAMSP", "loan1", Role.loan_officer, "another password")
    assert users.authenticate("BankAMSP", "loan1", "correct horse") == user
    assert users.authenticate("BankAMSP", "loan1", "wrong horse!") is None
    key = users.create_api_key("BankAMSP", "loan1", "batch")
    assert users.user_for_api_key(key) == user
    assert users.user_for_api_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    users.revoke_token("jti-1", 9e12)
    users.revoke_token("jti-1", 9e12)  # twice is fine (upsert)
    assert users.token_revoked("jti-1") and not users.token_revoked("jti-2")
    users.set_disabled("BankAMSP", "loan1", True)  # disabling revokes the keys in the same transaction
    assert users.user_for_api_key(key) is None
    assert [k["revoked"] for k in users.list_api_keys("BankAMSP", "loan1")] == [True]
    assert [u.qualified_name for u in users.list_users("BankAMSP")] == ["loan1@BankAMSP"]


def test_a_failed_transaction_leaves_nothing(database: Database) -> None:
    UserStore(database)
    with pytest.raises(Conflict), database.transaction() as tx:
        tx.execute("INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)", ("a", 1.0))
        tx.execute("INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)", ("a", 2.0))
    with database.transaction() as tx:
        assert tx.all("SELECT jti FROM revoked_tokens") == []


def test_idempotency_records(database: Database) -> None:
    store = IdempotencyStore(database)
    assert store.begin("u", "k1", "f1").outcome is Outcome.started
    assert store.begin("u", "k1", "f2").outcome is Outcome.mismatch
    assert store.begin("u", "k1", "f1").outcome is Outcome.in_flight  # this process still owns it
    store.record_submission("u", "k1", "tx1", {"status": 201})
    store.finish("u", "k1", 201, {"tx_id": "tx1"})
    stored = store.begin("u", "k1", "f1")
    assert (stored.outcome, stored.status, stored.body) == (Outcome.stored, 201, {"tx_id": "tx1"})
    assert store.begin("u", "k2", "f").outcome is Outcome.started
    store.abandon("u", "k2")  # nothing submitted: forgotten, runs again
    assert store.begin("u", "k2", "f").outcome is Outcome.started
    store.record_submission("u", "k2", "tx2", {"status": 201})
    store.abandon("u", "k2")  # submitted: orphaned, the retry asks the ledger
    orphan = store.begin("u", "k2", "f")
    assert orphan.outcome is Outcome.orphaned and orphan.tx_id == "tx2"
    assert store.take_over("u", "k2", orphan)
    assert not store.take_over("u", "k2", orphan)  # only one retry claims it


def test_one_key_sent_to_two_replicas_at_once_runs_once(database: Database) -> None:
    """Two store objects (two gateway replicas) race for one key: exactly one starts it."""
    replicas = [IdempotencyStore(database), IdempotencyStore(database)]
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(8)

    def send(store: IdempotencyStore) -> None:
        barrier.wait()
        outcomes.append(store.begin("loan1@BankAMSP", "same-key", "fp").outcome)

    threads = [threading.Thread(target=send, args=(replicas[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.value for o in outcomes) == ["in_flight"] * 7 + ["started"]


def test_qr_payloads(database: Database, tmp_path: Path) -> None:
    qr = QrService(_key(tmp_path), "http://x", database)
    qr.remember("c1", "VIN1", "text-1")
    qr.remember("c1", "VIN1", "text-2")  # re-issued: replaced
    assert qr.payload("c1") == "text-2" and qr.payload("c2") is None
