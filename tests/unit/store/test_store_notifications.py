"""The notifier's state in the off-chain store, on SQLite and PostgreSQL: one event recorded once, two
replicas sharing checkpoint and outbox, and the upgrade of a notifications.sqlite from before the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from app.ledger.port import LedgerEvent
from app.notifications.consumer import EventConsumer
from app.notifications.models import Party, Subscription
from app.notifications.store import DbNotificationStore, SqliteNotificationStore
from app.store.database import Database
from app.store.migrations import applied, migrate, migrations

VIN = "LHGCV1F30NA000001"
BANK = Party.org("BankAMSP")


def _event(block: int, tx: str, name: str, **payload: object) -> LedgerEvent:
    return LedgerEvent(block, tx, "mortgage", name, json.dumps(payload).encode())


def _lien(block: int, tx: str, lien_id: str, holder: str = "BankAMSP") -> LedgerEvent:
    return _event(block, tx, "LienRecorded", vin=VIN, lien_id=lien_id, lienholder=holder, priority=1)


def _seized(block: int, tx: str) -> LedgerEvent:
    return _event(block, tx, "VehicleSeized", vin=VIN, authority="court", document_id="D")


def _lifted(block: int, tx: str) -> LedgerEvent:
    return _event(block, tx, "SeizureLifted", vin=VIN, document_id="D", status="ACTIVE")


def _released(block: int, tx: str) -> LedgerEvent:
    return _event(block, tx, "LienReleased", vin=VIN, lien_id="L1", lienholder="BankAMSP")


def _sub(store: DbNotificationStore, sub_id: str = "sub_" + "0" * 24) -> Subscription:
    sub = Subscription(sub_id, BANK, "loan1@BankAMSP", "https://x.test/h", (), (), "", 0, 0)
    store.add_subscription(sub, b"\x00sealed\xff")
    return sub


def test_events_subscriptions_and_outbox(database: Database) -> None:
    store = DbNotificationStore(database)
    assert applied(database, "notifications") == len(migrations(database.dialect, "notifications")) == 2
    consumer = EventConsumer(ledger=None, store=store, clock=lambda: 100.0)  # type: ignore[arg-type]
    sub = _sub(store)
    assert store.subscription(sub.subscription_id) == (sub, b"\x00sealed\xff")  # bytes survive both
    assert consumer.process(_lien(3, "tx1", "L1")) == 0  # tells the owner only (none known yet)
    assert consumer.process(_seized(4, "tx2")) == 1
    assert consumer.process(_seized(4, "tx2")) == 0  # replayed after a crash: nothing new
    assert consumer.process(_lifted(5, "tx3")) == 1
    assert store.checkpoint() == (5, "tx3")
    assert store.holds_lien_on("BankAMSP", VIN) and store.vehicle_parties(VIN).liens == {"L1": "BankAMSP"}
    assert [n.event_name for n in store.notifications(BANK)] == ["SeizureLifted", "VehicleSeized"]
    assert store.next_due() == 100.0
    claimed = store.claim_due(now=100.0, limit=10, lease_seconds=30)
    assert len(claimed) == 2 and store.claim_due(now=101.0, limit=10, lease_seconds=30) == []
    assert store.next_due() == 130.0  # the lease
    store.mark_delivered(claimed[0].delivery_id, 204, now=101.0)
    store.mark_failed(claimed[1].delivery_id, error="boom", status=500, next_attempt_at=None)
    dead = store.delivery(claimed[1].delivery_id)
    assert dead is not None and (dead.status, dead.attempts, dead.last_status) == ("dead", 1, 500)
    assert store.replay(dead.delivery_id, now=200.0) and not store.replay(dead.delivery_id, now=200.0)
    statuses = {d.status for d in store.deliveries(subscription_ids=[sub.subscription_id])}
    assert statuses == {"delivered", "pending"}
    assert store.delete_subscription(sub.subscription_id)
    assert [d.status for d in store.deliveries(subscription_ids=[sub.subscription_id])] == ["delivered"]
    assert store.subscription(sub.subscription_id) is None and not store.delete_subscription("nope")


def test_two_replicas_share_checkpoint_index_and_outbox(replicas: tuple[Database, Database]) -> None:
    one, two = DbNotificationStore(replicas[0]), DbNotificationStore(replicas[1])
    _sub(one)
    first = EventConsumer(ledger=None, store=one, clock=lambda: 100.0)  # type: ignore[arg-type]
    lagging = EventConsumer(ledger=None, store=two, clock=lambda: 100.0)  # type: ignore[arg-type]
    for event in (_lien(3, "tx1", "L1"), _seized(4, "tx2"), _lifted(5, "tx3"), _released(6, "tx4")):
        first.process(event)
    assert two.checkpoint() == (6, "tx4")  # the other replica resumes from here
    # the second replica's stream catches up with events already recorded: nothing changes
    assert lagging.process(_lien(3, "tx1", "L1")) == 0
    assert lagging.process(_seized(4, "tx2")) == 0
    assert lagging.process(_released(6, "tx4")) == 0
    assert one.vehicle_parties(VIN).liens == {}  # not rolled back to the lien of block 3
    assert one.checkpoint() == (6, "tx4")
    assert len(one.notifications(BANK)) == len(two.notifications(BANK)) == 2
    claimed = [one.claim_due(100.0, 1, 30), two.claim_due(100.0, 10, 30)]
    ids = [d.delivery_id for batch in claimed for d in batch]
    assert len(ids) == 2 and len(set(ids)) == 2  # each delivery leased by one replica only


def test_a_notifications_file_from_before_the_store_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "notifications.sqlite"
    legacy = (Path(__file__).parents[3] / "app/store/sql/sqlite/notifications/0001_initial.sql").read_text()
    with sqlite3.connect(path) as conn:  # the layout and data of the previous release
        conn.executescript(legacy)
        conn.execute("INSERT INTO checkpoint VALUES (1, 7, 'tx7')")
        conn.execute("INSERT INTO vehicle_lien VALUES (?, 'L1', 'BankAMSP')", (VIN,))
        conn.execute(
            "INSERT INTO subscription VALUES ('sub_1', 'org:BankAMSP', 'u', 'https://x.test', '[]', '[]',"
            " '', x'00ff', 0, 1.0, 1)"
        )
        conn.execute(
            "INSERT INTO delivery (delivery_id, subscription_id, notification_id, status, next_attempt_at,"
            " created_at) VALUES ('d1', 'sub_1', 'n1', 'pending', 5.0, 5.0)"
        )
    store = SqliteNotificationStore(path)
    assert store.checkpoint() == (7, "tx7")
    assert store.holds_lien_on("BankAMSP", VIN)
    found = store.subscription("sub_1")
    assert found is not None and found[1] == b"\x00\xff"
    assert [d.delivery_id for d in store.claim_due(10.0, 10, 30)] == ["d1"]
    assert applied(store.db, "notifications") == 2
    store.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations WHERE component='notifications'")
        assert rows.fetchall() == [(1, "initial"), (2, "shared_names")]


def test_upgrade_from_version_1_with_data(database: Database) -> None:
    assert migrate(database, "notifications", target=1) == 1
    table = "notify_checkpoint" if database.dialect == "postgresql" else "checkpoint"
    with database.transaction() as tx:
        tx.execute(f"INSERT INTO {table} VALUES (1, 9, 'tx9')")
    store = DbNotificationStore(database)
    assert store.checkpoint() == (9, "tx9")
    consumer = EventConsumer(ledger=None, store=store, clock=lambda: 1.0)  # type: ignore[arg-type]
    assert consumer.process(_lien(8, "tx8", "L1")) == 0  # behind the checkpoint: already processed
    consumer.process(_lien(9, "tx9b", "L2"))
    assert consumer.process(_lien(9, "tx9b", "L2")) == 0
    assert store.vehicle_parties(VIN).liens == {"L2": "BankAMSP"} and store.checkpoint() == (9, "tx9b")
