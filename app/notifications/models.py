"""Value types of the notification pipeline: parties, notifications, subscriptions, deliveries.

A *party* is whom an event concerns: an org (``org:BankAMSP``, a lienholder, the vehicle office) or a
vehicle's owner (``owner:<owner reference hash>``, the salted hash the chain keeps instead of personal
data). Users act for a party: a bank's users for their org, an owner for their own hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

PartyKind = Literal["org", "owner"]
DeliveryStatus = Literal["pending", "delivered", "dead"]


@dataclass(frozen=True, slots=True)
class Party:
    kind: PartyKind
    ref: str  # MSP id of an org, owner reference hash of an owner

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ref}"

    @classmethod
    def org(cls, msp_id: str) -> Party:
        return cls("org", msp_id)

    @classmethod
    def owner(cls, owner_hash: str) -> Party:
        return cls("owner", owner_hash)

    @classmethod
    def parse(cls, key: str) -> Party:
        kind, _, ref = key.partition(":")
        if kind not in ("org", "owner") or not ref:
            raise ValueError(f"party: expected org:<MSP id> or owner:<hash>, got {key!r}")
        return cls(kind, ref)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class EventPosition:
    """Where an event sits on the chain; (tx id, event index) identifies it (a Fabric transaction
    carries one chaincode event, index 0; the index keeps the key stable if that ever changes)."""

    block_number: int
    tx_id: str
    event_index: int = 0


@dataclass(frozen=True, slots=True)
class Notification:
    """One event as it concerns one party. ``notification_id`` is derived from the event's position
    and the party, so replaying the same event can never make a second notification."""

    party: Party
    event_name: str
    vin: str | None
    position: EventPosition
    topic: str  # why this party hears of it: lien_recorded, hold, foreclosure_by_other, ...
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    @property
    def notification_id(self) -> str:
        return notification_id(self.position, self.party, self.topic)


def notification_id(position: EventPosition, party: Party, topic: str) -> str:
    raw = f"{position.tx_id}\x00{position.event_index}\x00{party.key}\x00{topic}".encode()
    return "ntf_" + hashlib.sha256(raw).hexdigest()[:32]


def idempotency_key(subscription_id: str, notification_id: str) -> str:
    """The key a receiver dedupes by: one per (subscription, notification), the same on every retry."""
    return "whk_" + hashlib.sha256(f"{subscription_id}\x00{notification_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    party: Party
    created_by: str  # user@MSP
    url: str
    event_types: tuple[str, ...]  # empty: every event the party hears of
    vins: tuple[str, ...]  # empty: every vehicle the party is concerned by
    description: str
    start_block: int  # events before this block are not delivered (the chain before the subscription)
    created_at: float
    active: bool = True

    def wants(self, note: Notification) -> bool:
        if not self.active or note.party != self.party or note.position.block_number < self.start_block:
            return False
        if self.event_types and note.event_name not in self.event_types:
            return False
        return not (self.vins and note.vin not in self.vins)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery of one notification to one subscription (the outbox row)."""

    delivery_id: str  # = the idempotency key
    subscription_id: str
    notification_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float
    last_error: str | None
    last_status: int | None
    created_at: float
    delivered_at: float | None
