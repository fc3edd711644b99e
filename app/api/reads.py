"""The read path: evaluate a chaincode function as the user and decode its stable JSON."""

from __future__ import annotations

import functools
import json
from typing import Any

from app.api.state import GatewayState
from app.api.writes import decode_payload
from app.ledger.port import Caller
from app.services.reads import Reader


async def evaluate(state: GatewayState, caller: Caller, function: str, *args: str) -> Any:
    with state.metrics.ledger_timer("evaluate", function):
        payload = await state.ledger.evaluate(caller, function, list(args))
    return decode_payload(payload)


def reader(state: GatewayState) -> Reader:
    """The gateway's read path as the services take it (bound to this gateway, with its metrics)."""
    return functools.partial(evaluate, state)


def query_args(query: dict[str, Any], page_size: int, bookmark: str) -> list[str]:
    clean = {k: v for k, v in query.items() if v is not None}
    return [json.dumps(clean, separators=(",", ":"), sort_keys=True), str(page_size), bookmark]


async def with_blocks(state: GatewayState, entries: Any) -> Any:
    """Add each history entry's block number (the chaincode knows tx ids, the ledger knows blocks)."""
    if not isinstance(entries, list):
        return entries
    cache: dict[str, int | None] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "tx_id" not in entry:
            continue
        tx_id = str(entry["tx_id"])
        if tx_id not in cache:
            status = await state.ledger.transaction_status(tx_id)
            cache[tx_id] = status.block_number if status else None
        entry["block_number"] = cache[tx_id]
    return entries
