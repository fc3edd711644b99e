"""Domain rules of the vehicle-collateral ledger, as pure functions of records and the transaction time.

Kept apart from the contract so that they can be read (and tested) without a ledger: loan-to-value,
odometer monotonicity, lien priority and state machine, proceeds distribution, owner hashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from chaincode.runtime.errors import BadRequestError, ConflictError

from .models import Config, Lien, LienRef, LienStatus, Payout, Valuation, Vehicle, VehicleStatus

CENT = Decimal("0.01")

# --- liens ----------------------------------------------------------------------------------

#: Statuses in which a lien encumbers its vehicle (counts for LTV, blocks transfer, sets the key policy).
ENCUMBERING = frozenset({LienStatus.RECORDED, LienStatus.ASSIGNMENT_PENDING, LienStatus.FORECLOSING})
#: A lien in one of these never changes again.
TERMINAL = frozenset(
    {LienStatus.REJECTED, LienStatus.RELEASED, LienStatus.DISCHARGED, LienStatus.LAPSED, LienStatus.CANCELLED}
)

LIEN_TRANSITIONS: dict[LienStatus, frozenset[LienStatus]] = {
    LienStatus.REQUESTED: frozenset({LienStatus.RECORDED, LienStatus.REJECTED}),
    # DISCHARGED from RECORDED / ASSIGNMENT_PENDING: a disposal started by another lienholder ends them too
    # LAPSED: the maturity sweep; CANCELLED: the vehicle office's correction of a lien recorded in error
    LienStatus.RECORDED: frozenset(
        {
            LienStatus.RELEASED,
            LienStatus.ASSIGNMENT_PENDING,
            LienStatus.FORECLOSING,
            LienStatus.DISCHARGED,
            LienStatus.LAPSED,
            LienStatus.CANCELLED,
        }
    ),
    LienStatus.ASSIGNMENT_PENDING: frozenset(
        {LienStatus.RECORDED, LienStatus.RELEASED, LienStatus.DISCHARGED, LienStatus.CANCELLED}
    ),
    LienStatus.FORECLOSING: frozenset({LienStatus.DISCHARGED, LienStatus.RELEASED}),
    LienStatus.REJECTED: frozenset(),
    LienStatus.RELEASED: frozenset(),
    LienStatus.DISCHARGED: frozenset(),
    LienStatus.LAPSED: frozenset(),
    LienStatus.CANCELLED: frozenset(),
}


def ensure_lien_status(lien: Lien, allowed: Iterable[LienStatus], action: str) -> None:
    """409 unless the lien is in one of ``allowed`` (and the move is in the state machine)."""
    allowed = frozenset(allowed)
    if lien.status not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise ConflictError(f"{action} refused: lien {lien.lien_id} is {lien.status.value}, must be {wanted}")


def can_transition(source: LienStatus, target: LienStatus) -> bool:
    return target in LIEN_TRANSITIONS[source]


def lien_refs_sorted(refs: Iterable[LienRef]) -> list[LienRef]:
    """Encumbering liens in priority order (1 = senior)."""
    return sorted(refs, key=lambda ref: ref.priority)


def describe_liens(vehicle: Vehicle) -> str:
    """``L1 held by BankAMSP, L2 held by BankBMSP`` for conflict messages."""
    return ", ".join(f"{r.lien_id} held by {r.lienholder}" for r in lien_refs_sorted(vehicle.liens))


# --- vehicles -------------------------------------------------------------------------------

FREE_STATUSES = frozenset({VehicleStatus.REGISTERED, VehicleStatus.DISPOSED})


def settled_status(vehicle: Vehicle) -> VehicleStatus:
    """The status a vehicle returns to when nothing special holds it: mortgaged iff encumbered."""
    return VehicleStatus.MORTGAGED if vehicle.liens else VehicleStatus.REGISTERED


def ensure_vehicle_status(vehicle: Vehicle, allowed: Iterable[VehicleStatus], action: str) -> None:
    allowed = frozenset(allowed)
    if vehicle.status not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise ConflictError(
            f"{action} refused: vehicle {vehicle.vin} is {vehicle.status.value}, must be {wanted}"
        )


# --- loan-to-value ----------------------------------------------------------------------------


def valuation_age(valuation: Valuation, now: datetime) -> timedelta:
    return now - parse_ts(valuation.recorded_at)


def is_stale(valuation: Valuation, config: Config, now: datetime) -> bool:
    return valuation_age(valuation, now) > timedelta(days=config.valuation_max_age_days)


def check_ltv(
    vin: str,
    secured_total: Decimal,
    currency: str,
    valuation: Valuation | None,
    config: Config,
    now: datetime,
) -> Decimal:
    """Raise 409 unless ``secured_total`` ≤ cap × a fresh valuation in ``currency``; return the cap amount."""
    if valuation is None:
        raise ConflictError(f"lien refused: vehicle {vin} has no valuation")
    if is_stale(valuation, config, now):
        age = valuation_age(valuation, now).days
        raise ConflictError(
            f"lien refused: latest valuation {valuation.valuation_id} of vehicle {vin} is {age} days old, "
            f"older than the limit of {config.valuation_max_age_days} days"
        )
    if valuation.currency != currency:
        raise ConflictError(
            f"lien refused: lien currency {currency} differs from valuation {valuation.valuation_id} "
            f"currency {valuation.currency}"
        )
    cap = money(config.ltv_cap * valuation.value)
    if secured_total > cap:
        raise ConflictError(
            f"LTV exceeded for {vin}: secured total {money(secured_total)} {currency} > cap {cap} {currency} "
            f"({config.ltv_cap} × valuation {money(valuation.value)} {currency}, {valuation.valuation_id} "
            f"of {valuation.recorded_at[:10]})"
        )
    return cap


# --- odometer ---------------------------------------------------------------------------------


#: The public passport shows a valuation only as a band of this width: exact figures are the lenders'.
VALUATION_BAND_STEP = Decimal(50000)


def valuation_band(value: Decimal) -> tuple[Decimal, Decimal]:
    """The band [low, high) of width :data:`VALUATION_BAND_STEP` that holds ``value``."""
    low = (value // VALUATION_BAND_STEP) * VALUATION_BAND_STEP
    return low, low + VALUATION_BAND_STEP


def is_odometer_anomaly(current_max_km: int | None, reading_km: int) -> bool:
    """A reading below the highest one seen so far is an anomaly (rollback or typo), never the new value."""
    return current_max_km is not None and reading_km < current_max_km


def next_odometer_max(current_max_km: int | None, reading_km: int) -> int:
    return reading_km if current_max_km is None else max(current_max_km, reading_km)


# --- disposal ---------------------------------------------------------------------------------


def distribute_proceeds(sale_price: Decimal, liens: Iterable[Lien]) -> tuple[list[Payout], Decimal]:
    """Pay the liens senior-first, each up to its secured amount; return payouts and the surplus."""
    remaining = sale_price
    payouts: list[Payout] = []
    for lien in sorted(liens, key=lambda lien: lien.priority or 0):
        paid = min(remaining, lien.secured_amount)
        remaining -= paid
        payouts.append(
            Payout(
                lien_id=lien.lien_id,
                lienholder=lien.lienholder,
                priority=lien.priority or 0,
                secured_amount=lien.secured_amount,
                paid=paid,
                shortfall=lien.secured_amount - paid,
            )
        )
    return payouts, remaining


# --- owner hash -------------------------------------------------------------------------------

MIN_SALT = 16
MAX_SALT = 64


def canonical_owner_id(id_number: str) -> str:
    return id_number.strip().upper()


def owner_hash(salt: bytes, id_number: str) -> str:
    """``sha256(salt ‖ canonical id)`` hex: links a vehicle to its owner without revealing the id number."""
    if not MIN_SALT <= len(salt) <= MAX_SALT:
        raise BadRequestError(f"transient owner_salt: must be {MIN_SALT}..{MAX_SALT} bytes, got {len(salt)}")
    return hashlib.sha256(salt + canonical_owner_id(id_number).encode("utf-8")).hexdigest()


# --- time and money ---------------------------------------------------------------------------


def format_ts(ts: datetime) -> str:
    """ISO 8601 UTC with microseconds and ``Z``: fixed width, so strings sort as times."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str) -> datetime:
    from datetime import UTC

    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)
