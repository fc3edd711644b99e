"""Maintenance records and odometer readings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from .fields import (
    Currency,
    Identifier,
    Km,
    MoneyOrZero,
    Record,
    Request,
    ShortText,
    Text,
    Vin,
)


class MaintenanceIn(Request):
    record_id: Identifier
    vin: Vin
    date: date
    odometer_km: Km
    cost: MoneyOrZero
    currency: Currency
    kind: ShortText = Field(examples=["service"])
    description: Text


class OdometerIn(Request):
    vin: Vin
    odometer_km: Km
    source: ShortText = Field(examples=["dealer_inspection"])
    recorded_at: date | None = None


class MaintenanceRecord(Record):
    record_id: str
    vin: str
    dealer: str
    date: date
    odometer_km: int
    cost: Decimal
    currency: str
    kind: str
    description: str
    odometer_anomaly: bool
    recorded_at: str
    last_tx_id: str


class OdometerReading(Record):
    vin: str
    seq: int
    odometer_km: int
    source: str
    reading_date: date
    recorded_by: str
    recorded_at: str
    anomaly: bool
    previous_km: int | None
    tx_id: str


class OdometerState(Record):
    vin: str
    odometer_km: int
    last_reading_at: str
    readings: int
    anomalies: int


__all__ = ["MaintenanceIn", "MaintenanceRecord", "OdometerIn", "OdometerReading", "OdometerState"]
