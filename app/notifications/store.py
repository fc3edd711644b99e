"""Where the notifier keeps its state: checkpoint, vehicle index, inbox, subscriptions, webhook outbox.

:class:`NotificationStore` is the port; :class:`DbNotificationStore` the adapter, over the off-chain
store's :class:`~app.store.database.Database` (SQLite file by default, PostgreSQL shared by the
org's replicas; tables ``notify_*``, versioned migrations ``app/store/sql/*/notifications``). The one
invariant: an event's index changes, its notifications, their deliveries and the checkpoint after it
are written in ONE transaction, so a crash leaves the event either wholly processed or not at all,
and notification ids (from tx id + event index + party + topic) make a re-processed event a no-op.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from app.store.config import open_component
from app.store.database import Database, SqliteDatabase, Tx
from app.store.migrations import migrate, sqlite_columns

from .models import Delivery, EventPosition, Notification, Party, Subscription, idempotency_key
from .routing import IndexChange, VehicleParties

COMPONENT = "notifications"


class NotificationStore(Protocol):
    """The notifier's persistence (see the module doc for the one-transaction invariant)."""

    def checkpoint(self) -> tuple[int | None, str]:
        """(block to resume from, last tx processed in it); (None, "") before the first event."""
        ...

    def vehicle_parties(self, vin: str) -> VehicleParties: ...

    def holds_lien_on(self, msp_id: str, vin: str) -> bool: ...

    def owner_of(self, vin: str) -> str | None: ...

    def record_event(
        self, position: EventPosition, changes: list[IndexChange], notes: list[Notification]
    ) -> int:
        """Apply the event atomically; returns how many deliveries it queued."""
        ...

    def add_subscription(self, subscription: Subscription, secret_sealed: bytes) -> None: ...

    def subscriptions(self, party: Party | None = None) -> list[Subscription]: ...

    def subscription(self, subscription_id: str) -> tuple[Subscription, bytes] | None: ...

    def delete_subscription(self, subscription_id: str) -> bool: ...

    def notifications(
        self, party: Party, *, limit: int = 50, before_block: int | None = None
    ) -> list[Notification]: ...

    def notification(self, notification_id: str) -> Notification | None: ...

    def claim_due(self, now: float, limit: int, lease_seconds: float) -> list[Delivery]: ...

    def next_due(self) -> float | None: ...

    def mark_delivered(self, delivery_id: str, status: int, now: float) -> None: ...

    def mark_failed(
        self, delivery_id: str, *, error: str, status: int | None, next_attempt_at: float | None
    ) -> None:
        """A failed attempt: retry at ``next_attempt_at``, or None to dead-letter it."""
        ...

    def deliveries(
        self, *, subscription_ids: Iterable[str], status: str | None = None, limit: int = 100
    ) -> list[Delivery]: ...

    def delivery(self, delivery_id: str) -> Delivery | None: ...

    def replay(self, delivery_id: str, now: float) -> bool:
        """A dead letter back to pending with a fresh attempt budget; False if it is not dead."""
        ...

    def close(self) -> None: ...


