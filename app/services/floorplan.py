"""Floor-plan use cases the API routers and the pages share (issue 19; docs/floor-plan.md).

Reads gather what a dealer, a bank and the regulator look at (lines with stock and curtailments due,
exposure with alerts, totals); the floor check's scan turns a photographed or decoded QR code into the
code id the chaincode resolves, after checking the vehicle office's signature. Writes are the chaincode's
arguments, built here once so the API and the phone page send the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.ledger.port import Caller
from app.qr import QrDecodeError, decode_qr_photo
from app.services.errors import InvalidInput
from app.services.qr import QrService, configured
from app.services.reads import Reader
from chaincode.mortgage.models import Request
from chaincode.mortgage.models.floorplan import ScanIn


def as_json(body: Request) -> str:
    return body.chaincode_json()


# --- the floor check's scan ---------------------------------------------------------------------------


def code_id_of(qr: QrService | None, text: str) -> str:
    """The code id of a scanned QR text, once the vehicle office's signature on it checks out (a forged
    or altered code never reaches the ledger); revocation is the chaincode's check at the scan."""
    verdict = configured(qr).verifier.check_signature(text.strip())
    if verdict.code is None or not verdict.signature_valid:
        raise InvalidInput(f"code: {verdict.reason}")
    return verdict.code.code_id


def code_id_of_photo(qr: QrService | None, image: bytes) -> str:
    """Decode a phone photo of the code (zxing-cpp), then as :func:`code_id_of`."""
    try:
        text = decode_qr_photo(image)
    except QrDecodeError as exc:
        raise InvalidInput(f"image: {exc}") from None
    return code_id_of(qr, text)


def scan_args(check_id: str, scan: ScanIn) -> list[str]:
    return [check_id, as_json(scan)]


# --- views -----------------------------------------------------------------------------------------------


@dataclass
class LineView:
    line: dict[str, Any]
    available: str
    advances: list[dict[str, Any]]
    due_now: Decimal = Decimal(0)
    overdue: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_advances(self) -> list[dict[str, Any]]:
        return [a for a in self.advances if a.get("status") == "OPEN"]


def _line_view(stock: dict[str, Any]) -> LineView:
    advances = list(stock.get("advances") or [])
    due = sum((Decimal(a["curtailment"]["due_now"]) for a in advances if a.get("curtailment")), Decimal(0))
    overdue = sum(1 for a in advances if a.get("curtailment", {}).get("overdue_installments"))
    return LineView(stock["line"], str(stock["available"]), advances, due, overdue)


async def lines(read: Reader, caller: Caller, with_alerts: bool = False) -> list[LineView]:
    """Every line the caller may see (its own for a bank, dealer or core enterprise), with its stock and
    curtailment position as of the query, and the line's alerts for a lender."""
    exposure = await read(caller, "GetFloorPlanExposure", json.dumps({}))
    views = []
    for dealer in exposure.get("dealers", []):
        for line_id in dealer["lines"]:
            view = _line_view(await read(caller, "GetFloorPlanStock", line_id))
            if with_alerts:
                view.alerts = await read(caller, "GetFloorPlanAlerts", line_id)
            views.append(view)
    return views


async def exposure(read: Reader, caller: Caller) -> list[dict[str, Any]]:
    answer = await read(caller, "GetFloorPlanExposure", json.dumps({}))
    return list(answer.get("dealers", []))


async def totals(read: Reader, caller: Caller) -> dict[str, Any]:
    answer = await read(caller, "GetFloorPlanTotals")
    return answer if isinstance(answer, dict) else {}


async def open_check(read: Reader, caller: Caller, check_id: str) -> dict[str, Any]:
    return await read(caller, "GetFloorCheck", check_id)


__all__ = [
    "LineView",
    "as_json",
    "code_id_of",
    "code_id_of_photo",
    "exposure",
    "lines",
    "open_check",
    "scan_args",
    "totals",
]
