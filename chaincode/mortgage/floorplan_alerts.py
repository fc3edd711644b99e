"""Sold-out-of-trust guards and alerts shared by the floor-plan module and the existing paths.

A car in a dealer's stock under an unpaid floor-plan advance must not leave it without the payoff:
the title transfer and the recording of a consumer lien refuse it, a consumer lien request, a mileage
jump in stock, a car not seen at a floor check and an unpaid curtailment raise an alert to the lender.
An alert is a risk alert on the floor-plan lien (``ALERT[...]``: acknowledged by the lender, counted on
the regulator's dashboard) with its details beside it (``FPALERT[...]``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from chaincode.runtime.errors import ConflictError, NotFoundError

from . import access
from . import law_keys as k
from . import store as s
from .args import arg_id
from .context import MortgageContext
from .floorplan_rules import alert_id as make_alert_id
from .floorplan_rules import mileage_in_stock
from .law_models import RiskAlert, Severity
from .models import Record, Vehicle, VehicleStatus
from .models.floorplan import Advance, AdvanceStatus, CreditLine, WhitelistEntry
from .rules import money
from .support import MortgageSupport

# world-state keys of floor-plan finance
FPWL = "FPWL"  # (core enterprise msp, dealer id): whitelist entry
FPLINE = "FPLINE"  # (line)
FPADV = "FPADV"  # (advance)
FPLIEN = "FPLIEN"  # (floor-plan lien id)
FPVIN = "FPVIN"  # unique: (vin) -> the open advance id
FPCHECK = "FPCHECK"  # (check)
FPSCAN = "FPSCAN"  # (check, vin)
FPRECV = "FPRECV"  # (debtor msp, receivable): the pledge (one per receivable, whoever the pledgee)
FPALERT = "FPALERT"  # (alert): the alert's details
IDX_FPLINEADV = "IDX_FPLINEADV"  # (line, advance)
IDX_FPLENDER = "IDX_FPLENDER"  # (lender, line)
IDX_FPDEALER = "IDX_FPDEALER"  # (dealer msp, line)
IDX_FPAPPROVER = "IDX_FPAPPROVER"  # (core enterprise msp, line)
IDX_FPRECVLINE = "IDX_FPRECVLINE"  # (line, debtor, receivable)
IDX_FPALERTLINE = "IDX_FPALERTLINE"  # (line, alert)

#: alert rules (the ``rule`` of the risk alert) and their severity
SOLD_OUT_OF_TRUST = "sold_out_of_trust"
ALERT_RULES: dict[str, Severity] = {
    "sold_out_of_trust:not_seen": Severity.HIGH,
    "sold_out_of_trust:mileage_in_stock": Severity.MEDIUM,
    "sold_out_of_trust:consumer_lien": Severity.CRITICAL,
    "curtailment_unpaid": Severity.MEDIUM,
}


class FloorPlanAlert(Record):
    alert_id: str
    rule: str
    severity: Severity
    line_id: str
    advance_id: str
    vin: str
    lienholder: str
    dealer_id: str
    detail: dict[str, Any]
    raised_at: str
    tx_id: str


def open_advance(ctx: MortgageContext, vin: str) -> Advance | None:
    """The vehicle's unpaid floor-plan advance, if any (one unique-key read)."""
    advance_id = s.Store.unique_id(ctx.store.get_raw(FPVIN, vin))
    if advance_id is None:
        return None
    advance = ctx.store.get(Advance, FPADV, advance_id)
    return advance if advance is not None and advance.status is AdvanceStatus.OPEN else None


def ensure_not_floor_planned(ctx: MortgageContext, vehicle: Vehicle, action: str) -> None:
    """Refuse a title transfer or a consumer lien's recording while a floor-plan advance is unpaid."""
    if vehicle.status is not VehicleStatus.FLOOR_PLAN:
        return
    advance = open_advance(ctx, vehicle.vin)
    owed = f"{money(advance.outstanding)} {advance.currency}" if advance else "unknown"
    raise ConflictError(
        f"{action} refused by rule 'floor_plan': vehicle {vehicle.vin} is in dealer stock financed by "
        f"advance {advance.advance_id if advance else '?'} of {advance.lender if advance else '?'} "
        f"(outstanding {owed}); sell it with RetailSale (payoff, lien release and title at once) or pay "
        "the advance off first"
    )


def raise_alert(
    ctx: MortgageContext, advance: Advance, rule: str, subject: str, **detail: Any
) -> FloorPlanAlert:
    """Write an alert on the advance's floor-plan lien (a risk alert plus its details)."""
    severity = ALERT_RULES[rule]
    alert = FloorPlanAlert(
        alert_id=make_alert_id(ctx.tx_id, rule, subject),
        rule=rule,
        severity=severity,
        line_id=advance.line_id,
        advance_id=advance.advance_id,
        vin=advance.vin,
        lienholder=advance.lender,
        dealer_id=advance.dealer_id,
        detail=detail,
        raised_at=ctx.at,
        tx_id=ctx.tx_id,
    )
    body = s.dumps(alert)
    ctx.store.put(alert, FPALERT, alert.alert_id)
    ctx.store.index_put(IDX_FPALERTLINE, advance.line_id, alert.alert_id)
    risk = RiskAlert(
        alert_id=alert.alert_id,
        lien_id=advance.floor_plan_lien_id,
        vin=advance.vin,
        lienholder=advance.lender,
        rule=rule,
        severity=severity,
        alert_sha256=hashlib.sha256(body).hexdigest(),
        raised_by=ctx.msp_id,
        raised_at=ctx.at,
        tx_id=ctx.tx_id,
    )
    ctx.store.put(risk, k.ALERT, alert.alert_id)
    ctx.store.index_put(k.IDX_ALERTLIEN, advance.floor_plan_lien_id, alert.alert_id)
    ctx.store.index_put(k.IDX_ALERTHOLDER, advance.lender, alert.alert_id)
    return alert


