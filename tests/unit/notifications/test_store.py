"""The store's one invariant: an event is recorded once, with its deliveries and the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from app.ledger.port import LedgerEvent
from app.notifications.consumer import EventConsumer
from app.notifications.models import Party, Subscription, idempotency_key
from app.notifications.store import SqliteNotificationStore

VIN = "LHGCV1F30NA000001"


def _event(block: int, tx: str, name: str, **payload: object) -> LedgerEvent:
    return LedgerEvent(block, tx, "mortgage", name, json.dumps(payload).encode())


def _sub(store: SqliteNotificationStore, start_block: int, sub_id: str = "sub_" + "0" * 24) -> Subscription:
    sub = Subscription(
        sub_id, Party.org("BankAMSP"), "loan1@BankAMSP", "https://x.test/h", (), (), "", start_block, 0
    )
    store.add_subscription(sub, b"sealed")
    return sub


def test_an_event_processed_twice_makes_one_notification_and_one_delivery(tmp_path: Path) -> None:
    store = SqliteNotificationStore(tmp_path / "n.sqlite")
    consumer = EventConsumer(ledger=None, store=store, clock=lambda: 100.0)  # type: ignore[arg-type]
    sub = _sub(store, start_block=0)
    consumer.process(
        _event(3, "tx1", "LienRecorded", vin=VIN, lien_id="L1", lienholder="BankAMSP", priority=1)
    )
    seized = _event(4, "tx2", "VehicleSeized", vin=VIN, authority="court", document_id="D")
    assert consumer.process(seized) == 1
    assert consumer.process(seized) == 0  # a replay after a crash: nothing new
    assert store.checkpoint() == (4, "tx2")
    notes = store.notifications(Party.org("BankAMSP"))
    assert [(n.event_name, n.topic) for n in notes] == [("VehicleSeized", "hold")]
    deliveries = store.deliveries(subscription_ids=[sub.subscription_id])
    assert [d.delivery_id for d in deliveries] == [
        idempotency_key(sub.subscription_id, notes[0].notification_id)
    ]
    store.close()
    reopened = SqliteNotificationStore(tmp_path / "n.sqlite")
    assert reopened.checkpoint() == (4, "tx2")
    assert reopened.vehicle_parties(VIN).liens == {"L1": "BankAMSP"}


def test_a_subscription_gets_only_events_from_its_start_block_and_filters(tmp_path: Path) -> None:
    store = SqliteNotificationStore(tmp_path / "n.sqlite")
    consumer = EventConsumer(ledger=None, store=store, clock=lambda: 100.0)  # type: ignore[arg-type]
    late = _sub(store, start_block=5)
    filtered = Subscription(
        "sub_" + "1" * 24, Party.org("BankAMSP"), "x", "https://x.test", ("HoldSet",), (), "", 0, 0
    )
    store.add_subscription(filtered, b"s")
    consumer.process(
        _event(2, "t1", "LienRecorded", vin=VIN, lien_id="L1", lienholder="BankAMSP", priority=1)
    )
    consumer.process(_event(4, "t2", "VehicleSeized", vin=VIN, authority="a", document_id="D"))
    consumer.process(_event(6, "t3", "SeizureLifted", vin=VIN, document_id="D", status="ACTIVE"))
    hold = {"vin": VIN, "kind": "STOLEN", "document_id": "P", "lienholders": ["BankAMSP"]}
    consumer.process(_event(7, "t4", "HoldSet", **hold))
    got = {
        s.subscription_id: sorted(
            store.notification(d.notification_id).event_name  # type: ignore[union-attr]
            for d in store.deliveries(subscription_ids=[s.subscription_id])
        )
        for s in (late, filtered)
    }
    assert got == {late.subscription_id: ["HoldSet", "SeizureLifted"], filtered.subscription_id: ["HoldSet"]}
