"""The alert record: one stable, versioned shape the gateway can write on chain as an event.

``to_event()`` gives the chaincode event name and its payload (canonical JSON, so the same alert
always yields the same bytes); ``alert_id`` is derived from loan, rule, severity and day, so a
re-run of the monitor over the same data raises the same ids and duplicates can be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.valuation.canonical import canonical_hash, canonical_json

ALERT_SCHEMA = "mledger.risk.alert/v1"
EVENT_NAME = "RiskAlert"
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
RULES: tuple[str, ...] = (
    "insurance_lapse",
    "geofence_exit",
    "odometer_rollback",
    "ltv_breach",
    "projected_ltv_breach",
    "idle_vehicle",
    "telematics_anomaly",
)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Alert:
    loan_id: str
    vin: str
    rule: str
    severity: str
    observed_at: date
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def alert_id(self) -> str:
        key = {"loan_id": self.loan_id, "rule": self.rule, "severity": self.severity,
               "observed_at": self.observed_at.isoformat()}  # fmt: skip
        return canonical_hash(key)[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ALERT_SCHEMA, "alert_id": self.alert_id, "loan_id": self.loan_id, "vin": self.vin,
            "rule": self.rule, "severity": self.severity, "observed_at": self.observed_at.isoformat(),
            "reason": self.reason, "evidence": self.evidence,
        }  # fmt: skip

    def to_event(self) -> tuple[str, bytes]:
        """(event name, payload) for a chaincode event or an on-chain alert record."""
        return EVENT_NAME, canonical_json(self.to_dict())
