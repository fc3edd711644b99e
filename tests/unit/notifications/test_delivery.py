"""The dispatcher against a real HTTP receiver: retries with back-off until accepted, once per
idempotency key, signed; after the last attempt a dead letter, which a replay delivers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from app.ledger.port import LedgerEvent
from app.notifications.consumer import EventConsumer
from app.notifications.delivery import RetryPolicy, WebhookDispatcher
from app.notifications.models import Party, Subscription
from app.notifications.secret_box import SecretBox
from app.notifications.signing import new_secret
from app.notifications.store import SqliteNotificationStore
from tests.unit.notifications.receiver import Receiver

VIN = "LHGCV1F30NA000001"


def _setup(
    tmp_path: Path, url: str, policy: RetryPolicy
) -> tuple[SqliteNotificationStore, WebhookDispatcher, str]:
    store = SqliteNotificationStore(tmp_path / "n.sqlite")
    box = SecretBox.from_file(tmp_path / "notify.key")
    secret = new_secret()
    sub = Subscription("sub_" + "a" * 24, Party.org("BankAMSP"), "loan1@BankAMSP", url, (), (), "", 0, 0)
    store.add_subscription(sub, box.seal(secret, sub.subscription_id))
    consumer = EventConsumer(ledger=None, store=store)  # type: ignore[arg-type]
    payload = {"vin": VIN, "lien_id": "L1", "lienholder": "BankAMSP", "priority": 1}
    consumer.process(LedgerEvent(1, "tx1", "mortgage", "LienRecorded", json.dumps(payload).encode()))
    for i, kind in enumerate(("STOLEN", "CUSTOMS")):
        hold = {"vin": VIN, "kind": kind, "document_id": "D", "lienholders": ["BankAMSP"]}
        consumer.process(LedgerEvent(2 + i, f"tx{2 + i}", "mortgage", "HoldSet", json.dumps(hold).encode()))
    return store, WebhookDispatcher(store, box, policy=policy, timeout=5), secret


async def _drain(dispatcher: WebhookDispatcher, store: SqliteNotificationStore, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await dispatcher.run_once()
        if not store.deliveries(subscription_ids=["sub_" + "a" * 24], status="pending"):
            return
        await asyncio.sleep(0.02)


async def test_a_failing_receiver_gets_each_notification_once_signed(
    tmp_path: Path, receiver: Receiver
) -> None:
    store, dispatcher, secret = _setup(tmp_path, receiver.url, RetryPolicy(8, 0.05, 0.2))
    receiver.secret, receiver.fail_first = secret, 2
    await _drain(dispatcher, store, 20)
    await dispatcher.close()
    rows = store.deliveries(subscription_ids=["sub_" + "a" * 24])
    assert [r.status for r in rows] == ["delivered", "delivered"]
    assert all(r.attempts == 3 for r in rows)  # two refused, the third accepted
    assert set(receiver.accepted) == {r.delivery_id for r in rows}
    assert all(n == 3 for n in receiver.attempts.values()) and receiver.bad_signatures == 0
    bodies = sorted(receiver.accepted.values(), key=lambda b: b["block_number"])
    assert [(b["type"], b["data"]["kind"], b["vin"]) for b in bodies] == [
        ("HoldSet", "STOLEN", VIN),
        ("HoldSet", "CUSTOMS", VIN),
    ]


async def test_after_the_last_attempt_a_dead_letter_that_a_replay_delivers(
    tmp_path: Path, receiver: Receiver
) -> None:
    store, dispatcher, secret = _setup(tmp_path, receiver.url, RetryPolicy(3, 0.02, 0.05))
    receiver.secret, receiver.always_fail = secret, True
    await _drain(dispatcher, store, 20)
    dead = store.deliveries(subscription_ids=["sub_" + "a" * 24], status="dead")
    assert len(dead) == 2 and all(d.attempts == 3 and d.last_status == 503 for d in dead)
    assert all(n == 3 for n in receiver.attempts.values()) and not receiver.accepted
    receiver.always_fail = False
    assert store.replay(dead[0].delivery_id, time.time())
    assert not store.replay(dead[0].delivery_id, time.time())  # pending now, not dead
    await _drain(dispatcher, store, 20)
    await dispatcher.close()
    assert list(receiver.accepted) == [dead[0].delivery_id]
    assert store.delivery(dead[0].delivery_id).status == "delivered"  # type: ignore[union-attr]
    assert store.delivery(dead[1].delivery_id).status == "dead"  # type: ignore[union-attr]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(10, 2.0, 60.0)
    assert policy.delay(1, lambda: 1.0) == 2.0 and policy.delay(1, lambda: 0.0) == 1.0
    assert policy.delay(4, lambda: 1.0) == 16.0
    assert policy.delay(9, lambda: 1.0) == 60.0
    assert 1.0 <= policy.delay(5) <= 32.0