class DbNotificationStore:
    """The notifier's tables in the off-chain store (:mod:`app.store`): a SQLite file by default, the
    org's PostgreSQL database in production, where every gateway replica sees the same checkpoint,
    subscriptions and outbox.

    Two replicas may follow the same event stream: events are recorded under one lock, an event at or
    behind what is already recorded (an older block, or a (tx, index) of the checkpoint's block seen
    before) changes nothing, so a lagging replica can neither duplicate a notification nor roll the
    vehicle index back. Deliveries are claimed under a lease, so one replica sends each.
    """

    def __init__(self, db: Database, *, owned: bool = False) -> None:
        self.db = db
        self._owned = owned
        migrate(db, COMPONENT, legacy=legacy_version if db.dialect == "sqlite" else None)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.reading() as tx:
            return tx.all(sql, args)

    # --- checkpoint and index -------------------------------------------------------------------
    def checkpoint(self) -> tuple[int | None, str]:
        rows = self._rows("SELECT block_number, tx_id FROM notify_checkpoint WHERE id=1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else (None, "")

    def vehicle_parties(self, vin: str) -> VehicleParties:
        with self.db.reading() as tx:
            owner = tx.one("SELECT owner_hash FROM notify_vehicle_owner WHERE vin=?", (vin,))
            liens = tx.all("SELECT lien_id, lienholder FROM notify_vehicle_lien WHERE vin=?", (vin,))
        return VehicleParties(owner[0] if owner else None, {str(a): str(b) for a, b in liens})

    def holds_lien_on(self, msp_id: str, vin: str) -> bool:
        return bool(
            self._rows("SELECT 1 FROM notify_vehicle_lien WHERE lienholder=? AND vin=?", (msp_id, vin))
        )

    def owner_of(self, vin: str) -> str | None:
        return self.vehicle_parties(vin).owner_hash

    def record_event(
        self, position: EventPosition, changes: list[IndexChange], notes: list[Notification]
    ) -> int:
        queued = 0
        with self.db.transaction(lock=_RECORD_LOCK) as tx:
            if not _first_time(tx, position):
                return 0  # recorded before (a replay after a crash, or another replica got here first)
            for change in changes:
                _apply(tx, change)
            subs = [_subscription(r) for r in tx.all(_SUB_SELECT + " WHERE active=1")]
            for note in notes:
                nid = note.notification_id
                inserted = tx.execute(
                    "INSERT INTO notify_notification VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (
                        nid,
                        note.party.key,
                        note.event_name,
                        note.topic,
                        note.vin,
                        position.block_number,
                        position.tx_id,
                        position.event_index,
                        note.summary,
                        json.dumps(note.data, sort_keys=True, default=str),
                        note.created_at,
                    ),
                )
                if not inserted:
                    continue
                for sub, _ in subs:
                    if sub.wants(note):
                        tx.execute(
                            "INSERT INTO notify_delivery (delivery_id, subscription_id, "
                            "notification_id, status, next_attempt_at, created_at) "
                            "VALUES (?,?,?,'pending',?,?) ON CONFLICT DO NOTHING",
                            (
                                idempotency_key(sub.subscription_id, nid),
                                sub.subscription_id,
                                nid,
                                note.created_at,
                                note.created_at,
                            ),
                        )
                        queued += 1
            tx.execute(
                "INSERT INTO notify_checkpoint VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "block_number=excluded.block_number, tx_id=excluded.tx_id",
                (position.block_number, position.tx_id),
            )
        return queued

    # --- subscriptions ---------------------------------------------------------------------------
    def add_subscription(self, subscription: Subscription, secret_sealed: bytes) -> None:
        s = subscription
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO notify_subscription VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    s.subscription_id,
                    s.party.key,
                    s.created_by,
                    s.url,
                    json.dumps(list(s.event_types)),
                    json.dumps(list(s.vins)),
                    s.description,
                    secret_sealed,
                    s.start_block,
                    s.created_at,
                    int(s.active),
                ),
            )

    def subscriptions(self, party: Party | None = None) -> list[Subscription]:
        if party is None:
            rows = self._rows(_SUB_SELECT + " ORDER BY created_at")
        else:
            rows = self._rows(_SUB_SELECT + " WHERE party=? ORDER BY created_at", (party.key,))
        return [_subscription(r)[0] for r in rows]

    def subscription(self, subscription_id: str) -> tuple[Subscription, bytes] | None:
        rows = self._rows(_SUB_SELECT + " WHERE subscription_id=?", (subscription_id,))
        return _subscription(rows[0]) if rows else None

    def delete_subscription(self, subscription_id: str) -> bool:
        """Removes the subscription and its undelivered outbox rows (nobody would receive them)."""
        with self.db.transaction() as tx:
            gone = tx.execute("DELETE FROM notify_subscription WHERE subscription_id=?", (subscription_id,))
            tx.execute(
                "DELETE FROM notify_delivery WHERE subscription_id=? AND status!='delivered'",
                (subscription_id,),
            )
        return bool(gone)

    # --- inbox -----------------------------------------------------------------------------------
    def notifications(
        self, party: Party, *, limit: int = 50, before_block: int | None = None
    ) -> list[Notification]:
        sql = _NOTE_SELECT + " WHERE party=?"
        args: list[Any] = [party.key]
        if before_block is not None:
            sql += " AND block_number < ?"
            args.append(before_block)
        sql += " ORDER BY block_number DESC, tx_id, topic LIMIT ?"
        args.append(limit)
        return [_notification(r) for r in self._rows(sql, tuple(args))]

    def notification(self, notification_id: str) -> Notification | None:
        rows = self._rows(_NOTE_SELECT + " WHERE notification_id=?", (notification_id,))
        return _notification(rows[0]) if rows else None

    # --- outbox ----------------------------------------------------------------------------------
    def claim_due(self, now: float, limit: int, lease_seconds: float) -> list[Delivery]:
        """Lease due deliveries (another dispatcher, in this process or another replica, skips them
        until the lease ends)."""
        with self.db.transaction(lock=_CLAIM_LOCK) as tx:
            rows = tx.all(
                _DEL_SELECT + " WHERE status='pending' AND next_attempt_at<=? AND lease_until<=? "
                "ORDER BY next_attempt_at LIMIT ?",
                (now, now, limit),
            )
            for row in rows:
                tx.execute(
                    "UPDATE notify_delivery SET lease_until=? WHERE delivery_id=?",
                    (now + lease_seconds, row[0]),
                )
        return [_delivery(r) for r in rows]

    def next_due(self) -> float | None:
        rows = self._rows(
            "SELECT MIN(CASE WHEN next_attempt_at > lease_until THEN next_attempt_at ELSE lease_until END)"
            " FROM notify_delivery WHERE status='pending'"
        )
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def mark_delivered(self, delivery_id: str, status: int, now: float) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE notify_delivery SET status='delivered', attempts=attempts+1, last_status=?, "
                "last_error=NULL, delivered_at=?, lease_until=0 WHERE delivery_id=?",
                (status, now, delivery_id),
            )

    def mark_failed(
        self, delivery_id: str, *, error: str, status: int | None, next_attempt_at: float | None
    ) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE notify_delivery SET attempts=attempts+1, last_error=?, last_status=?, lease_until=0, "
                "status=?, next_attempt_at=COALESCE(?, next_attempt_at) WHERE delivery_id=?",
                (
                    error[:500],
                    status,
                    "pending" if next_attempt_at is not None else "dead",
                    next_attempt_at,
                    delivery_id,
                ),
            )

    def deliveries(
        self, *, subscription_ids: Iterable[str], status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        ids = list(subscription_ids)
        if not ids:
            return []
        sql = _DEL_SELECT + f" WHERE subscription_id IN ({','.join('?' * len(ids))})"
        args: list[Any] = list(ids)
        if status is not None:
            sql += " AND status=?"
            args.append(status)
        sql += " ORDER BY created_at DESC LIMIT ?"
        args.append(limit)
        return [_delivery(r) for r in self._rows(sql, tuple(args))]

    def delivery(self, delivery_id: str) -> Delivery | None:
        rows = self._rows(_DEL_SELECT + " WHERE delivery_id=?", (delivery_id,))
        return _delivery(rows[0]) if rows else None

    def replay(self, delivery_id: str, now: float) -> bool:
        with self.db.transaction() as tx:
            return bool(
                tx.execute(
                    "UPDATE notify_delivery SET status='pending', attempts=0, next_attempt_at=?, "
                    "lease_until=0 WHERE delivery_id=? AND status='dead'",
                    (now, delivery_id),
                )
            )

    def close(self) -> None:
        if self._owned:  # a shared PostgreSQL pool is closed by its owner
            self.db.close()


class SqliteNotificationStore(DbNotificationStore):
    """The notifier's own SQLite file (WAL, 0600), as ``notifications.sqlite`` under the data dir."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(SqliteDatabase(self.path), owned=True)


def open_store(settings: Any, sqlite_path: Path) -> DbNotificationStore:
    """The store ``MLEDGER_STORE_URL`` names: ``sqlite_path`` by default, else the shared PostgreSQL."""
    db = open_component(settings, sqlite_path)
    return DbNotificationStore(db, owned=isinstance(db, SqliteDatabase))


def legacy_version(tx: Tx) -> int:
    """A notifications.sqlite from before the store: its tables match version 1."""
    return 1 if sqlite_columns(tx, "delivery") is not None and sqlite_columns(tx, "checkpoint") else 0


def _first_time(tx: Tx, position: EventPosition) -> bool:
    row = tx.one("SELECT block_number FROM notify_checkpoint WHERE id=1")
    if row is not None and int(row[0]) > position.block_number:
        return False
    fresh = tx.execute(
        "INSERT INTO notify_seen (block_number, tx_id, event_index) VALUES (?,?,?) ON CONFLICT DO NOTHING",
        (position.block_number, position.tx_id, position.event_index),
    )
    if fresh:
        tx.execute("DELETE FROM notify_seen WHERE block_number < ?", (position.block_number,))
    return bool(fresh)


_RECORD_LOCK = "mledger-notify:record"
_CLAIM_LOCK = "mledger-notify:claim"


_SUB_SELECT = (
    "SELECT subscription_id, party, created_by, url, event_types, vins, description, start_block, "
    "created_at, active, secret_sealed FROM notify_subscription"
)
_NOTE_SELECT = (
    "SELECT notification_id, party, event_name, topic, vin, block_number, tx_id, event_index, summary, "
    "data, created_at FROM notify_notification"
)
_DEL_SELECT = (
    "SELECT delivery_id, subscription_id, notification_id, status, attempts, next_attempt_at, last_error, "
    "last_status, created_at, delivered_at FROM notify_delivery"
)


def _apply(tx: Tx, change: IndexChange) -> None:
    if change.op == "set_owner":
        tx.execute(
            "INSERT INTO notify_vehicle_owner VALUES (?,?) ON CONFLICT(vin) DO UPDATE SET "
            "owner_hash=excluded.owner_hash",
            (change.vin, change.value),
        )
    elif change.op == "add_lien":
        tx.execute(
            "INSERT INTO notify_vehicle_lien VALUES (?,?,?) ON CONFLICT(vin, lien_id) DO UPDATE SET "
            "lienholder=excluded.lienholder",
            (change.vin, change.lien_id, change.value),
        )
    elif change.op == "remove_lien":
        tx.execute("DELETE FROM notify_vehicle_lien WHERE vin=? AND lien_id=?", (change.vin, change.lien_id))
    else:  # pragma: no cover - routing makes only these
        raise ValueError(f"unknown index change {change.op!r}")


def _subscription(row: tuple[Any, ...]) -> tuple[Subscription, bytes]:
    return (
        Subscription(
            subscription_id=row[0],
            party=Party.parse(row[1]),
            created_by=row[2],
            url=row[3],
            event_types=tuple(json.loads(row[4])),
            vins=tuple(json.loads(row[5])),
            description=row[6],
            start_block=int(row[7]),
            created_at=float(row[8]),
            active=bool(row[9]),
        ),
        bytes(row[10]),
    )


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        party=Party.parse(row[1]),
        event_name=row[2],
        topic=row[3],
        vin=row[4],
        position=EventPosition(int(row[5]), row[6], int(row[7])),
        summary=row[8],
        data=json.loads(row[9]),
        created_at=float(row[10]),
    )


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        delivery_id=row[0],
        subscription_id=row[1],
        notification_id=row[2],
        status=row[3],
        attempts=int(row[4]),
        next_attempt_at=float(row[5]),
        last_error=row[6],
        last_status=row[7],
        created_at=float(row[8]),
        delivered_at=row[9],
    )


def now() -> float:
    return time.time()
