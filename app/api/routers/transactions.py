"""A transaction's status by id: block, validation code, timestamp (as committed on the channel)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.api.deps import CurrentUser, State
from app.api.errors import ApiError

router = APIRouter(prefix="/transactions", tags=["events"])


@router.get("/{tx_id}", summary="Status of a transaction by tx id")
async def transaction_status(
    state: State, user: CurrentUser, tx_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
) -> dict[str, Any]:
    result = await state.ledger.transaction_status(tx_id)
    if result is None:
        raise ApiError(404, f"no transaction {tx_id} on the channel")
    timestamp = result.timestamp if result.timestamp.tzinfo else result.timestamp.replace(tzinfo=UTC)
    return {
        "tx_id": result.tx_id,
        "block_number": result.block_number,
        "validation_code": result.validation_code,
        "timestamp": timestamp.isoformat(),
    }
