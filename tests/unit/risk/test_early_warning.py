from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from app.risk.alerts import ALERT_SCHEMA, EVENT_NAME, Alert
from app.risk.early_warning import LoanTimeline, Thresholds, coverage_days, explicit_alerts

START = date(2024, 6, 1)


def _timeline(n: int = 60, **overrides: object) -> LoanTimeline:
    base: dict[str, object] = dict(
        loan_id="LN1", vin="LSVAB2180E2100001", start=START, radius_km=250.0, km=np.full(n, 40.0),
        max_dist_km=np.full(n, 20.0), odometer_km=10_000 + np.cumsum(np.full(n, 40.0)),
        uncovered=np.zeros(n, dtype=bool), explained_idle=np.zeros(n, dtype=bool),
    )  # fmt: skip
    base.update(overrides)
    return LoanTimeline(**base)  # type: ignore[arg-type]


def _fired(t: LoanTimeline) -> list[tuple[str, str, int]]:
    return [(a.rule, a.severity, (a.observed_at - START).days) for a in explicit_alerts(t)]


def test_quiet_loan_raises_nothing() -> None:
    assert _fired(_timeline()) == []


def test_insurance_lapse_escalates_low_high_critical() -> None:
    uncovered = coverage_days(60, [(10, "lapse")])
    assert _fired(_timeline(uncovered=uncovered)) == [
        ("insurance_lapse", "low", 10), ("insurance_lapse", "high", 17), ("insurance_lapse", "critical", 40),
    ]  # fmt: skip


def test_renewal_within_grace_is_low_only() -> None:
    uncovered = coverage_days(60, [(10, "lapse"), (14, "renewal")])
    assert uncovered.sum() == 4
    assert _fired(_timeline(uncovered=uncovered)) == [("insurance_lapse", "low", 10)]


def test_geofence_medium_then_high_and_short_trip_ignored() -> None:
    dist = np.full(60, 20.0)
    dist[5:7] = 600.0  # a two-day trip: nothing
    dist[20:40] = 400.0
    assert _fired(_timeline(max_dist_km=dist)) == [
        ("geofence_exit", "medium", 23),
        ("geofence_exit", "high", 26),
    ]


def test_far_away_is_high_sooner() -> None:
    dist = np.full(60, 20.0)
    dist[20:] = 900.0  # beyond 3 radii
    assert _fired(_timeline(max_dist_km=dist)) == [("geofence_exit", "high", 23)]


def test_idle_vehicle_unless_explained() -> None:
    km = np.full(60, 40.0)
    km[10:45] = 0.0
    odo = 10_000 + np.cumsum(km)
    assert _fired(_timeline(km=km, odometer_km=odo)) == [
        ("idle_vehicle", "medium", 23),
        ("idle_vehicle", "high", 39),
    ]
    explained = np.zeros(60, dtype=bool)
    explained[10:45] = True
    assert _fired(_timeline(km=km, odometer_km=odo, explained_idle=explained)) == []


def test_odometer_rollback_is_high_once_per_episode() -> None:
    odo = 10_000 + np.cumsum(np.full(60, 40.0))
    odo[30:] -= 5_000
    odo[35] = np.nan
    assert _fired(_timeline(odometer_km=odo)) == [("odometer_rollback", "high", 30)]


def test_odometer_lagging_gps_is_medium() -> None:
    km = np.full(60, 40.0)
    odo = 10_000 + np.cumsum(km)
    odo[20:] = odo[19] + np.cumsum(km[20:]) * 0.3  # the odometer counts a third of what GPS sees
    fired = _fired(_timeline(km=km, odometer_km=odo))
    # compared over stretches of >= 150 GPS km (4 days here): anchors on days 0, 4, ..., 20, 24
    assert fired == [("odometer_rollback", "medium", 24)]


def test_ltv_breach_severity() -> None:
    ltv = [(0, 0.8, 100_000.0, 80_000.0), (30, 1.05, 76_000.0, 79_800.0), (59, 1.25, 60_000.0, 75_000.0)]
    assert _fired(_timeline(ltv=ltv)) == [("ltv_breach", "medium", 30), ("ltv_breach", "high", 59)]
    assert _fired(_timeline(ltv=[(0, 1.1, 1.0, 1.1)])) != []
    assert _fired(_timeline(ltv=[(0, 1.1, 1.0, 1.1)], **{})) == _fired(_timeline(ltv=[(0, 1.1, 1.0, 1.1)]))


def test_thresholds_are_configurable() -> None:
    dist = np.full(60, 20.0)
    dist[20:22] = 400.0
    t = _timeline(max_dist_km=dist)
    strict = Thresholds(geofence_medium_days=2)
    assert [(a.rule, a.severity) for a in explicit_alerts(t, strict)] == [("geofence_exit", "medium")]


def test_alert_shape_and_event_payload_are_stable() -> None:
    alert = Alert(
        "LN1", "VIN", "insurance_lapse", "high", date(2024, 7, 1), "no insurance", {"days_uncovered": 8}
    )
    again = Alert(
        "LN1", "VIN", "insurance_lapse", "high", date(2024, 7, 1), "no insurance", {"days_uncovered": 8}
    )
    name, payload = alert.to_event()
    assert name == EVENT_NAME and payload == again.to_event()[1]
    body = json.loads(payload)
    assert body["schema"] == ALERT_SCHEMA and body["alert_id"] == alert.alert_id and len(alert.alert_id) == 32
    assert set(body) == {"schema", "alert_id", "loan_id", "vin", "rule", "severity", "observed_at", "reason",
                         "evidence"}  # fmt: skip
    with pytest.raises(ValueError, match="severity"):
        Alert("LN1", "VIN", "insurance_lapse", "urgent", date(2024, 7, 1), "x")
