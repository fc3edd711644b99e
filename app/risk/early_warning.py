"""Early warning for live loans: explicit rules over a loan's daily timeline, plus an
IsolationForest over rolling telematics features for what the rules do not name.

Every rule is causal — the alert for day *t* uses data up to *t* only — and raises an alert on
the day its condition first reaches a severity (a streak of 4 days outside the permitted region is
medium, 7 is high), so one pass over a history gives the same alerts, on the same days, as a
monitor run every day would have.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from sklearn.ensemble import IsolationForest

from app.risk.alerts import Alert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Thresholds:
    lapse_grace_days: int = 7  # a renewal a few days late is a low alert only
    lapse_critical_days: int = 30
    geofence_medium_days: int = 4  # consecutive days outside the permitted region
    geofence_high_days: int = 7
    geofence_far_factor: float = 3.0  # this far (in radii) on the days that make it medium: high at once
    idle_km: float = 1.0
    idle_medium_days: int = 14
    idle_high_days: int = 30
    ltv_medium: float = 1.0
    ltv_high: float = 1.2
    rollback_tolerance_km: float = 1.0
    gps_shortfall_ratio: float = 0.6
    gps_shortfall_min_km: float = 150.0
    anomaly_low_quantile: float = 0.01
    anomaly_medium_quantile: float = 0.001
    anomaly_persist_days: int = 7


@dataclass
class LoanTimeline:
    """One loan's complete daily history from ``start`` (missing telematics: km 0, distance NaN)."""

    loan_id: str
    vin: str
    start: date
    radius_km: float
    km: np.ndarray
    max_dist_km: np.ndarray
    odometer_km: np.ndarray  # NaN where no OBD reading that day
    uncovered: np.ndarray  # bool: no valid insurance that day
    explained_idle: np.ndarray  # bool: a declared reason (workshop, storage) that day
    ltv: list[tuple[int, float, float, float]] = field(default_factory=list)  # (day, ltv, value, balance)
    night_share: np.ndarray | None = None
    harsh_events: np.ndarray | None = None

    def day(self, i: int) -> date:
        return self.start + timedelta(days=int(i))


def coverage_days(
    n_days: int, events: Sequence[tuple[int, str]], covered_at_start: bool = True
) -> np.ndarray:
    """Bool array 'uncovered' from (day offset, kind) events: lapse/cancellation ... renewal."""
    uncovered = np.zeros(n_days, dtype=bool)
    state, since = (not covered_at_start), 0
    for offset, kind in sorted(events):
        if kind in ("lapse", "cancellation"):
            if not state:
                state, since = True, max(offset, 0)
        elif kind == "renewal" and state:
            uncovered[since : max(offset, 0)] = True
            state = False
    if state:
        uncovered[since:] = True
    return uncovered


