"""Current mileage from GPS tracks, OBD odometer readings and maintenance records; rollback flags.

The estimate anchors on the latest trustworthy odometer reading (OBD, workshop or registry) and
adds the distance driven since then: the GPS track (haversine between fixes, jumps faster than
a car can drive dropped, scaled by a road factor calibrated where odometer and track overlap),
or, with no track, the vehicle's own average daily distance. An odometer that goes down, or
advances much less than the GPS track says the car drove, is flagged as a rollback.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime

EARTH_RADIUS_KM = 6371.0088
MAX_SPEED_KMH = 250.0  # faster implied speeds between fixes are GPS glitches
ROLLBACK_TOLERANCE_KM = 1.0  # readings from different sources may disagree by rounding
GPS_SHORTFALL_RATIO = 0.8  # odometer advancing less than this share of the GPS distance is suspicious
GPS_SHORTFALL_MIN_KM = 20.0


@dataclass(frozen=True, slots=True)
class TrackPoint:
    ts: datetime
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Reading:
    ts: datetime
    km: float
    source: str = "obd"  # obd, maintenance, registry


@dataclass(frozen=True, slots=True)
class RollbackFlag:
    ts: datetime
    source: str
    reading_km: float
    expected_min_km: float
    reason: str
    severity: str  # "high" for a reading below an earlier one, "medium" for a GPS shortfall


@dataclass
class MileageEstimate:
    estimated_km: float
    method: str
    anchor: Reading | None
    distance_since_anchor_km: float
    road_factor: float
    flags: list[RollbackFlag] = field(default_factory=list)

    @property
    def rollback_suspected(self) -> bool:
        return bool(self.flags)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS-84 points, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def clean_track(points: list[TrackPoint]) -> list[TrackPoint]:
    """Sort by time and drop fixes that imply an impossible speed from the last kept fix."""
    kept: list[TrackPoint] = []
    for p in sorted(points, key=lambda q: q.ts):
        if kept:
            prev = kept[-1]
            hours = (p.ts - prev.ts).total_seconds() / 3600
            dist = haversine_km(prev.lat, prev.lon, p.lat, p.lon)
            if hours <= 0 or dist / hours > MAX_SPEED_KMH:
                continue
        kept.append(p)
    return kept


def track_km(points: list[TrackPoint], start: datetime | None = None, end: datetime | None = None) -> float:
    """Distance along a cleaned track between two instants (segments wholly inside the window)."""
    total = 0.0
    for a, b in itertools.pairwise(points):
        if (start is None or a.ts >= start) and (end is None or b.ts <= end):
            total += haversine_km(a.lat, a.lon, b.lat, b.lon)
    return total


def detect_rollbacks(readings: list[Reading], track: list[TrackPoint] | None = None) -> list[RollbackFlag]:
    """Readings below an earlier maximum; intervals where the odometer lags the GPS track."""
    flags: list[RollbackFlag] = []
    best: Reading | None = None
    for r in sorted(readings, key=lambda q: q.ts):
        if best is not None and r.km < best.km - ROLLBACK_TOLERANCE_KM:
            seen = f"{best.km:.0f} km read on {best.ts.date()} ({best.source})"
            reason = f"odometer {r.km:.0f} km is below the {seen}"
            flags.append(RollbackFlag(r.ts, r.source, r.km, best.km, reason, "high"))
            continue
        if best is not None and track:
            gps = track_km(track, best.ts, r.ts)
            advanced = r.km - best.km
            if gps >= GPS_SHORTFALL_MIN_KM and advanced < GPS_SHORTFALL_RATIO * gps:
                flags.append(
                    RollbackFlag(
                        r.ts,
                        r.source,
                        r.km,
                        best.km + GPS_SHORTFALL_RATIO * gps,
                        f"odometer advanced {advanced:.0f} km since {best.ts.date()} "
                        f"but the GPS track covers {gps:.0f} km",
                        "medium",
                    )
                )
        if best is None or r.km > best.km:
            best = r
    return flags


def estimate_mileage(as_of: datetime, readings: list[Reading], points: list[TrackPoint]) -> MileageEstimate:
    """Best estimate of the odometer at ``as_of`` with the evidence and any rollback flags."""
    readings = sorted((r for r in readings if r.ts <= as_of), key=lambda q: q.ts)
    track = clean_track([p for p in points if p.ts <= as_of])
    flags = detect_rollbacks(readings, track)
    flagged = {(f.ts, f.source, f.reading_km) for f in flags if f.severity == "high"}
    trusted = [r for r in readings if (r.ts, r.source, r.km) not in flagged]

    factor = 1.0
    if len(trusted) >= 2 and track:
        gps = track_km(track, trusted[0].ts, trusted[-1].ts)
        odo = trusted[-1].km - trusted[0].km
        if gps >= GPS_SHORTFALL_MIN_KM and odo > 0:
            factor = min(max(odo / gps, 1.0), 1.5)

    if not trusted:
        gps_total = track_km(track) * factor
        return MileageEstimate(
            round(gps_total, 1),
            "gps track only (no odometer reading: a lower bound)",
            None,
            round(gps_total, 1),
            factor,
            flags,
        )
    anchor = max(trusted, key=lambda r: (r.km, r.ts))
    since_gps = [p for p in track if p.ts >= anchor.ts]
    if len(since_gps) >= 2:
        extra = track_km(since_gps) * factor
        method = "odometer anchor + GPS track since"
    elif len(trusted) >= 2 and trusted[-1].ts > trusted[0].ts:
        days = (trusted[-1].ts - trusted[0].ts).total_seconds() / 86400
        rate = max(trusted[-1].km - trusted[0].km, 0.0) / days
        extra = rate * (as_of - anchor.ts).total_seconds() / 86400
        method = "odometer anchor + average daily distance"
    else:
        extra = 0.0
        method = "odometer anchor only"
    return MileageEstimate(round(anchor.km + extra, 1), method, anchor, round(extra, 1), factor, flags)
