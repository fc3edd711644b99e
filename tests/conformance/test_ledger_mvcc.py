"""Concurrent conflicting writes through the port: invalidated as MVCC_READ_CONFLICT on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from app.ledger.port import Caller, LedgerPort, TransactionInvalidated

from .conftest import settle_for
from .scenario import _owner


async def test_concurrent_odometer_readings_conflict(
    ledger: LedgerPort, callers: dict[str, Caller], new_vin: Callable[[], str], run_id: str
) -> None:
    vin = new_vin()
    owner, _ = _owner(f"mvcc-{vin}")
    vehicle = {
        "vin": vin,
        "plate": f"M{vin[-7:]}",
        "make": "Geely",
        "model": "Emgrand",
        "trim": "GL",
        "year": 2022,
        "configuration": {},
        "registration_date": "2022-03-01",
    }
    registered = await ledger.submit(callers["officer"], "RegisterVehicle", [json.dumps(vehicle)], owner)
    settle = settle_for(ledger)
    if settle is not None:
        await settle(registered.block_number)
    readings = [
        json.dumps({"vin": vin, "odometer_km": 1000 + i, "source": f"dealer-{run_id}"}) for i in range(5)
    ]
    outcomes = await asyncio.gather(
        *(ledger.submit(callers["dealer"], "RecordOdometer", [r]) for r in readings), return_exceptions=True
    )
    valid = [o for o in outcomes if not isinstance(o, BaseException)]
    conflicts = [o for o in outcomes if isinstance(o, TransactionInvalidated)]
    assert len(valid) + len(conflicts) == 5, [o for o in outcomes if isinstance(o, BaseException)]
    assert len(valid) >= 1
    assert {c.validation_code for c in conflicts} <= {"MVCC_READ_CONFLICT"}
    for conflict in conflicts:
        status = await ledger.transaction_status(conflict.tx_id)
        assert status is not None and status.validation_code == "MVCC_READ_CONFLICT"
    if settle is not None:
        await settle(max(v.block_number for v in valid))
    odometer = json.loads(await ledger.evaluate(callers["dealer"], "GetOdometer", [vin]))
    committed = {json.loads(v.payload)["odometer_km"] for v in valid}
    assert odometer["odometer_km"] == max(committed)
    assert odometer["readings"] == len(valid)
    print(f"{len(valid)} valid, {len(conflicts)} MVCC_READ_CONFLICT; odometer {odometer}")