def _streaks(cond: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each day (0 where False)."""
    idx = np.arange(len(cond))
    last_false = np.maximum.accumulate(np.where(cond, -1, idx))
    return np.where(cond, idx - last_false, 0)


def _escalations(level: np.ndarray, active: np.ndarray) -> list[tuple[int, int]]:
    """(day, level) where the level rises above the highest seen in the current episode."""
    out: list[tuple[int, int]] = []
    best, prev = 0, -2
    for i in np.flatnonzero(active):
        if i != prev + 1:
            best = 0  # a new episode
        prev = int(i)
        if level[i] > best:
            best = int(level[i])
            out.append((int(i), best))
    return out


_SEV = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def insurance_rule(t: LoanTimeline, th: Thresholds) -> list[Alert]:
    streak = _streaks(t.uncovered)
    level = np.where(streak > th.lapse_critical_days, 4, np.where(streak > th.lapse_grace_days, 3,
                     np.where(streak > 0, 1, 0)))  # fmt: skip
    return [
        Alert(t.loan_id, t.vin, "insurance_lapse", _SEV[lv], t.day(i),
              f"no valid insurance for {streak[i]} day(s)"
              + (" (within the renewal grace period)" if lv == 1 else ""),
              {"days_uncovered": int(streak[i]), "grace_days": th.lapse_grace_days})
        for i, lv in _escalations(level, streak > 0)
    ]  # fmt: skip


def geofence_rule(t: LoanTimeline, th: Thresholds) -> list[Alert]:
    dist = np.nan_to_num(t.max_dist_km, nan=0.0)
    outside = dist > t.radius_km
    far = dist > th.geofence_far_factor * t.radius_km
    streak, far_streak = _streaks(outside), _streaks(far)
    level = np.where((streak >= th.geofence_high_days) | (far_streak >= th.geofence_medium_days), 3,
                     np.where(streak >= th.geofence_medium_days, 2, 0))  # fmt: skip
    return [
        Alert(t.loan_id, t.vin, "geofence_exit", _SEV[lv], t.day(i),
              f"vehicle outside its permitted region ({t.radius_km:.0f} km) for {streak[i]} "
              f"consecutive day(s), up to {dist[i]:.0f} km from home",
              {"days_outside": int(streak[i]), "distance_km": round(float(dist[i]), 1),
               "radius_km": t.radius_km})
        for i, lv in _escalations(level, outside)
    ]  # fmt: skip


def idle_rule(t: LoanTimeline, th: Thresholds) -> list[Alert]:
    idle = (t.km < th.idle_km) & ~t.explained_idle
    streak = _streaks(idle)
    level = np.where(streak >= th.idle_high_days, 3, np.where(streak >= th.idle_medium_days, 2, 0))
    return [
        Alert(t.loan_id, t.vin, "idle_vehicle", _SEV[lv], t.day(i),
              f"no movement reported for {streak[i]} days with no declared reason",
              {"idle_days": int(streak[i])})
        for i, lv in _escalations(level, idle)
    ]  # fmt: skip


def rollback_rule(t: LoanTimeline, th: Thresholds) -> list[Alert]:
    """A reading below the highest earlier one (one alert per episode, until the odometer passes
    that maximum again), or an odometer advancing much less than the GPS track says was driven
    (compared over stretches of at least ``gps_shortfall_min_km`` of GPS distance)."""
    alerts: list[Alert] = []
    gps = np.cumsum(t.km)
    best, best_day = -np.inf, -1
    anchor_day, anchor_odo = -1, 0.0
    in_rollback = flagged_shortfall = False
    for i in np.flatnonzero(~np.isnan(t.odometer_km)):
        odo = float(t.odometer_km[i])
        if odo < best - th.rollback_tolerance_km:
            if not in_rollback:
                alerts.append(Alert(
                    t.loan_id, t.vin, "odometer_rollback", "high", t.day(int(i)),
                    f"odometer {odo:.0f} km is below the {best:.0f} km read on {t.day(int(best_day))}",
                    {"reading_km": odo, "previous_max_km": best},
                ))  # fmt: skip
            in_rollback = True
            continue  # the earlier maximum stays the reference
        in_rollback = False
        if odo > best:
            best, best_day = odo, int(i)
        if anchor_day < 0:
            anchor_day, anchor_odo = int(i), odo
            continue
        driven = float(gps[i] - gps[anchor_day])
        if driven < th.gps_shortfall_min_km:
            continue
        shortfall = (odo - anchor_odo) < th.gps_shortfall_ratio * driven
        if shortfall and not flagged_shortfall:
            alerts.append(Alert(
                t.loan_id, t.vin, "odometer_rollback", "medium", t.day(int(i)),
                f"odometer advanced {odo - anchor_odo:.0f} km since {t.day(int(anchor_day))} "
                f"while the GPS track covers {driven:.0f} km",
                {"odometer_delta_km": round(odo - anchor_odo, 1), "gps_km": round(driven, 1)},
            ))  # fmt: skip
        flagged_shortfall = shortfall
        anchor_day, anchor_odo = int(i), odo
    return alerts


def ltv_rule(t: LoanTimeline, th: Thresholds) -> list[Alert]:
    alerts: list[Alert] = []
    best = 0
    for day, ltv, value, balance in sorted(t.ltv):
        level = 3 if ltv > th.ltv_high else 2 if ltv > th.ltv_medium else 0
        if level > best:
            alerts.append(Alert(
                t.loan_id, t.vin, "ltv_breach", _SEV[level], t.day(day),
                f"LTV {ltv:.2f} after revaluation exceeds {th.ltv_high if level == 3 else th.ltv_medium:.2f}",
                {"ltv": round(ltv, 4), "value": round(value, 2), "balance": round(balance, 2)},
            ))  # fmt: skip
        best = level if level > best else (0 if level == 0 else best)
    return alerts


def projected_ltv_rule(
    loan_id: str,
    vin: str,
    as_of: date,
    projection: Sequence[tuple[int, date, float, float]],
    th: Thresholds | None = None,
    horizon_months: int = 12,
) -> list[Alert]:
    """Warn today when the residual-value forecast puts LTV over a limit within the horizon.

    ``projection``: (month ahead, date, LTV on the point value, LTV on the interval's low value),
    as :func:`app.valuation.forecast.forecast` gives. Medium when the pessimistic LTV passes
    ``ltv_medium``; high when the point LTV does, or the pessimistic one passes ``ltv_high``.
    """
    th = th or Thresholds()
    ahead = [p for p in projection if 0 < p[0] <= horizon_months]
    high = next((p for p in ahead if p[2] > th.ltv_medium or p[3] > th.ltv_high), None)
    medium = next((p for p in ahead if p[3] > th.ltv_medium), None)
    hit, severity = (high, "high") if high is not None else (medium, "medium")
    if hit is None:
        return []
    month, when, ltv, ltv_low = hit
    return [Alert(
        loan_id, vin, "projected_ltv_breach", severity, as_of,
        f"projected LTV {ltv:.2f} (pessimistic {ltv_low:.2f}) in {month} month(s), on {when}, exceeds "
        f"{th.ltv_high if severity == 'high' and ltv_low > th.ltv_high else th.ltv_medium:.2f}",
        {"months_ahead": month, "date": when.isoformat(), "projected_ltv": round(ltv, 4),
         "projected_ltv_pessimistic": round(ltv_low, 4), "horizon_months": horizon_months},
    )]  # fmt: skip


EXPLICIT_RULES = (insurance_rule, geofence_rule, idle_rule, rollback_rule, ltv_rule)


def explicit_alerts(t: LoanTimeline, th: Thresholds | None = None) -> list[Alert]:
    th = th or Thresholds()
    alerts = [a for rule in EXPLICIT_RULES for a in rule(t, th)]
    return sorted(alerts, key=lambda a: (a.observed_at, a.rule, a.severity))


# --- anomaly detection ----------------------------------------------------------------------------
ANOMALY_FEATURES = ("km_mean_7d", "km_max_7d", "dist_ratio_max_7d", "idle_days_7d", "night_share_7d",
                    "harsh_7d", "uncovered_7d")  # fmt: skip


def _rolling(x: np.ndarray, how: str, window: int = 7) -> np.ndarray:
    padded = np.concatenate([np.full(window - 1, np.nan), x])
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return getattr(np, f"nan{how}")(view, axis=1)


def timeline_features(t: LoanTimeline) -> np.ndarray:
    """7-day rolling features (columns as ANOMALY_FEATURES) for each day of a timeline."""
    ratio = np.nan_to_num(t.max_dist_km, nan=0.0) / t.radius_km
    night = np.nan_to_num(t.night_share, nan=0.0) if t.night_share is not None else np.zeros(len(t.km))
    harsh = np.nan_to_num(t.harsh_events, nan=0.0) if t.harsh_events is not None else np.zeros(len(t.km))
    return np.column_stack([
        _rolling(t.km, "mean"), _rolling(t.km, "max"), _rolling(ratio, "max"),
        _rolling((t.km < 1.0).astype(float), "sum"), _rolling(night, "mean"), _rolling(harsh, "sum"),
        _rolling(t.uncovered.astype(float), "sum"),
    ])  # fmt: skip


@dataclass
class AnomalyDetector:
    """IsolationForest on rolling telematics/insurance features, thresholds set on a reference window."""

    forest: IsolationForest
    low_cut: float
    medium_cut: float
    mean: np.ndarray
    std: np.ndarray
    persist_days: int = 7

    @classmethod
    def fit(cls, features: np.ndarray, th: Thresholds | None = None, seed: int = 7) -> AnomalyDetector:
        th = th or Thresholds()
        forest = IsolationForest(n_estimators=100, max_samples=512, random_state=seed, n_jobs=1)
        forest.fit(features)
        scores = forest.score_samples(features)
        return cls(forest, float(np.quantile(scores, th.anomaly_low_quantile)),
                   float(np.quantile(scores, th.anomaly_medium_quantile)), features.mean(axis=0),
                   np.maximum(features.std(axis=0), 1e-9), th.anomaly_persist_days)  # fmt: skip

    def scores(self, features: np.ndarray) -> np.ndarray:
        return self.forest.score_samples(features)

    def alerts(self, t: LoanTimeline, features: np.ndarray, scores: np.ndarray) -> list[Alert]:
        # one odd day is worth a low alert; medium needs the pattern to persist for several days
        persistent = _streaks(scores < self.medium_cut) >= self.persist_days
        level = np.where(persistent, 2, np.where(scores < self.low_cut, 1, 0))
        out: list[Alert] = []
        for i, lv in _escalations(level, level > 0):
            z = (features[i] - self.mean) / self.std
            top = ANOMALY_FEATURES[int(np.argmax(np.abs(z)))]
            out.append(Alert(
                t.loan_id, t.vin, "telematics_anomaly", _SEV[lv], t.day(i),
                f"unusual driving/insurance pattern over the last 7 days (anomaly score {scores[i]:.3f}, "
                f"most unusual: {top})",
                {"score": round(float(scores[i]), 4),
                 "cut": round(self.medium_cut if lv == 2 else self.low_cut, 4),
                 **{f: round(float(v), 3) for f, v in zip(ANOMALY_FEATURES, features[i], strict=True)}},
            ))  # fmt: skip
        return out
