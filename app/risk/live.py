"""Early warning for one live loan from an API/CLI request: build its timeline, run the rules.

The anomaly detector needs a population to learn what is normal, so it runs in the portfolio
monitor; a single-loan request runs the explicit rules (and says so in ``rules_evaluated``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np

from app.risk.alerts import EVENT_NAME
from app.risk.early_warning import LoanTimeline, Thresholds, coverage_days, explicit_alerts
from app.risk.schemas import AlertOut, AlertsRequest, AlertsResponse
from app.valuation.errors import FieldProblem, InputError
from app.valuation.mileage import TrackPoint, clean_track, haversine_km, track_km

MAX_DAYS = 1000


def _gps_days(req: AlertsRequest) -> dict[int, tuple[float, float]]:
    """Raw fixes -> {day offset: (km driven, farthest from home)}."""
    home = req.loan.permitted_region
    track = clean_track([TrackPoint(p.ts.astimezone(UTC), p.lat, p.lon) for p in req.gps])
    by_day: dict[int, list[TrackPoint]] = defaultdict(list)
    for p in track:
        by_day[(p.ts.date() - req.start).days].append(p)
    return {
        d: (track_km(pts), max(haversine_km(home.lat, home.lon, p.lat, p.lon) for p in pts))
        for d, pts in by_day.items()
    }


def loan_alerts(req: AlertsRequest, vehicle_value: float | None = None,
                thresholds: Thresholds | None = None) -> AlertsResponse:  # fmt: skip
    today = datetime.now(UTC).date()
    problems: list[FieldProblem] = []
    if req.as_of > today:
        problems.append(FieldProblem("as_of", f"is in the future (today is {today})", value=str(req.as_of)))
    if req.start > req.as_of:
        problems.append(FieldProblem("start", "is after as_of", value=str(req.start)))
    elif (req.as_of - req.start).days >= MAX_DAYS:
        problems.append(FieldProblem("start", f"history longer than {MAX_DAYS} days"))
    if req.telematics and req.gps:
        problems.append(FieldProblem("gps", "give telematics day summaries or GPS fixes, not both"))
    for name, days in (("telematics", [t.day for t in req.telematics]),
                       ("insurance_events", [e.day for e in req.insurance_events]),
                       ("explained_days", list(req.explained_days))):  # fmt: skip
        for i, d in enumerate(days):
            if not req.start <= d <= req.as_of:
                where = f"{name}[{i}].day" if name != "explained_days" else f"{name}[{i}]"
                problems.append(FieldProblem(where, "outside start..as_of", value=str(d)))
    for i, p in enumerate(req.gps):
        if not req.start <= p.ts.astimezone(UTC).date() <= req.as_of:
            problems.append(FieldProblem(f"gps[{i}].ts", "outside start..as_of", value=p.ts.isoformat()))
    if problems:
        raise InputError(problems)

    n = (req.as_of - req.start).days + 1
    km, dist, odo = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    night, harsh = np.full(n, np.nan), np.full(n, np.nan)
    for t in req.telematics:
        i = (t.day - req.start).days
        km[i] = t.km
        dist[i] = np.nan if t.max_dist_km is None else t.max_dist_km
        odo[i] = np.nan if t.odometer_km is None else t.odometer_km
        night[i] = np.nan if t.night_share is None else t.night_share
        harsh[i] = np.nan if t.harsh_events is None else t.harsh_events
    for i, (driven, far) in _gps_days(req).items():
        km[i], dist[i] = driven, far
    uncovered = coverage_days(n, [((e.day - req.start).days, e.kind) for e in req.insurance_events],
                              covered_at_start=req.insured_at_start)  # fmt: skip
    explained = np.zeros(n, dtype=bool)
    explained[[(d - req.start).days for d in req.explained_days]] = True

    notes: list[str] = []
    rules = ["insurance_lapse", "geofence_exit", "idle_vehicle", "odometer_rollback"]
    ltv_obs: list[tuple[int, float, float, float]] = []
    if req.loan.outstanding_balance is not None and vehicle_value is not None:
        ltv_obs.append((n - 1, req.loan.outstanding_balance / vehicle_value, vehicle_value,
                        req.loan.outstanding_balance))  # fmt: skip
        rules.append("ltv_breach")
    else:
        notes.append("ltv_breach not evaluated: needs outstanding_balance and vehicle_value or vehicle")
    notes.append("telematics_anomaly runs in the portfolio monitor (it learns normal from the population)")
    radius = req.loan.permitted_region.radius_km
    timeline = LoanTimeline(req.loan.loan_id, req.loan.vin, req.start, radius, km, dist, odo, uncovered,
                            explained, ltv_obs, night, harsh)  # fmt: skip
    alerts = explicit_alerts(timeline, thresholds)
    return AlertsResponse(
        alerts=[AlertOut.model_validate(a.to_dict()) for a in alerts],
        event_name=EVENT_NAME, rules_evaluated=rules, notes=notes,
    )  # fmt: skip
