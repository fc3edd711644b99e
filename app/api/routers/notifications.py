"""Notifications: my notifications (the owner page lists them), webhook subscriptions, dead letters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from app.api.deps import CurrentUser, State
from app.api.models import Strict
from app.notifications.models import Delivery, Notification, Subscription
from app.services import notifications as service

router = APIRouter(prefix="/notifications", tags=["notifications"])

SubscriptionId = Annotated[str, Path(pattern=r"^sub_[0-9a-f]{24}$")]
DeliveryId = Annotated[str, Path(pattern=r"^whk_[0-9a-f]{32}$")]


class SubscriptionCreate(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2048, description="https:// endpoint receiving POSTs")]
    event_types: Annotated[
        list[str], Field(max_length=64, description="Event names to receive; empty: all the party hears of")
    ] = Field(default_factory=list)
    vins: Annotated[
        list[str], Field(max_length=500, description="Only these vehicles; empty: every vehicle of the party")
    ] = Field(default_factory=list)
    description: Annotated[str, Field(max_length=200)] = ""


def _actor(state: Any, user: Any) -> service.Actor:
    return service.actor_of(user.user, user.caller)


def subscription_json(s: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": s.subscription_id,
        "party": s.party.key,
        "created_by": s.created_by,
        "url": s.url,
        "event_types": list(s.event_types),
        "vins": list(s.vins),
        "description": s.description,
        "start_block": s.start_block,
        "created_at": s.created_at,
        "active": s.active,
    }


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "notification_id": n.notification_id,
        "event_name": n.event_name,
        "topic": n.topic,
        "vin": n.vin,
        "summary": n.summary,
        "block_number": n.position.block_number,
        "tx_id": n.position.tx_id,
        "event_index": n.position.event_index,
        "created_at": n.created_at,
        "data": n.data,
    }


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": d.delivery_id,
        "idempotency_key": d.delivery_id,
        "subscription_id": d.subscription_id,
        "notification_id": d.notification_id,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }


@router.get("", summary="My notifications (newest first)")
async def my_notifications(
    state: State,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_block: Annotated[int | None, Query(ge=0, description="Page: only blocks before this")] = None,
) -> Any:
    notes = await service.list_notifications(
        state.notifier, _actor(state, user), limit=limit, before_block=before_block
    )
    return {"party": _actor(state, user).party.key, "notifications": [notification_json(n) for n in notes]}


@router.post("/subscriptions", status_code=201, summary="Subscribe a webhook (the secret is shown once)")
async def create_subscription(body: SubscriptionCreate, state: State, user: CurrentUser) -> Any:
    subscription, secret = await service.create_subscription(
        state.notifier,
        _actor(state, user),
        service.SubscriptionIn(body.url, body.event_types, body.vins, body.description),
        state.settings.notify_allow_http_hosts,
    )
    return {**subscription_json(subscription), "secret": secret}


@router.get("/subscriptions", summary="My party's webhook subscriptions")
async def list_subscriptions(state: State, user: CurrentUser) -> Any:
    subs = await service.list_subscriptions(state.notifier, _actor(state, user))
    return {"subscriptions": [subscription_json(s) for s in subs]}


@router.get("/subscriptions/{subscription_id}", summary="One subscription")
async def get_subscription(subscription_id: SubscriptionId, state: State, user: CurrentUser) -> Any:
    return subscription_json(
        await service.get_subscription(state.notifier, _actor(state, user), subscription_id)
    )


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Unsubscribe")
async def delete_subscription(subscription_id: SubscriptionId, state: State, user: CurrentUser) -> Response:
    await service.delete_subscription(state.notifier, _actor(state, user), subscription_id)
    return Response(status_code=204)


@router.get("/deliveries", summary="Webhook deliveries of my subscriptions")
async def list_deliveries(
    state: State,
    user: CurrentUser,
    status: Literal["pending", "delivered", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    rows = await service.list_deliveries(state.notifier, _actor(state, user), status=status, limit=limit)
    return {"deliveries": [delivery_json(d) for d in rows]}


@router.get("/dead-letters", summary="Deliveries that exhausted their attempts")
async def list_dead_letters(
    state: State, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    rows = await service.list_deliveries(state.notifier, _actor(state, user), status="dead", limit=limit)
    return {"dead_letters": [delivery_json(d) for d in rows]}


@router.post("/dead-letters/{delivery_id}/replay", summary="Send a dead letter again (same idempotency key)")
async def replay_dead_letter(delivery_id: DeliveryId, state: State, user: CurrentUser) -> Any:
    return delivery_json(await service.replay_dead_letter(state.notifier, _actor(state, user), delivery_id))
