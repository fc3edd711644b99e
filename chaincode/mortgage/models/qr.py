"""QR identity: a vehicle's current code and the codes it superseded."""

from __future__ import annotations

from .fields import (
    Identifier,
    Record,
    Request,
    Sha256Hex,
)


class QrCodeIn(Request):
    code_id: Identifier
    payload_sha256: Sha256Hex


class QrIdentity(Record):
    code_id: str
    vin: str
    payload_sha256: str
    issued_at: str
    revoked: bool = False
    revoked_at: str | None = None
    superseded_by: str | None = None
    tx_id: str


__all__ = ["QrCodeIn", "QrIdentity"]
