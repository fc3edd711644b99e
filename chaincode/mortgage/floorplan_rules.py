"""Floor-plan rules as pure functions: the curtailment schedule as of a date, exposure, alert ids.

Apart from the contract so the schedule arithmetic reads (and is tested) without a ledger; the
contract calls these with the transaction's date, never a clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .models.floorplan import Advance, CurtailmentSchedule
from .rules import CENT

HUNDRED = Decimal(100)


def installment_date(advanced_on: date, schedule: CurtailmentSchedule, n: int) -> date:
    """When curtailment installment ``n`` (1, 2, ...) falls due."""
    return advanced_on + timedelta(days=schedule.first_after_days + (n - 1) * schedule.every_days)


def required_share(schedule: CurtailmentSchedule, n: int) -> Decimal:
    """The share of the advance repaid in total once installment ``n`` is due (0 before the first)."""
    if n <= 0:
        return Decimal(0)
    return min(HUNDRED, schedule.first_percent + (n - 1) * schedule.step_percent) / HUNDRED


def last_installment(schedule: CurtailmentSchedule) -> int:
    """The installment that brings the cumulative requirement to 100 %."""
    n = 1
    while required_share(schedule, n) < 1:
        n += 1
    return n


def required_repaid(amount: Decimal, schedule: CurtailmentSchedule, n: int) -> Decimal:
    return (amount * required_share(schedule, n)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CurtailmentPosition:
    """Where an advance stands against its schedule on a day."""

    installments_due: int  # installments whose date is on or before the day
    required: Decimal  # cumulative principal that should be repaid by the day
    repaid: Decimal
    due_now: Decimal  # required - repaid, never negative
    overdue: tuple[int, ...]  # installments whose date has passed while the requirement is unmet
    next_date: date | None
    next_required: Decimal | None


def position(advance: Advance, schedule: CurtailmentSchedule, today: date) -> CurtailmentPosition:
    repaid = (advance.amount - advance.outstanding).quantize(CENT)
    last = last_installment(schedule)
    n_due = 0
    while n_due < last and installment_date(advance.advanced_on, schedule, n_due + 1) <= today:
        n_due += 1
    required = required_repaid(advance.amount, schedule, n_due)
    overdue = tuple(
        n
        for n in range(1, n_due + 1)
        if installment_date(advance.advanced_on, schedule, n) < today
        and repaid < required_repaid(advance.amount, schedule, n)
    )
    nxt = n_due + 1 if n_due < last else None
    return CurtailmentPosition(
        installments_due=n_due,
        required=required,
        repaid=repaid,
        due_now=max(Decimal(0), required - repaid).quantize(CENT),
        overdue=overdue,
        next_date=installment_date(advance.advanced_on, schedule, nxt) if nxt else None,
        next_required=required_repaid(advance.amount, schedule, nxt) if nxt else None,
    )


def alert_id(tx_id: str, rule: str, subject: str) -> str:
    """A deterministic alert id (every endorsing peer computes the same one)."""
    return "FPA-" + hashlib.sha256(f"{tx_id}\0{rule}\0{subject}".encode()).hexdigest()[:24]


def mileage_in_stock(advance: Advance, reading_km: int) -> int:
    return max(0, reading_km - advance.odometer_km)


__all__ = [
    "CurtailmentPosition",
    "alert_id",
    "installment_date",
    "last_installment",
    "mileage_in_stock",
    "position",
    "required_repaid",
    "required_share",
]
