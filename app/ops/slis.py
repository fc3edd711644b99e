"""The data and model SLIs the consortium's SLOs are written against (docs/operations.md).

* data completeness: of the active vehicles (not disposed or scrapped), the share with a valid
  insurance policy today, with a valuation younger than ``valuation_max_age_days`` and with an
  odometer reading in the last ``odometer_months`` months; "all" is the share meeting all three;
* model accuracy: of the disposals (``DisposalCompleted`` events), the share whose realised sale
  price is within ``tolerance`` of the valuation recorded last before the sale, and their mean
  absolute percentage error.

Vehicles, policies, valuations and disposal events come from the read model (one read snapshot);
odometer readings are not projected there, so their dates come from the ledger (``GetOdometer``) via a
callable. Everything here is a pure function of its inputs, so the figures can be checked by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

INACTIVE_STATUSES = ("DISPOSED", "SCRAPPED")


@dataclass(frozen=True)
class Completeness:
    active: int
    insured: int
    valued: int
    odometer: int
    complete: int
    odometer_known: bool = True

    def ratio(self, n: int) -> float:
        return 1.0 if self.active == 0 else n / self.active


@dataclass(frozen=True)
class Accuracy:
    disposals: int  # disposals with a valuation recorded before the sale
    hits: int
    mape: float | None
    unvalued: int = 0  # disposals with no earlier valuation (not counted in the ratio)
    errors: list[float] = field(default_factory=list, repr=False)

    @property
    def ratio(self) -> float | None:
        return None if self.disposals == 0 else self.hits / self.disposals


def _parse_at(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(str(text)[:10]), datetime.min.time())
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _decimal(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def months_before(now: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    month_index = now.year * 12 + now.month - 1 - months
    year, month = divmod(month_index, 12)
    for day in range(now.day, 0, -1):
        try:
            return now.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def active_vins(cur: Any, q: Callable[[str], str]) -> list[str]:
    marks = ", ".join("?" for _ in INACTIVE_STATUSES)
    rows = cur.execute(
        q(f"SELECT vin FROM vehicles WHERE status NOT IN ({marks}) ORDER BY vin"), INACTIVE_STATUSES
    )
    return [str(r[0]) for r in rows.fetchall()]


def completeness(
    cur: Any,
    q: Callable[[str], str],
    now: datetime,
    *,
    valuation_max_age_days: int,
    odometer_months: int,
    last_odometer: Callable[[list[str]], dict[str, datetime | None]] | None,
) -> Completeness:
    """Counts over the active vehicles; ``last_odometer(vins)`` gives each VIN's last reading time."""
    vins = active_vins(cur, q)
    active = set(vins)
    today = now.date().isoformat()
    insured = {
        str(r[0])
        for r in cur.execute(
            q(
                "SELECT vin FROM insurance WHERE kind = 'policy' AND status = 'ACTIVE' "
                "AND (valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?)"
            ),
            (today, today),
        ).fetchall()
    } & active
    fresh_after = now - timedelta(days=valuation_max_age_days)
    valued = {
        str(vin)
        for vin, recorded_at in cur.execute(
            q(
                "SELECT l.vin, v.recorded_at FROM valuation_latest l "
                "JOIN valuations v ON v.vin = l.vin AND v.valuation_id = l.valuation_id"
            )
        ).fetchall()
        if (at := _parse_at(recorded_at)) is not None and at >= fresh_after
    } & active
    odometer: set[str] = set()
    known = last_odometer is not None
    if last_odometer is not None and vins:
        read_after = months_before(now, odometer_months)
        odometer = {vin for vin, at in last_odometer(vins).items() if at is not None and at >= read_after}
    complete = insured & valued & odometer if known else set()
    return Completeness(len(active), len(insured), len(valued), len(odometer), len(complete), known)


def accuracy(cur: Any, q: Callable[[str], str], tolerance: float) -> Accuracy:
    """Realised disposal prices against the valuation recorded last before each sale."""
    disposals: list[tuple[str, Decimal, datetime]] = []
    for vin, at, payload in cur.execute(
        q(
            "SELECT vin, at, payload FROM events WHERE name = 'DisposalCompleted' "
            "ORDER BY block_number, tx_index"
        )
    ).fetchall():
        try:
            body = json.loads(payload)
        except (TypeError, ValueError):
            continue
        price = _decimal(body.get("sale_price"))
        when = _parse_at(body.get("completed_at") or at)
        vin = vin or body.get("vin")
        if price is None or price <= 0 or when is None or not vin:
            continue
        disposals.append((str(vin), price, when))
    if not disposals:
        return Accuracy(0, 0, None)
    marks = ", ".join("?" for _ in {d[0] for d in disposals})
    history: dict[str, list[tuple[datetime, Decimal]]] = {}
    for vin, value, recorded_at in cur.execute(
        q(f"SELECT vin, value, recorded_at FROM valuations WHERE vin IN ({marks})"),
        tuple({d[0] for d in disposals}),
    ).fetchall():
        amount, at = _decimal(value), _parse_at(recorded_at)
        if amount is not None and at is not None:
            history.setdefault(str(vin), []).append((at, amount))
    return score(disposals, history, tolerance)


def score(
    disposals: Iterable[tuple[str, Decimal, datetime]],
    history: dict[str, list[tuple[datetime, Decimal]]],
    tolerance: float,
) -> Accuracy:
    errors: list[float] = []
    unvalued = 0
    for vin, price, when in disposals:
        before = [v for v in sorted(history.get(vin, [])) if v[0] <= when]
        if not before:
            unvalued += 1
            continue
        valuation = before[-1][1]
        errors.append(float(abs(valuation - price) / price))
    hits = sum(1 for e in errors if e <= tolerance)
    mape = sum(errors) / len(errors) if errors else None
    return Accuracy(len(errors), hits, mape, unvalued, errors)


def odometer_times(readings: dict[str, Any]) -> datetime | None:
    """The last reading time of a ``GetOdometer`` answer (its ``last_reading_at``), else None."""
    if not readings:
        return None
    return _parse_at(readings.get("last_reading_at"))
