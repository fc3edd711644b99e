"""QR identity: one current code per vehicle, resolved by scanners to the vehicle's public passport."""

from __future__ import annotations

from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import ConflictError, NotFoundError

from . import store as s
from .args import arg_id, arg_vin
from .context import MortgageContext
from .models import QrCodeIn, QrIdentity
from .support import MortgageSupport, pointer


class QrTransactions(MortgageSupport):
    """QR codes issued by the vehicle office; a new code revokes the previous one."""

    @submit
    def issue_qr_identity(self, ctx: MortgageContext, vin: str, code: QrCodeIn) -> QrIdentity:
        """One vehicle, one code: a new code revokes the previous one."""
        vehicle = self._writable_vehicle(ctx, arg_vin(vin), "QR identity")
        if ctx.store.exists(s.QR, code.code_id):
            raise ConflictError(f"QR code {code.code_id} already exists (codes are never reused)")
        revoked_id = pointer(ctx, s.QRVIN, vehicle.vin, "code_id")
        if revoked_id is not None:
            previous = ctx.store.get(QrIdentity, s.QR, revoked_id)
            if previous is not None:
                revoked = previous.model_copy(
                    update={"revoked": True, "revoked_at": ctx.at, "superseded_by": code.code_id}
                )
                ctx.store.put(revoked, s.QR, revoked_id)
        record = QrIdentity(
            code_id=code.code_id,
            vin=vehicle.vin,
            payload_sha256=code.payload_sha256,
            issued_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, s.QR, code.code_id)
        ctx.store.put({"code_id": code.code_id}, s.QRVIN, vehicle.vin)
        ctx.emit("QrIdentityIssued", vin=vehicle.vin, code_id=code.code_id, revoked_code_id=revoked_id)
        return record

    @evaluate
    def resolve_qr_code(self, ctx: MortgageContext, code_id: str) -> dict[str, Any]:
        code = ctx.store.get(QrIdentity, s.QR, arg_id(code_id, "code_id"))
        if code is None:
            raise NotFoundError(f"QR code {code_id} not found")
        return {
            "code_id": code.code_id,
            "vin": code.vin,
            "revoked": code.revoked,
            "issued_at": code.issued_at,
            "revoked_at": code.revoked_at,
            "superseded_by": code.superseded_by,
            "payload_sha256": code.payload_sha256,
        }

    @evaluate
    def get_qr_identity(self, ctx: MortgageContext, vin: str) -> QrIdentity:
        vin = self._vehicle_arg(ctx, vin).vin
        code_id = pointer(ctx, s.QRVIN, vin, "code_id")
        if code_id is None:
            raise NotFoundError(f"vehicle {vin} has no QR identity")
        code = ctx.store.get(QrIdentity, s.QR, code_id)
        if code is None:
            raise NotFoundError(f"QR code {code_id} not found")
        return code


__all__ = ["QrTransactions"]
