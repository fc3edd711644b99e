"""Floor checks: the lender's auditor walks the dealer's lot with a phone, each scanned QR code records the
car as seen at that time and place; closing the check lists the financed cars not seen, each a
sold-out-of-trust alert to the lender (docs/floor-plan.md).
"""

from __future__ import annotations

from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import ConflictError, NotFoundError

from . import law_keys as k
from . import store as s
from .args import arg_id
from .context import MortgageContext
from .floorplan_alerts import (
    FPADV,
    FPALERT,
    FPCHECK,
    FPSCAN,
    FPVIN,
    IDX_FPALERTLINE,
    IDX_FPLINEADV,
    FloorPlanAlert,
    FloorPlanSupport,
    mileage_check,
    raise_alert,
)
from .law_models import RiskAlert
from .models import QrIdentity
from .models.floorplan import (
    Advance,
    AdvanceStatus,
    FloorCheck,
    FloorCheckIn,
    FloorCheckScan,
    FloorCheckStatus,
    ScanIn,
)
from .rules import money


class FloorCheckTransactions(FloorPlanSupport):
    # --- floor checks --------------------------------------------------------------------------
    def _check(self, ctx: MortgageContext, check_id: str) -> FloorCheck:
        check = ctx.store.get(FloorCheck, FPCHECK, check_id)
        if check is None:
            raise NotFoundError(f"floor check {check_id} not found")
        return check

    def _open_check(self, ctx: MortgageContext, check_id: str) -> FloorCheck:
        check = self._check(ctx, arg_id(check_id, "check_id"))
        self._lender_only(ctx, check.lender, f"floor check {check.check_id}")
        if check.status is not FloorCheckStatus.OPEN:
            raise ConflictError(f"floor check {check.check_id} was closed on {check.closed_at}")
        return check

    @submit
    def open_floor_check(self, ctx: MortgageContext, check: FloorCheckIn) -> FloorCheck:
        line = self._line(ctx, check.line_id)
        self._lender_only(ctx, line.lender, f"credit line {line.line_id}")
        if ctx.store.exists(FPCHECK, check.check_id):
            raise ConflictError(f"floor check {check.check_id} already exists")
        record = FloorCheck(
            **check.model_dump(),
            lender=line.lender,
            dealer_id=line.dealer_id,
            opened_by=ctx.msp_id,
            opened_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, FPCHECK, check.check_id)
        ctx.emit(
            "FloorCheckOpened",
            check_id=check.check_id,
            line_id=line.line_id,
            lender=line.lender,
            dealer_id=line.dealer_id,
        )
        return record

    @submit
    def scan_floor_check(self, ctx: MortgageContext, check_id: str, scan: ScanIn) -> FloorCheckScan:
        """One car seen on the lot at the transaction's time and the scanned place (its QR code or VIN).
        Reads the check without writing it, so several auditors scan the same lot without conflicts."""
        check = self._open_check(ctx, check_id)
        code_id = scan.code_id
        if code_id is not None:
            code = ctx.store.get(QrIdentity, s.QR, code_id)
            if code is None:
                raise NotFoundError(f"QR code {code_id} not found")
            if code.revoked:
                raise ConflictError(
                    f"scan refused: QR code {code_id} of vehicle {code.vin} was revoked on {code.revoked_at} "
                    f"(superseded by {code.superseded_by}); the car carries a stale code"
                )
            vin = code.vin
        else:
            vin = scan.vin or ""
            self._vehicle(ctx, vin)
        if ctx.store.exists(FPSCAN, check.check_id, vin):
            raise ConflictError(f"vehicle {vin} was already scanned in floor check {check.check_id}")
        advance_id = s.Store.unique_id(ctx.store.get_raw(FPVIN, vin))
        advance = ctx.store.get(Advance, FPADV, advance_id) if advance_id else None
        financed = advance is not None and advance.line_id == check.line_id
        record = FloorCheckScan(
            **scan.model_dump(exclude={"vin", "code_id"}),
            check_id=check.check_id,
            vin=vin,
            code_id=code_id,
            seen_at=ctx.at,
            scanned_by=ctx.msp_id,
            advance_id=advance_id if financed else None,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, FPSCAN, check.check_id, vin)
        alert_id = None
        if financed and scan.odometer_km is not None:
            alert_id = mileage_check(
                ctx, self._vehicle(ctx, vin), scan.odometer_km, f"floor_check:{check.check_id}"
            )
        ctx.emit(
            "FloorCheckScanned",
            check_id=check.check_id,
            line_id=check.line_id,
            lender=check.lender,
            vin=vin,
            financed=financed,
            alert_id=alert_id,
        )
        return record

    @submit
    def close_floor_check(self, ctx: MortgageContext, check_id: str) -> FloorCheck:
        """Close the check: each car financed (before the check opened) and not seen raises a
        sold-out-of-trust alert; the check lists seen, not seen and scanned-but-not-financed cars."""
        check = self._open_check(ctx, check_id)
        scans = ctx.store.scan(FloorCheckScan, FPSCAN, check.check_id)
        seen = {sc.vin for sc in scans}
        not_seen, alerts = [], []
        for advance_id in ctx.store.index_ids(IDX_FPLINEADV, check.line_id):
            advance = self._advance(ctx, advance_id)
            if advance.status is not AdvanceStatus.OPEN or advance.advanced_at > check.opened_at:
                continue
            if advance.vin in seen:
                continue
            not_seen.append(advance.vin)
            alert = raise_alert(
                ctx,
                advance,
                "sold_out_of_trust:not_seen",
                f"{check.check_id}:{advance.advance_id}",
                check_id=check.check_id,
                location=check.location,
                outstanding=str(money(advance.outstanding)),
            )
            alerts.append(alert.alert_id)
        closed = check.model_copy(
            update={
                "status": FloorCheckStatus.CLOSED,
                "closed_at": ctx.at,
                "scans": len(scans),
                "seen": sorted(sc.vin for sc in scans if sc.advance_id is not None),
                "not_seen": sorted(not_seen),
                "not_financed": sorted(sc.vin for sc in scans if sc.advance_id is None),
                "alerts": alerts,
                "tx_id": ctx.tx_id,
            }
        )
        ctx.store.put(closed, FPCHECK, check.check_id)
        ctx.emit(
            "FloorCheckClosed",
            check_id=check.check_id,
            line_id=check.line_id,
            lender=check.lender,
            seen=len(closed.seen),
            not_seen=closed.not_seen,
            alerts=alerts,
        )
        return closed

    @evaluate
    def get_floor_check(self, ctx: MortgageContext, check_id: str) -> dict[str, Any]:
        check = self._check(ctx, arg_id(check_id, "check_id"))
        self._readable_line(ctx, check.line_id)
        return {"check": check, "scans": ctx.store.scan(FloorCheckScan, FPSCAN, check.check_id)}

    @evaluate
    def get_floor_plan_alerts(self, ctx: MortgageContext, line_id: str) -> list[dict[str, Any]]:
        """The line's alerts with their details and acknowledgement (the risk alert of the same id)."""
        line = self._readable_line(ctx, line_id)
        out = []
        for alert_id in ctx.store.index_ids(IDX_FPALERTLINE, line.line_id):
            alert = ctx.store.get(FloorPlanAlert, FPALERT, alert_id)
            risk = self._risk_alert(ctx, alert_id)
            if alert is not None:
                out.append({**alert.model_dump(mode="json"), **risk})
        return out

    def _risk_alert(self, ctx: MortgageContext, alert_id: str) -> dict[str, Any]:
        risk = ctx.store.get(RiskAlert, k.ALERT, alert_id)
        if risk is None:
            return {}
        return {"acknowledged": risk.acknowledged, "acknowledged_at": risk.acknowledged_at}


__all__ = ["FloorCheckTransactions"]