def consumer_lien_alert(ctx: MortgageContext, vehicle: Vehicle, lien_id: str, lender: str) -> str | None:
    """A consumer lien asked for on a car still floor-planned: the car was sold out of trust."""
    if vehicle.status is not VehicleStatus.FLOOR_PLAN:
        return None
    advance = open_advance(ctx, vehicle.vin)
    if advance is None:
        return None
    alert = raise_alert(
        ctx,
        advance,
        "sold_out_of_trust:consumer_lien",
        lien_id,
        consumer_lien_id=lien_id,
        consumer_lender=lender,
        outstanding=str(money(advance.outstanding)),
    )
    return alert.alert_id


def mileage_check(ctx: MortgageContext, vehicle: Vehicle, reading_km: int, source: str) -> str | None:
    """A financed car driven more than the line's threshold while in stock raises one alert."""
    if vehicle.status is not VehicleStatus.FLOOR_PLAN:
        return None
    advance = open_advance(ctx, vehicle.vin)
    if advance is None or advance.odometer_alerted:
        return None
    line = ctx.store.get(CreditLine, FPLINE, advance.line_id)
    if line is None:
        return None
    driven = mileage_in_stock(advance, reading_km)
    if driven <= line.odometer_threshold_km:
        return None
    alert = raise_alert(
        ctx,
        advance,
        "sold_out_of_trust:mileage_in_stock",
        f"{source}:{reading_km}",
        odometer_km_at_advance=advance.odometer_km,
        odometer_km=reading_km,
        driven_km=driven,
        threshold_km=line.odometer_threshold_km,
        source=source,
    )
    ctx.store.put(
        advance.model_copy(update={"odometer_alerted": True, "updated_at": ctx.at, "tx_id": ctx.tx_id}),
        FPADV,
        advance.advance_id,
    )
    return alert.alert_id


def party(ctx: MortgageContext, line: CreditLine) -> bool:
    """Object rule ``floor_plan_party``: a bank, dealer or core-enterprise identity (not an auditor) reads
    a line only as its lender, its dealer or the core enterprise that approved the dealer."""
    return access.floor_plan_party(
        ctx.msp_id, ctx.role, {line.lender, line.dealer_msp_id, line.approver_msp_id}
    )


class FloorPlanSupport(MortgageSupport):
    """Loaders and object-rule checks of the floor-plan modules."""

    def _line(self, ctx: MortgageContext, line_id: str) -> CreditLine:
        line = ctx.store.get(CreditLine, FPLINE, line_id)
        if line is None:
            raise NotFoundError(f"credit line {line_id} not found")
        return line

    def _readable_line(self, ctx: MortgageContext, line_id: str) -> CreditLine:
        line = self._line(ctx, arg_id(line_id, "line_id"))
        if not party(ctx, line):
            raise access.object_rule_denied(
                "floor_plan_party",
                f"line {line.line_id} is {line.lender}'s line for {line.dealer_id} ({line.dealer_msp_id}) "
                f"approved by {line.approver_msp_id}; caller is {ctx.msp_id}",
            )
        return line

    def _advance(self, ctx: MortgageContext, advance_id: str) -> Advance:
        advance = ctx.store.get(Advance, FPADV, advance_id)
        if advance is None:
            raise NotFoundError(f"advance {advance_id} not found")
        return advance

    def _lender_only(self, ctx: MortgageContext, lender: str, what: str) -> None:
        if lender != ctx.msp_id:
            raise access.object_rule_denied(
                "floor_plan_lender", f"{what} is {lender}'s, caller is {ctx.msp_id}"
            )

    def _whitelisted(
        self, ctx: MortgageContext, approver: str, dealer_id: str, action: str
    ) -> WhitelistEntry:
        entry = ctx.store.get(WhitelistEntry, FPWL, approver, dealer_id)
        if entry is None or not entry.active:
            raise ConflictError(
                f"{action} refused by rule 'whitelist': dealer {dealer_id} is not on the whitelist of "
                f"{approver}"
                + (f" (delisted {entry.delisted_at[:10]})" if entry and entry.delisted_at else "")
            )
        if entry.valid_to is not None and entry.valid_to < ctx.today:
            raise ConflictError(
                f"{action} refused by rule 'whitelist': dealer {dealer_id}'s approval by {approver} "
                f"ended on {entry.valid_to.isoformat()}"
            )
        return entry


__all__ = [
    "ALERT_RULES",
    "FloorPlanAlert",
    "FloorPlanSupport",
    "consumer_lien_alert",
    "ensure_not_floor_planned",
    "mileage_check",
    "open_advance",
    "party",
    "raise_alert",
]
