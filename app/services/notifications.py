"""Notification use cases: subscribe to webhooks, list my notifications, see and replay dead letters.

A caller acts for one party: a user of an org for that org, an owner (role ``owner``) for their owner
reference hash. A party subscribes only to what it may see: a bank to vehicles it holds a lien on (the
ledger's own record decides, read with the caller's identity), an owner to their own vehicles. The
secret that signs the webhooks is returned once, on creation, and kept only encrypted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.ledger.port import Caller, ChaincodeRefused, LedgerPort
from app.notifications.models import Delivery, Notification, Party, Subscription
from app.notifications.routing import LIENHOLDER_EVENTS, NOTIFIED_EVENTS, OWNER_EVENTS
from app.notifications.runtime import Notifier
from app.notifications.signing import new_secret
from app.services.errors import InvalidInput, NotFound, NotPermitted, Unavailable, field_error
from app.users.roles import BANKS
from chaincode.mortgage.access import ACCESS, event_visible
from chaincode.mortgage.vin import validate_vin

MAX_SUBSCRIPTIONS_PER_PARTY = 20
MAX_URL_LENGTH = 2048
OWNER_ROLE = "owner"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: their party, their org and role (for the chaincode's read rules) and their name."""

    party: Party
    msp_id: str
    role: str
    name: str
    caller: Caller


@dataclass(frozen=True, slots=True)
class SubscriptionIn:
    url: str
    event_types: list[str]
    vins: list[str]
    description: str = ""


def actor_of(user: Any, caller: Caller) -> Actor:
    """The party a gateway user acts for. Owners carry their owner reference hash (``owner_hash``,
    bound on chain by the vehicle office when the owner is enrolled)."""
    role = str(getattr(user.role, "value", user.role))
    if role == OWNER_ROLE:
        owner_hash = getattr(user, "owner_hash", None) or caller.attributes.get("owner_hash")
        if not owner_hash:
            raise NotPermitted("access denied: this owner account is not bound to an owner reference")
        party = Party.owner(str(owner_hash))
    else:
        party = Party.org(user.msp_id)
    return Actor(party, user.msp_id, role, f"{user.username}@{user.msp_id}", caller)


def _notifier(notifier: Notifier | None) -> Notifier:
    if notifier is None:
        raise Unavailable("notifications are not available on this gateway")
    return notifier


