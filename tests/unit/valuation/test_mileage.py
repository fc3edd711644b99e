from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.valuation.mileage import Reading, TrackPoint, detect_rollbacks, estimate_mileage, haversine_km

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def _track(days: int, km_per_day: float, start: datetime = T0) -> list[TrackPoint]:
    """A car driving north ~km_per_day each day (1° latitude ≈ 111.2 km)."""
    return [
        TrackPoint(start + timedelta(days=d), 30.0 + d * km_per_day / 111.195, 120.0) for d in range(days + 1)
    ]


def test_haversine_known_distance() -> None:
    assert haversine_km(39.904, 116.407, 31.230, 121.474) == pytest.approx(1067, rel=0.01)  # Beijing-Shanghai
    assert haversine_km(0, 0, 0, 0) == 0


def test_rollback_below_earlier_reading_is_high() -> None:
    readings = [Reading(T0, 40_000, "maintenance"), Reading(T0 + timedelta(days=30), 41_000, "obd"),
                Reading(T0 + timedelta(days=60), 25_000, "obd")]  # fmt: skip
    flags = detect_rollbacks(readings)
    assert len(flags) == 1
    assert (
        flags[0].severity == "high" and flags[0].reading_km == 25_000 and flags[0].expected_min_km == 41_000
    )


def test_small_disagreement_between_sources_is_not_a_rollback() -> None:
    assert (
        detect_rollbacks(
            [Reading(T0, 40_000.4, "obd"), Reading(T0 + timedelta(days=1), 40_000, "maintenance")]
        )
        == []
    )


def test_odometer_lagging_gps_is_flagged_medium() -> None:
    track = _track(10, 100)  # ~1000 km driven
    readings = [Reading(T0, 10_000), Reading(T0 + timedelta(days=10), 10_200)]
    flags = detect_rollbacks(readings, track)
    assert [f.severity for f in flags] == ["medium"]


def test_estimate_adds_gps_distance_since_last_reading() -> None:
    track = _track(20, 50)
    readings = [Reading(T0, 30_000), Reading(T0 + timedelta(days=10), 30_500)]
    est = estimate_mileage(T0 + timedelta(days=20), readings, track)
    assert est.anchor is not None and est.anchor.km == 30_500
    assert est.estimated_km == pytest.approx(31_000, abs=15)
    assert not est.rollback_suspected


def test_gps_glitch_is_dropped() -> None:
    track = _track(2, 50)
    glitch = TrackPoint(T0 + timedelta(days=1, minutes=1), 10.0, 10.0)  # thousands of km in a minute
    est = estimate_mileage(T0 + timedelta(days=2), [Reading(T0, 1000)], [*track, glitch])
    assert est.estimated_km == pytest.approx(1100, abs=2)


def test_rolled_back_reading_is_not_used_as_anchor() -> None:
    readings = [Reading(T0, 80_000), Reading(T0 + timedelta(days=5), 20_000)]
    est = estimate_mileage(T0 + timedelta(days=5), readings, [])
    assert est.anchor is not None and est.anchor.km == 80_000
    assert est.rollback_suspected


def test_extrapolates_without_gps() -> None:
    readings = [Reading(T0, 10_000), Reading(T0 + timedelta(days=100), 15_000)]
    est = estimate_mileage(T0 + timedelta(days=150), readings, [])
    assert est.estimated_km == pytest.approx(17_500)
