"""The transaction context of the Mortgage-Asset contract: who calls, when, the typed store, the event.

Resolved once per transaction so every aggregate module reads the same caller and the same ledger time
(the transaction timestamp: nothing reads a clock, so every endorsing peer computes the same write set).
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import pydantic

from chaincode.runtime.contract import Context
from chaincode.runtime.interfaces import ChaincodeStub

from . import rules
from . import store as s

_ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)


def pydantic_jsonable(value: Any) -> Any:
    """Plain JSON values of anything pydantic can dump (models, decimals, dates, enums)."""
    return _ANY.dump_python(value, mode="json")


def parse_json(raw: bytes) -> Any:
    """Any JSON value (a stored record read back as it was written)."""
    return _ANY.validate_json(raw)


class MortgageContext(Context):
    """Context with the caller (MSP, role) resolved once, the ledger time and the typed store."""

    def __init__(self, stub: ChaincodeStub) -> None:
        super().__init__(stub)
        self.store = s.Store(stub)
        self.msp_id = self.client_identity.get_msp_id()
        self.role = self.client_identity.get_attribute_value("role") or ""
        ts = stub.get_tx_timestamp()
        self.now = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        self.at = rules.format_ts(self.now)
        self.today: date = self.now.date()

    def emit(self, name: str, **payload: Any) -> None:
        """The transaction's one chaincode event (Fabric keeps only the last set_event)."""
        payload = {"tx_id": self.tx_id, "at": self.at, **payload}
        self.stub.set_event(name, s.dumps(pydantic_jsonable(payload)))


__all__ = ["MortgageContext", "parse_json", "pydantic_jsonable"]
