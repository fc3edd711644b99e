"""How a use case reads the ledger: as a given caller, one chaincode query, its decoded JSON answer.

The edges pass their own reader (the API's ``evaluate`` bound to the gateway, with its metrics), so
services stay free of FastAPI and of the gateway's wiring.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.ledger.port import Caller


class Reader(Protocol):
    async def __call__(self, caller: Caller, function: str, *args: str) -> Any: ...