def check_url(url: str, allow_http_hosts: list[str]) -> str:
    """https only (http just for the hosts the settings allow, e.g. 127.0.0.1 in tests), no user info,
    no fragment, and no loopback/link-local/private literal address unless that host is allowed."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise field_error(InvalidInput, "url", f"must be 1..{MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise field_error(InvalidInput, "url", f"not a valid URL ({exc})") from exc
    host = (parts.hostname or "").lower()
    if not host:
        raise field_error(InvalidInput, "url", "must name a host")
    allowed = host in {h.lower() for h in allow_http_hosts}
    if parts.scheme != "https" and not (parts.scheme == "http" and allowed):
        raise field_error(InvalidInput, "url", "must be an https:// URL")
    if parts.username or parts.password:
        raise field_error(InvalidInput, "url", "must not carry user info (the signature authenticates us)")
    if parts.fragment:
        raise field_error(InvalidInput, "url", "must not have a fragment")
    if port == 0:
        raise field_error(InvalidInput, "url", "port 0 is not valid")
    if not allowed:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            address = None
        if host == "localhost" or (
            address is not None
            and (address.is_loopback or address.is_link_local or address.is_private or address.is_unspecified)
        ):
            raise field_error(InvalidInput, "url", "must not point at a local or private address")
    return url


def _check_events(actor: Actor, event_types: list[str]) -> tuple[str, ...]:
    allowed = OWNER_EVENTS if actor.party.kind == "owner" else LIENHOLDER_EVENTS
    for i, name in enumerate(event_types):
        if name not in NOTIFIED_EVENTS:
            raise field_error(InvalidInput, f"event_types[{i}]", f"unknown event {name!r}")
        if name not in allowed:
            raise field_error(
                InvalidInput, f"event_types[{i}]", f"{name} is not notified to a {actor.party.kind}"
            )
    return tuple(sorted(set(event_types)))


async def _check_vins(ledger: LedgerPort, actor: Actor, vins: list[str]) -> tuple[str, ...]:
    checked: list[str] = []
    for i, raw in enumerate(vins):
        field = f"vins[{i}]"
        try:
            vin = validate_vin(raw)
        except ValueError as exc:
            raise field_error(InvalidInput, field, str(exc)) from exc
        try:
            vehicle = json.loads(await ledger.evaluate(actor.caller, "GetVehicle", [vin]))
        except ChaincodeRefused as exc:
            if exc.status == 404:
                raise field_error(NotFound, field, f"vehicle {vin} not found") from exc
            raise field_error(NotPermitted, field, f"vehicle {vin}: {exc.message}") from exc
        if actor.party.kind == "owner":
            if vehicle.get("owner_hash") != actor.party.ref:
                raise field_error(NotPermitted, field, f"vehicle {vin} is not yours")
        else:
            holders = {str(ref.get("lienholder")) for ref in vehicle.get("liens") or []}
            if actor.msp_id not in holders:
                raise field_error(NotPermitted, field, f"{actor.msp_id} holds no lien on vehicle {vin}")
        checked.append(vin)
    return tuple(sorted(set(checked)))


def _check_subscriber(actor: Actor) -> None:
    if actor.party.kind == "owner":
        return
    rule = ACCESS["GetLien"]
    if actor.msp_id not in BANKS or not rule.allows(actor.msp_id, actor.role):
        raise NotPermitted(
            "access denied: webhook subscriptions are for lienholders (bank users who read liens) "
            f"and owners; caller {actor.msp_id} role={actor.role}"
        )


async def create_subscription(
    notifier: Notifier | None, actor: Actor, body: SubscriptionIn, allow_http_hosts: list[str]
) -> tuple[Subscription, str]:
    """Validate and store a subscription; returns it with its secret (shown this once)."""
    n = _notifier(notifier)
    _check_subscriber(actor)
    url = check_url(body.url, allow_http_hosts)
    event_types = _check_events(actor, body.event_types)
    vins = await _check_vins(n.ledger, actor, body.vins)
    existing = await asyncio.to_thread(n.store.subscriptions, actor.party)
    if len(existing) >= MAX_SUBSCRIPTIONS_PER_PARTY:
        raise InvalidInput(f"subscriptions: at most {MAX_SUBSCRIPTIONS_PER_PARTY} per party")
    height = int((await n.ledger.health()).get("height", 0))
    subscription = Subscription(
        subscription_id="sub_" + secrets.token_hex(12),
        party=actor.party,
        created_by=actor.name,
        url=url,
        event_types=event_types,
        vins=vins,
        description=body.description.strip(),
        start_block=height,
        created_at=time.time(),
    )
    secret = new_secret()
    sealed = n.box.seal(secret, subscription.subscription_id)
    await asyncio.to_thread(n.store.add_subscription, subscription, sealed)
    return subscription, secret


async def list_subscriptions(notifier: Notifier | None, actor: Actor) -> list[Subscription]:
    return await asyncio.to_thread(_notifier(notifier).store.subscriptions, actor.party)


async def get_subscription(notifier: Notifier | None, actor: Actor, subscription_id: str) -> Subscription:
    found = await asyncio.to_thread(_notifier(notifier).store.subscription, subscription_id)
    if found is None or found[0].party != actor.party:  # another party's subscription is not disclosed
        raise field_error(NotFound, "subscription_id", f"subscription {subscription_id} not found")
    return found[0]


async def delete_subscription(notifier: Notifier | None, actor: Actor, subscription_id: str) -> None:
    n = _notifier(notifier)
    await get_subscription(n, actor, subscription_id)
    await asyncio.to_thread(n.store.delete_subscription, subscription_id)


async def list_notifications(
    notifier: Notifier | None, actor: Actor, *, limit: int = 50, before_block: int | None = None
) -> list[Notification]:
    """The caller's party's notifications, newest first; an org user sees only events their role may read."""
    notes = await asyncio.to_thread(
        _notifier(notifier).store.notifications, actor.party, limit=limit, before_block=before_block
    )
    if actor.party.kind == "owner":
        return notes
    return [n for n in notes if event_visible(n.event_name, actor.msp_id, actor.role, n.data)]


async def list_deliveries(
    notifier: Notifier | None, actor: Actor, *, status: str | None = None, limit: int = 100
) -> list[Delivery]:
    n = _notifier(notifier)
    subs = await asyncio.to_thread(n.store.subscriptions, actor.party)
    return await asyncio.to_thread(
        n.store.deliveries, subscription_ids=[s.subscription_id for s in subs], status=status, limit=limit
    )


async def replay_dead_letter(notifier: Notifier | None, actor: Actor, delivery_id: str) -> Delivery:
    n = _notifier(notifier)
    delivery = await asyncio.to_thread(n.store.delivery, delivery_id)
    if delivery is None:
        raise field_error(NotFound, "delivery_id", f"delivery {delivery_id} not found")
    await get_subscription(n, actor, delivery.subscription_id)  # 404 for another party's delivery
    if not await asyncio.to_thread(n.store.replay, delivery_id, time.time()):
        raise field_error(
            InvalidInput, "delivery_id", f"delivery {delivery_id} is {delivery.status}, not dead"
        )
    n.dispatcher.wake.set()
    replayed = await asyncio.to_thread(n.store.delivery, delivery_id)
    assert replayed is not None
    return replayed
