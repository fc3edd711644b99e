"""World state as the chaincode serves it (the Fabric peer: state is not readable any other way).

Records are read with the contract's own queries as a reader every rule admits (the regulator or an
auditor), each page followed to its end: verify must see every key, so unlike the old dashboard it
never stops at a page cap. Peers do not say which block wrote a key, so a difference whose record
names a transaction the model has not projected yet is *pending*, not drift (see :mod:`.verify`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from app.ledger.port import Caller, ChaincodeRefused

from .projections import LIEN_STATUSES, VEHICLE_STATUSES
from .verify import StateRecord

PAGE = 200


class ChaincodeWorldState:
    """Vehicles and liens read through ``GetVehicle``/``GetLien`` and their paged queries."""

    types: tuple[str, ...] = ("VEHICLE", "LIEN")

    def __init__(self, ledger: Any, caller: Caller) -> None:
        self.ledger = ledger
        self.caller = caller

    async def _evaluate(self, function: str, *args: str) -> Any:
        return json.loads(await self.ledger.evaluate(self.caller, function, list(args)) or b"null")

    async def records(self, object_type: str) -> AsyncIterator[StateRecord]:
        function, statuses, id_field = (
            ("QueryVehicles", VEHICLE_STATUSES, "vin")
            if object_type == "VEHICLE"
            else ("QueryLiens", LIEN_STATUSES, "lien_id")
        )
        for status in statuses:
            bookmark = ""
            while True:
                query = json.dumps({"status": status}, separators=(",", ":"))
                page = await self._evaluate(function, query, str(PAGE), bookmark)
                for record in page.get("records", []):
                    yield StateRecord([str(record[id_field])], json.dumps(record).encode(), None)
                bookmark = page.get("bookmark") or ""
                if not bookmark:
                    break

    async def record(self, object_type: str, attrs: list[str]) -> StateRecord | None:
        function = "GetVehicle" if object_type == "VEHICLE" else "GetLien"
        try:
            record = await self._evaluate(function, attrs[0])
        except ChaincodeRefused as exc:
            if exc.status == 404:
                return None
            raise
        return StateRecord(attrs, json.dumps(record).encode(), None)
