"""The data-completeness and model-accuracy SLIs, on read-model rows whose answers are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from app.ops import slis
from app.readmodel.sqlite import SqliteStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TAIL = (1, 0, 0, "tx", "{}")  # schema_version, block, tx_index, tx_id, doc


def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "rm.sqlite")

    def vehicle(vin: str, status: str) -> None:
        store.execute_raw(
            "INSERT INTO vehicles VALUES (?, 'P', 'VW', 'Golf', 2020, 'h', ?, NULL, NULL, NULL, NULL, 0, 0, "
            "?, ?, ?, ?, ?)",
            (vin, status, *TAIL),
        )

    def policy(vin: str, status: str, valid_to: str) -> None:
        store.execute_raw(
            "INSERT INTO insurance VALUES ('policy', ?, ?, 'Ins', ?, '2026-01-01', ?, NULL, ?, ?, ?, ?, ?)",
            (f"pol-{vin}-{status}", vin, status, valid_to, *TAIL),
        )

    def valuation(vin: str, vid: str, value: str, at: str, latest: bool = True) -> None:
        store.execute_raw(
            "INSERT INTO valuations VALUES (?, ?, ?, 'EUR', 'm', '1', ?, ?, ?, ?, ?, ?)",
            (vin, vid, value, at, *TAIL),
        )
        if latest:
            store.execute_raw(
                "INSERT INTO valuation_latest VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (vin) DO UPDATE "
                "SET valuation_id = excluded.valuation_id",
                (vin, vid, *TAIL),
            )

    for vin, status in (("A", "REGISTERED"), ("B", "MORTGAGED"), ("C", "FLOOR_PLAN"), ("D", "REGISTERED")):
        vehicle(vin, status)
    vehicle("X", "DISPOSED")  # not active: counts nowhere
    policy("A", "ACTIVE", "2027-06-30")
    policy("B", "ACTIVE", "2026-11-30")  # expired last week
    policy("C", "LAPSED", "2027-06-30")
    policy("D", "ACTIVE", "2027-01-31")
    policy("X", "ACTIVE", "2027-01-31")
    valuation("A", "v1", "10000", "2026-10-01T00:00:00Z")
    valuation("B", "v1", "10000", "2026-01-01T00:00:00Z")  # older than 180 days
    valuation("D", "v1", "10000", "2026-09-01T00:00:00Z")
    return store


def test_completeness_counts_each_check_over_active_vehicles(tmp_path: Path) -> None:
    store = _store(tmp_path)
    readings = {
        "A": datetime(2026, 3, 1, tzinfo=UTC),
        "B": datetime(2026, 11, 1, tzinfo=UTC),
        "C": None,
        "D": datetime(2025, 11, 30, tzinfo=UTC),  # 12 months + a week ago
    }
    with store.reading() as cur:
        c = slis.completeness(
            cur,
            store.q,
            NOW,
            valuation_max_age_days=180,
            odometer_months=12,
            last_odometer=lambda vins: readings,
        )
    assert (c.active, c.insured, c.valued, c.odometer, c.complete) == (4, 2, 2, 2, 1)
    assert c.ratio(c.complete) == 0.25


def test_completeness_without_odometer_source(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.reading() as cur:
        c = slis.completeness(
            cur, store.q, NOW, valuation_max_age_days=180, odometer_months=12, last_odometer=None
        )
    assert not c.odometer_known and c.complete == 0 and c.insured == 2


def test_accuracy_uses_the_valuation_before_each_sale(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # A: valued 10000 on 2026-10-01, then 20000 after the sale (must not be used); sold 9000: error 11 %
    store.execute_raw(
        "INSERT INTO valuations VALUES "
        "('A', 'v2', '20000', 'EUR', 'm', '1', '2026-12-01T00:00:00Z', 1, 9, 0, 't', '{}')"
    )
    events = [
        (
            "A",
            {"vin": "A", "sale_price": "9000", "completed_at": "2026-11-01T00:00:00Z"},
        ),  # |10000-9000|/9000 = 0.111
        ("D", {"vin": "D", "sale_price": "5000", "completed_at": "2026-11-02T00:00:00Z"}),  # 1.0: a miss
        ("C", {"vin": "C", "sale_price": "5000", "completed_at": "2026-11-03T00:00:00Z"}),  # never valued
    ]
    for i, (vin, body) in enumerate(events):
        store.execute_raw(
            "INSERT INTO events VALUES (?, 0, ?, 'DisposalCompleted', ?, NULL, ?, ?)",
            (10 + i, f"t{i}", vin, body["completed_at"], json.dumps(body)),
        )
    with store.reading() as cur:
        a = slis.accuracy(cur, store.q, tolerance=0.15)
    assert (a.disposals, a.hits, a.unvalued) == (2, 1, 1)
    assert a.ratio == 0.5
    assert a.mape is not None and abs(a.mape - (1000 / 9000 + 1.0) / 2) < 1e-9


def test_months_before_clamps_to_month_end() -> None:
    assert slis.months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert slis.months_before(datetime(2026, 1, 15, tzinfo=UTC), 12) == datetime(2025, 1, 15, tzinfo=UTC)
