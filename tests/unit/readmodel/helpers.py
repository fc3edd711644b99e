"""Shared helpers of the read-model tests: register vehicles on a ledger port quickly."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from app.ledger.port import Caller, LedgerPort, TxResult
from chaincode.mortgage.vin import with_check_digit

OFFICER = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})
LOAN_A = Caller("loan1", "BankAMSP", {"role": "loan_officer"})
REGULATOR = Caller("regulator1", "RegulatorMSP", {"role": "regulator"})
AUDITOR = Caller("auditor1", "TrafficAuthorityMSP", {"role": "auditor"})


def vin_of(prefix: str, n: int) -> str:
    return with_check_digit(f"LSV{prefix[:4].upper():0>4}{n:010d}")


def owner(label: str) -> dict[str, bytes]:
    salt = hashlib.sha256(label.encode()).digest()[:16]
    return {
        "owner": json.dumps({"name": f"Owner {label}", "id_number": f"ID-{label}"}).encode(),
        "owner_salt": salt,
    }


def vehicle(vin: str, plate: str) -> dict[str, Any]:
    return {
        "vin": vin, "plate": plate, "make": "BYD", "model": "Han", "trim": "EV", "year": 2024,
        "configuration": {}, "registration_date": "2025-06-01",
    }  # fmt: skip


async def register_many(ledger: LedgerPort, count: int, prefix: str, in_flight: int = 48) -> list[str]:
    """Register ``count`` vehicles (many in flight, so the embedded ledger cuts big blocks)."""
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> str:
        vin = vin_of(prefix, i)
        async with gate:
            await ledger.submit(
                OFFICER,
                "RegisterVehicle",
                [json.dumps(vehicle(vin, f"{prefix[:3]}{i:05d}"))],
                owner(f"{prefix}{i}"),
            )
        return vin

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def submit(ledger: LedgerPort, caller: Caller, function: str, *args: Any) -> TxResult:
    return await ledger.submit(caller, function, [a if isinstance(a, str) else json.dumps(a) for a in args])


def write_block_file(path: Any, blocks: Any) -> int:
    """Store blocks as the embedded ledger does (its ``blocks`` table), for EmbeddedBlockSource."""
    from app.ledger.embedded import store as ledger_store
    from app.readmodel.blockgen import StreamBuilder

    conn = ledger_store.connect(path)
    ledger_store.init_schema(conn)
    genesis = StreamBuilder(first_block=0).config_block()
    count = 0
    conn.execute("BEGIN")
    for block in [genesis, *blocks]:
        conn.execute(
            "INSERT INTO blocks (number, header_hash, previous_hash, data_hash, block) VALUES (?, ?, ?, ?, ?)",
            (
                block.header.number,
                b"",
                block.header.previous_hash,
                block.header.data_hash,
                block.SerializeToString(),
            ),
        )
        count += 1
    conn.execute("COMMIT")
    conn.close()
    return count
