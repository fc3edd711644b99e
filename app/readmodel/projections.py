"""Versioned projections: one on-chain record (stable JSON under a composite key) → one table row.

Each record type has a list of projections, newest first. A record is projected by the newest one
whose required fields it has, and the row remembers which (``schema_version``). A contract version
that adds fields needs nothing (the full JSON is kept in ``doc``); one that renames or drops a field
gets a new projection here, and records of either shape keep projecting. A record no projection
understands is quarantined (block, tx, key, reason) — never a crash of the projector — and counted
in ``mledger readmodel status``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from chaincode.mortgage.models import LienStatus, VehicleStatus

ENCUMBERING = ("RECORDED", "ASSIGNMENT_PENDING", "FORECLOSING")
# the contract's own status sets: a status the contract gains (FLOOR_PLAN did) is counted and verified too
VEHICLE_STATUSES = tuple(s.value for s in VehicleStatus)
LIEN_STATUSES = tuple(s.value for s in LienStatus)
SEVERITIES = ("low", "medium", "high", "critical")
LTV_BUCKETS = ((0, 40), (40, 60), (60, 70), (70, 80), (80, 90), (90, 100), (100, None))

Row = dict[str, Any]


class Unprojectable(ValueError):
    """The record has a shape no projection of its type understands."""


@dataclass(frozen=True, slots=True)
class Projection:
    version: int
    required: tuple[str, ...]
    columns: Callable[[dict[str, Any], list[str]], Row]


@dataclass(frozen=True, slots=True)
class RecordType:
    """An on-chain object type and the table it projects into."""

    object_type: str
    table: str
    key_columns: tuple[str, ...]
    projections: tuple[Projection, ...]  # newest first

    def project(self, record: Any, attrs: list[str]) -> Row:
        if not isinstance(record, dict):
            raise Unprojectable(f"{self.object_type}: expected a JSON object, got {type(record).__name__}")
        for projection in self.projections:
            if all(name in record for name in projection.required):
                try:
                    row = projection.columns(record, attrs)
                except (TypeError, ValueError, KeyError, InvalidOperation) as exc:
                    raise Unprojectable(f"{self.object_type} v{projection.version}: {exc}") from exc
                row["schema_version"] = projection.version
                return row
        newest = self.projections[0]
        missing = [name for name in newest.required if name not in record]
        raise Unprojectable(f"{self.object_type}: no projection fits (missing {', '.join(missing)})")


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _amount(value: Any) -> str:
    return str(Decimal(str(value)))


def money(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _vehicle(r: dict[str, Any], attrs: list[str]) -> Row:
    return {
        "vin": r["vin"],
        "plate": r["plate"],
        "make": r["make"],
        "model": r["model"],
        "year": int(r["year"]) if r.get("year") is not None else None,
        "owner_hash": r["owner_hash"],
        "status": r["status"],
        "region": _s(r.get("region")),
        "registration_date": _s(r.get("registration_date")),
        "registered_at": _s(r.get("registered_at")),
        "updated_at": _s(r.get("updated_at")),
        "lien_count": len(r.get("liens") or []),
        "seized": 1 if r["status"] == "SEIZED" else 0,
    }


def _lien(r: dict[str, Any], attrs: list[str]) -> Row:
    return {
        "lien_id": r["lien_id"],
        "vin": r["vin"],
        "lienholder": r["lienholder"],
        "status": r["status"],
        "secured_amount": _amount(r["secured_amount"]),
        "currency": r.get("currency", ""),
        "priority": r.get("priority"),
        "maturity_date": _s(r.get("maturity_date")),
        "requested_at": _s(r.get("requested_at")),
        "recorded_at": _s(r.get("recorded_at")),
        "ended_at": _s(r.get("ended_at")),
        "loan_number": _s(r.get("loan_number")),
    }


def _lien_v0(r: dict[str, Any], attrs: list[str]) -> Row:
    """Liens written before priorities and amendments existed: ``amount`` instead of ``secured_amount``."""
    return _lien({**r, "secured_amount": r["amount"]}, attrs)


def _valuation(r: dict[str, Any], attrs: list[str]) -> Row:
    return {
        "vin": r["vin"],
        "valuation_id": r["valuation_id"],
        "value": _amount(r["value"]),
        "currency": r.get("currency", ""),
        "model_id": _s(r.get("model_id")),
        "model_version": _s(r.get("model_version")),
        "recorded_at": _s(r.get("recorded_at")),
    }


def _valuation_latest(r: dict[str, Any], attrs: list[str]) -> Row:
    return {"vin": attrs[0], "valuation_id": r["valuation_id"]}


def _policy(r: dict[str, Any], attrs: list[str]) -> Row:
    coverage = r.get("coverage") or {}
    return {
        "kind": "policy",
        "record_id": r["policy_id"],
        "vin": r["vin"],
        "party": _s(r.get("insurer")),
        "status": _s(r.get("status")),
        "valid_from": _s(r.get("valid_from")),
        "valid_to": _s(r.get("valid_to")),
        "amount": _s(coverage.get("amount")),
    }


def _claim(r: dict[str, Any], attrs: list[str]) -> Row:
    return {
        "kind": "claim",
        "record_id": f"{r['policy_id']}/{r['claim_id']}",
        "vin": r["vin"],
        "party": None,
        "status": None,
        "valid_from": _s(r.get("incident_date")),
        "valid_to": None,
        "amount": _amount(r["amount"]),
    }


def _document(r: dict[str, Any], attrs: list[str]) -> Row:
    return {
        "document_id": r["document_id"],
        "doc_type": r["doc_type"],
        "vin": _s(r.get("vin")),
        "lien_id": _s(r.get("lien_id")),
        "anchored_by": _s(r.get("anchored_by")),
        "anchored_at": _s(r.get("anchored_at")),
        "cid": _s(r.get("cid")),
        "sha256": _s(r.get("sha256")),
    }


def _alert(r: dict[str, Any], attrs: list[str]) -> Row:
    return {
        "alert_id": r["alert_id"],
        "lien_id": r["lien_id"],
        "vin": r["vin"],
        "lienholder": r["lienholder"],
        "rule": r["rule"],
        "severity": r["severity"],
        "acknowledged": 1 if r.get("acknowledged") else 0,
        "raised_at": _s(r.get("raised_at")),
    }


def _config(r: dict[str, Any], attrs: list[str]) -> Row:
    return {"name": "config"}


RECORD_TYPES: dict[str, RecordType] = {
    t.object_type: t
    for t in (
        RecordType(
            "VEHICLE",
            "vehicles",
            ("vin",),
            (Projection(1, ("vin", "plate", "make", "model", "owner_hash", "status"), _vehicle),),
        ),
        RecordType(
            "LIEN",
            "liens",
            ("lien_id",),
            (
                Projection(1, ("lien_id", "vin", "lienholder", "status", "secured_amount"), _lien),
                Projection(0, ("lien_id", "vin", "lienholder", "status", "amount"), _lien_v0),
            ),
        ),
        RecordType(
            "VALUATION",
            "valuations",
            ("vin", "valuation_id"),
            (Projection(1, ("valuation_id", "vin", "value"), _valuation),),
        ),
        RecordType(
            "VALLATEST", "valuation_latest", ("vin",), (Projection(1, ("valuation_id",), _valuation_latest),)
        ),
        RecordType(
            "POLICY", "insurance", ("kind", "record_id"), (Projection(1, ("policy_id", "vin"), _policy),)
        ),
        RecordType(
            "CLAIM",
            "insurance",
            ("kind", "record_id"),
            (Projection(1, ("claim_id", "policy_id", "vin", "amount"), _claim),),
        ),
        RecordType(
            "DOC", "documents", ("document_id",), (Projection(1, ("document_id", "doc_type"), _document),)
        ),
        RecordType(
            "ALERT",
            "alerts",
            ("alert_id",),
            (Projection(1, ("alert_id", "lien_id", "vin", "lienholder", "rule", "severity"), _alert),),
        ),
        RecordType("CONFIG", "config", ("name",), (Projection(1, (), _config),)),
    )
}


def key_values(record_type: RecordType, attrs: list[str]) -> tuple[str, ...]:
    """The primary-key values of a record from its composite-key attributes (for deletes)."""
    if record_type.object_type == "CONFIG":
        return ("config",)
    if record_type.object_type == "POLICY":
        return ("policy", attrs[0])
    if record_type.object_type == "CLAIM":
        return ("claim", "/".join(attrs[:2]))
    return tuple(attrs[: len(record_type.key_columns)])


def decode(value: bytes) -> Any:
    return json.loads(value)


def contributions(table: str, row: Row | None) -> list[tuple[str, str]]:
    """The exact counters one row adds to (removed again when the row changes)."""
    if row is None:
        return []
    if table == "vehicles":
        return [("vehicles_by_status", row["status"])]
    if table == "liens":
        out = [
            ("liens_by_status", row["status"]),
            ("liens_by_holder_status", f"{row['lienholder']}|{row['status']}"),
        ]
        if row.get("recorded_at"):
            out.append(("liens_recorded_month", str(row["recorded_at"])[:7]))
        if row["status"] == "RELEASED" and row.get("ended_at"):
            out.append(("liens_released_month", str(row["ended_at"])[:7]))
        return out
    if table == "alerts":
        out = [("alerts_by_severity", row["severity"])]
        if not row["acknowledged"]:
            out.append(("alerts_unacknowledged", row["severity"]))
        return out
    if table == "vehicle_ltv":
        return [("ltv_bucket", row["bucket"])] if row.get("bucket") else []
    return []


def ltv_bucket(ltv: Decimal) -> str:
    for low, high in LTV_BUCKETS:
        if ltv >= low and (high is None or ltv < high):
            return bucket_label(low, high)
    return bucket_label(*LTV_BUCKETS[0])


def bucket_label(low: int, high: int | None) -> str:
    return f"{low}–{high}%" if high is not None else f"≥{low}%"
