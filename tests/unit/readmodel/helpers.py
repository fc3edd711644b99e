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
    tag = "".join(c if c not in "IOQ" else "X" for c in prefix[:4].upper())
    return with_check_digit(f"LSV{tag:0>4}{n:010d}")


def owner(label: str) -> dict[str, bytes]:
    salt = hashlib.sha256(label.encode()).digest()[:16]
    return {
        "owner": json.dumps({"name": f"Owner {label}", "id_number": f"ID-{label}"}).encode(),
        "owner_salt": salt,
    }


def vehicle(vin: str, plate: str) -> dict[str, Any]:
    return {
        "vin": vin,
        "plate": plate,
        "make": "BYD",
        "model": "Han",
        "trim": "EV",
        "year": 2024,
        "configuration": {},
        "registration_date": "2025-06-01",
    }


async def register_many(
    ledger: LedgerPort, count: int, prefix: str, in_flight: int = 48, start: int = 0
) -> list[str]:
    """Register ``count`` vehicles (many in flight, so the embedded ledger cuts big blocks)."""
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> str:
        vin = vin_of(prefix, start + i)
        async with gate:
            await ledger.submit(
                OFFICER,
                "RegisterVehicle",
                [json.dumps(vehicle(vin, f"{prefix[:11]}{start + i:05d}"[:16]))],
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
            "INSERT INTO blocks (number, header_hash, previous_hash, data_hash, block) "
            "VALUES (?, ?, ?, ?, ?)",
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


MODELS_A = Caller("models1", "BankAMSP", {"role": "model_admin"})


async def lien_flow(ledger: LedgerPort, vin: str, run: str) -> str:
    """Consent, request, valuation and recording of one lien on ``vin`` (BankA); returns the lien id."""
    from datetime import UTC, datetime, timedelta

    lien_id = f"L-{run}"
    maturity = (datetime.now(UTC) + timedelta(days=3 * 365)).date().isoformat()
    body = f"consent:{run}".encode()
    await submit(
        ledger,
        MODELS_A,
        "RegisterModelVersion",
        {"model_id": "residual-lgbm", "model_version": f"1.0.0-{run}", "model_card_sha256": "ef" * 32},
    )
    await submit(
        ledger,
        LOAN_A,
        "AnchorDocument",
        {
            "document_id": f"DC-{run}",
            "doc_type": "owner_consent",
            "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "encryption_key_ref": f"kms://t/{run}",
            "vin": vin,
        },
    )
    await submit(
        ledger,
        LOAN_A,
        "RequestLien",
        {
            "lien_id": lien_id,
            "vin": vin,
            "loan_number": f"LN-{run}",
            "mortgage_contract_number": f"MC-{run}",
            "secured_amount": "100000",
            "currency": "CNY",
            "maturity_date": maturity,
            "consent_document_id": f"DC-{run}",
        },
    )
    await submit(
        ledger,
        LOAN_A,
        "RecordValuation",
        {
            "valuation_id": f"V-{run}",
            "vin": vin,
            "value": "200000",
            "currency": "CNY",
            "interval_low": "180000",
            "interval_high": "220000",
            "coverage": "0.9",
            "model_id": "residual-lgbm",
            "model_version": f"1.0.0-{run}",
            "inputs_hash": "cd" * 32,
            "valuer": "valuation-service",
        },
    )
    result = await submit(ledger, OFFICER, "RecordLien", lien_id)
    settle = getattr(ledger, "wait_for_peers", None)
    if settle is not None:
        await settle(result.block_number)
    return lien_id


async def chaincode_counts(ledger: LedgerPort, caller: Caller) -> dict[str, int]:
    """Vehicles by status as the chaincode counts them, every page followed (no cap)."""
    from app.readmodel.projections import VEHICLE_STATUSES
    from app.readmodel.world_state import ChaincodeWorldState

    counts = dict.fromkeys(VEHICLE_STATUSES, 0)
    async for record in ChaincodeWorldState(ledger, caller).records("VEHICLE"):
        counts[json.loads(record.value)["status"]] += 1
    return counts
