"""Chaincode events as server-sent events (resumable with Last-Event-ID)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from app.api.deps import AuthUser, State, require_roles
from app.api.errors import ApiError
from app.api.state import GatewayState
from app.api.writes import decode_payload
from app.ledger.port import LedgerError, LedgerEvent
from app.users.roles import Role
from chaincode.mortgage.access import event_visible

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", tags=["events"])

EventReader = Annotated[AuthUser, Depends(require_roles(Role.auditor, Role.regulator, Role.admin))]
_EVENT_ID = re.compile(r"^(?P<block>\d+)/(?P<tx>[0-9A-Za-z]*)$")
HEARTBEAT_SECONDS = 15.0


def event_id(event: LedgerEvent) -> str:
    return f"{event.block_number}/{event.tx_id}"


def format_sse(event: LedgerEvent) -> str:
    data = {
        "block_number": event.block_number,
        "tx_id": event.tx_id,
        "chaincode_id": event.chaincode_id,
        "event_name": event.event_name,
        "payload": decode_payload(event.payload),
    }
    return f"id: {event_id(event)}\nevent: {event.event_name}\ndata: {json.dumps(data, sort_keys=True)}\n\n"


def parse_checkpoint(last_event_id: str | None, start_block: int | None) -> tuple[int | None, str | None]:
    """Last-Event-ID ``<block>/<tx id>`` resumes after that transaction; else from ``start_block``."""
    if last_event_id:
        match = _EVENT_ID.match(last_event_id.strip())
        if not match:
            raise ApiError(
                400,
                "Last-Event-ID: expected <block number>/<tx id>",
                details=[{"field": "Last-Event-ID", "reason": "expected <block number>/<tx id>"}],
            )
        return int(match["block"]), match["tx"] or None
    return start_block, None


def visible_to(user: AuthUser, event: LedgerEvent) -> bool:
    """The chaincode's read rule for the data the event carries (``access.EVENT_READS``): an admin of an
    org that may not GET /liens/{id} gets no lien event either; a payoff quote only to its parties."""
    return event_visible(event.event_name, user.user.msp_id, user.role.value, decode_payload(event.payload))


async def _stream(
    request: Request,
    state: GatewayState,
    user: AuthUser,
    start: int | None,
    after_tx: str | None,
    limit: int | None,
) -> AsyncIterator[str]:
    queue: asyncio.Queue[LedgerEvent | Exception | None] = asyncio.Queue(maxsize=256)

    async def pump() -> None:
        try:
            async for event in state.ledger.chaincode_events(start_block=start, after_tx_id=after_tx):
                await queue.put(event)
            await queue.put(None)
        except LedgerError as exc:
            await queue.put(exc)

    task = asyncio.create_task(pump())
    sent = 0
    try:
        yield "retry: 3000\n\n"
        while limit is None or sent < limit:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            if item is None:
                return
            if isinstance(item, Exception):
                yield f"event: error\ndata: {json.dumps({'message': str(item)})}\n\n"
                return
            if not visible_to(user, item):
                continue
            yield format_sse(item)
            sent += 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@router.get(
    "",
    summary="Server-sent events of committed chaincode events (auditors, regulator, admins)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream; id = block/tx"}},
)
async def events(
    request: Request,
    state: State,
    user: EventReader,
    start_block: Annotated[int | None, Query(ge=0, description="First block to replay from.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100000, description="Stop after this many events.")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=200)] = None,
) -> StreamingResponse:
    start, after_tx = parse_checkpoint(last_event_id, start_block)
    return StreamingResponse(
        _stream(request, state, user, start, after_tx, limit),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
