"""The mortgage lifecycle as LedgerPort calls, recorded as a backend-neutral transcript.

Each step records what the port answered: the chaincode payload (JSON), or the error class with its
status and message, or the validation code of an invalidated transaction. Tx ids and times differ
between backends by nature and are replaced by placeholders before comparing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.ledger.port import Caller, LedgerError, LedgerPort, TransactionInvalidated
from chaincode.mortgage.vin import with_check_digit

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_TX = re.compile(r"\b[0-9a-f]{64}\b")


@dataclass
class Transcript:
    steps: list[tuple[str, Any]] = field(default_factory=list)
    tx_ids: list[str] = field(default_factory=list)
    first_block: int | None = None

    def normalized(self) -> list[tuple[str, Any]]:
        text = json.dumps(self.steps, sort_keys=True, ensure_ascii=False)
        for tx_id in self.tx_ids:
            text = text.replace(tx_id, "<tx>")
        text = _TIME.sub("<time>", text)
        return [tuple(step) for step in json.loads(text)]  # type: ignore[misc]

    def outcome(self, name: str) -> Any:
        return dict(self.steps)[name]


def _decode(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


Settle = Callable[[int], Awaitable[None]]


class Runner:
    def __init__(
        self, ledger: LedgerPort, callers: dict[str, Caller], transcript: Transcript, settle: Settle | None
    ) -> None:
        self.ledger = ledger
        self.callers = callers
        self.t = transcript
        self.settle = settle

    async def submit(
        self,
        step: str,
        who: str,
        fn: str,
        *args: Any,
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
    ) -> Any:
        raw = [a if isinstance(a, str) else json.dumps(a) for a in args]
        try:
            result = await self.ledger.submit(self.callers[who], fn, raw, transient, endorsing_orgs)
        except TransactionInvalidated as exc:
            self.t.tx_ids.append(exc.tx_id)
            outcome: Any = {"invalidated": exc.validation_code, "status": exc.status}
        except LedgerError as exc:
            outcome = {"error": type(exc).__name__, "status": exc.status, "message": exc.message}
        else:
            self.t.tx_ids.append(result.tx_id)
            if self.t.first_block is None:
                self.t.first_block = result.block_number
            outcome = {"valid": result.validation_code, "payload": _decode(result.payload)}
            if self.settle is not None:
                await self.settle(result.block_number)
        self.t.steps.append((step, outcome))
        return outcome

    async def evaluate(self, step: str, who: str, fn: str, *args: Any) -> Any:
        raw = [a if isinstance(a, str) else json.dumps(a) for a in args]
        try:
            outcome: Any = {"payload": _decode(await self.ledger.evaluate(self.callers[who], fn, raw))}
        except LedgerError as exc:
            outcome = {"error": type(exc).__name__, "status": exc.status, "message": exc.message}
        self.t.steps.append((step, outcome))
        return outcome


def _owner(label: str) -> tuple[dict[str, bytes], str]:
    salt = hashlib.sha256(label.encode()).digest()[:16]
    id_number = f"ID-{label}".upper()
    transient = {
        "owner": json.dumps({"name": f"Owner {label}", "id_number": id_number}).encode(),
        "owner_salt": salt,
    }
    return transient, hashlib.sha256(salt + id_number.encode()).hexdigest()


def _document(doc_id: str, doc_type: str, vin: str) -> dict[str, Any]:
    body = f"{doc_type}:{doc_id}".encode()
    return {
        "document_id": doc_id,
        "doc_type": doc_type,
        "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "encryption_key_ref": f"kms://conformance/{doc_id}",
        "vin": vin,
    }


async def mortgage_lifecycle(
    ledger: LedgerPort, callers: dict[str, Caller], vin: str, run: str, settle: Settle | None = None
) -> Transcript:
    """Register → value → lien → refused/endorsed transfer → release, with refusals along the way.

    ``settle(block)`` is awaited after each commit (on Fabric: until every peer has the block).
    """
    t = Transcript()
    r = Runner(ledger, callers, t, settle)
    owner, _ = _owner(f"first-{run}")
    buyer, buyer_hash = _owner(f"buyer-{run}")
    plate = f"C{run}"
    vehicle = {
        "vin": vin,
        "plate": plate,
        "make": "BYD",
        "model": "Han",
        "trim": "EV",
        "year": 2024,
        "configuration": {"battery": "85kWh"},
        "registration_date": "2025-06-01",
    }
    bad_vin = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
    lien_id = f"L-{run}"
    maturity = (datetime.now(UTC) + timedelta(days=3 * 365)).date().isoformat()

    await r.submit("register", "officer", "RegisterVehicle", vehicle, transient=owner)
    await r.submit("register again", "officer", "RegisterVehicle", vehicle, transient=owner)
    await r.submit(
        "register bad vin", "officer", "RegisterVehicle", {**vehicle, "vin": bad_vin}, transient=owner
    )
    await r.submit(
        "dealer registers", "dealer", "RegisterVehicle", {**vehicle, "plate": "X" + plate}, transient=owner
    )
    unknown = with_check_digit(vin[:-1] + ("2" if vin[-1] != "2" else "3"))
    await r.evaluate("unknown vehicle", "officer", "GetVehicle", unknown)
    await r.evaluate("owner by insurer", "underwriter", "GetOwner", vin)
    model = {"model_id": "residual-lgbm", "model_version": f"1.0.0-{run}", "model_card_sha256": "ef" * 32}
    await r.submit("model version", "models_a", "RegisterModelVersion", model)
    await r.submit("consent", "loan_a", "AnchorDocument", _document(f"DC-{run}", "owner_consent", vin))
    await r.submit(
        "request lien",
        "loan_a",
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
    await r.submit(
        "valuation by the requesting bank",
        "loan_a",
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
    await r.evaluate("owner by requesting bank", "loan_a", "GetOwner", vin)
    await r.submit("bank b records lien", "loan_b", "RecordLien", lien_id)
    await r.submit("record lien", "officer", "RecordLien", lien_id)
    await r.evaluate("owner by lienholder", "loan_a", "GetOwner", vin)
    await r.evaluate("vehicle mortgaged", "regulator", "GetVehicle", vin)
    transfer = {"new_owner_hash": buyer_hash, "reason": "sale"}
    await r.submit("transfer without consent", "officer", "TransferTitle", vin, transfer, transient=buyer)
    await r.submit(
        "lienholder consent", "loan_a", "AnchorDocument", _document(f"LC-{run}", "lienholder_consent", vin)
    )
    consented = {**transfer, "lienholder_consent_document_id": f"LC-{run}"}
    await r.submit(
        "transfer without lienholder endorsement",
        "officer",
        "TransferTitle",
        vin,
        consented,
        transient=buyer,
        endorsing_orgs=["TrafficAuthorityMSP", "BankBMSP"],
    )
    await r.evaluate("owner unchanged", "regulator", "GetOwner", vin)
    await r.submit(
        "transfer endorsed by lienholder", "officer", "TransferTitle", vin, consented, transient=buyer
    )
    # lien law (issue 15): a dated balance, an amendment by the holder only, a hold blocking transfers
    today = datetime.now(UTC).date().isoformat()
    balance = {"outstanding": "80000", "currency": "CNY", "as_of": today}
    await r.submit("balance", "loan_a", "ReportLienBalance", lien_id, balance)
    amendment = {"mortgage_contract_number": f"MC2-{run}", "reason": "renumbered"}
    await r.submit("amend by other bank", "loan_b", "AmendLien", lien_id, amendment)
    await r.submit("amend", "loan_a", "AmendLien", lien_id, amendment)
    await r.submit("police report", "officer", "AnchorDocument", _document(f"PR-{run}", "police_report", vin))
    hold = {"kind": "stolen", "document_id": f"PR-{run}", "authority": "police", "reason": "reported stolen"}
    await r.submit("stolen hold", "officer", "SetHold", vin, hold)
    await r.submit("transfer under hold", "officer", "TransferTitle", vin, consented, transient=buyer)
    await r.submit("lift hold", "officer", "LiftHold", vin, {**hold, "reason": "recovered"})
    await r.submit("release by other bank", "loan_b", "ReleaseLien", lien_id)
    await r.submit("release", "loan_a", "ReleaseLien", lien_id)
    await r.evaluate("vehicle released", "officer", "GetVehicle", vin)
    await r.evaluate("history", "auditor_ta", "GetVehicleHistory", vin)
    await r.evaluate("lien history by dealer", "dealer", "GetLienHistory", lien_id)
    return t


async def events_of(
    ledger: LedgerPort, transcript: Transcript, timeout: float = 30, after_tx_id: str | None = None
) -> list[tuple[int, str]]:
    """(index of the tx in the transcript, event name) for every event of the scenario's valid txs."""
    wanted = set(transcript.tx_ids)
    found: list[tuple[int, str]] = []
    last_valid = [
        tx
        for tx, (_, outcome) in zip(
            transcript.tx_ids, [s for s in transcript.steps if _is_tx(s[1])], strict=False
        )
        if "valid" in outcome
    ][-1]
    if after_tx_id is None:
        stream = ledger.chaincode_events(start_block=transcript.first_block)
    else:
        stream = ledger.chaincode_events(after_tx_id=after_tx_id)

    async def collect() -> None:
        async for event in stream:
            if event.tx_id in wanted:
                found.append((transcript.tx_ids.index(event.tx_id), event.event_name))
            if event.tx_id == last_valid:
                return

    try:
        await asyncio.wait_for(collect(), timeout)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return found


def _is_tx(outcome: Any) -> bool:
    return isinstance(outcome, dict) and ("valid" in outcome or "invalidated" in outcome)
