"""Lien-law rules as pure functions: claims against outstanding balances, the proceeds waterfall, the
reserve, lapse and maturity notices, holds, and the vehicle status machine.

Apart from the contract so each rule reads (and is tested) without a ledger; every refusal it raises
names the rule and the figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from chaincode.runtime.errors import ConflictError

from .law_models import Balance, LawConfig
from .models import Config, Lien, Payout, Valuation, Vehicle, VehicleStatus
from .rules import is_stale, money

# --- vehicle status machine --------------------------------------------------------------------

#: Every vehicle status change the contract makes (docs/mortgage-chaincode.md draws this table).
VEHICLE_TRANSITIONS: dict[VehicleStatus, frozenset[VehicleStatus]] = {
    VehicleStatus.REGISTERED: frozenset(
        {VehicleStatus.MORTGAGED, VehicleStatus.SEIZED, VehicleStatus.SCRAPPED, VehicleStatus.FLOOR_PLAN}
    ),
    VehicleStatus.MORTGAGED: frozenset(
        {VehicleStatus.REGISTERED, VehicleStatus.SEIZED, VehicleStatus.IN_DISPOSAL}
    ),
    VehicleStatus.SEIZED: frozenset({VehicleStatus.REGISTERED, VehicleStatus.MORTGAGED}),
    # MORTGAGED: sold subject to senior liens, or the foreclosing lien ended while others remain
    VehicleStatus.IN_DISPOSAL: frozenset(
        {VehicleStatus.DISPOSED, VehicleStatus.MORTGAGED, VehicleStatus.REGISTERED}
    ),
    VehicleStatus.DISPOSED: frozenset(
        {
            VehicleStatus.REGISTERED,
            VehicleStatus.MORTGAGED,
            VehicleStatus.SEIZED,
            VehicleStatus.SCRAPPED,
            VehicleStatus.FLOOR_PLAN,
        }
    ),
    VehicleStatus.SCRAPPED: frozenset(),
    # a floor-plan advance ends by payoff (without a sale, or the retail sale) and nothing else
    VehicleStatus.FLOOR_PLAN: frozenset({VehicleStatus.REGISTERED}),
}


def ensure_vehicle_transition(vin: str, before: VehicleStatus, after: VehicleStatus) -> None:
    """Guard the contract itself: a change outside the table is a bug, refused before anything is written."""
    if before is not after and after not in VEHICLE_TRANSITIONS[before]:
        raise ConflictError(f"vehicle {vin} cannot go from {before.value} to {after.value}")


# --- holds -----------------------------------------------------------------------------------


def ensure_no_holds(vehicle: Vehicle, action: str) -> None:
    """Stolen, customs and scrap-age holds block new liens and transfers; the refusal names each hold."""
    if vehicle.holds:
        named = ", ".join(
            f"{h.kind.value} (set {h.at[:10]} by {h.authority}, document {h.document_id})"
            for h in vehicle.holds
        )
        raise ConflictError(f"{action} refused by rule 'holds': vehicle {vehicle.vin} is under hold {named}")


def ensure_not_seized(vehicle: Vehicle, action: str) -> None:
    """A seized vehicle's liens do not change until the seizure is lifted (机动车登记规定)."""
    if vehicle.status is VehicleStatus.SEIZED:
        seizure = vehicle.seizure
        by = (
            f" by {seizure.authority} on {seizure.at[:10]} (document {seizure.document_id})"
            if seizure
            else ""
        )
        raise ConflictError(
            f"{action} refused by rule 'seized': vehicle {vehicle.vin} is SEIZED{by}; "
            "its liens do not change until the seizure is lifted"
        )


# --- claims and proceeds ---------------------------------------------------------------------------


def claim_of(lien: Lien, balance: Balance | None) -> tuple[Decimal, str]:
    """What a lien claims from proceeds: its reported outstanding balance, capped at the secured amount.

    A lien with no reported balance claims its secured amount (and says so).
    """
    if balance is None:
        return lien.secured_amount, "secured_amount (no balance reported)"
    if balance.outstanding > lien.secured_amount:
        return (
            lien.secured_amount,
            f"secured_amount (balance {money(balance.outstanding)} of {balance.as_of})",
        )
    return balance.outstanding, f"balance of {balance.as_of.isoformat()}"


def waterfall(
    sale_price: Decimal,
    costs: Decimal,
    liens: Iterable[Lien],
    balances: Mapping[str, Balance | None],
) -> tuple[list[Payout], Decimal]:
    """Costs of sale first, then each lien by priority against its claim; the rest is surplus.

    paid total + surplus + costs = sale price always holds; each shortfall is that lien's deficiency.
    """
    if costs > sale_price:
        raise ConflictError(
            f"disposal refused: costs {money(costs)} exceed the sale price {money(sale_price)}"
        )
    remaining = sale_price - costs
    payouts: list[Payout] = []
    for lien in sorted(liens, key=lambda item: item.priority or 0):
        claim, basis = claim_of(lien, balances.get(lien.lien_id))
        paid = min(remaining, claim)
        remaining -= paid
        payouts.append(
            Payout(
                lien_id=lien.lien_id,
                lienholder=lien.lienholder,
                priority=lien.priority or 0,
                secured_amount=lien.secured_amount,
                claim=claim,
                claim_basis=basis,
                paid=paid,
                shortfall=claim - paid,
            )
        )
    return payouts, remaining


def reserve(
    valuation: Valuation | None, config: Config, law: LawConfig, now: datetime
) -> tuple[Decimal | None, str]:
    """The lowest price a sale may fetch without a court order or every lienholder's consent.

    None when there is no valid (attested, fresh) valuation: then no sale price is known to be fair.
    """
    if valuation is None or valuation.attestation is None:
        return None, "no attested valuation"
    if is_stale(valuation, config, now):
        return None, f"valuation {valuation.valuation_id} of {valuation.recorded_at[:10]} is stale"
    if law.reserve_share is not None:
        value = money(law.reserve_share * valuation.value)
        return (
            value,
            f"{law.reserve_share} × value {money(valuation.value)} of valuation {valuation.valuation_id}",
        )
    return money(valuation.interval_low), f"interval_low of valuation {valuation.valuation_id}"


# --- maturity ------------------------------------------------------------------------------------


def lapse_date(lien: Lien, law: LawConfig) -> date:
    """The first day a lien counts as lapsed: maturity plus the grace period."""
    return lien.maturity_date + timedelta(days=law.lapse_grace_days + 1)


def notices_due(lien: Lien, law: LawConfig, today: date, sent: Iterable[int]) -> list[int]:
    """The notice thresholds (days before maturity) reached today and not yet announced."""
    left = (lien.maturity_date - today).days
    done = set(sent)
    return sorted((d for d in law.notice_days if 0 <= left <= d and d not in done), reverse=True)
