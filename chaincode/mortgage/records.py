"""Maintenance records and odometer readings from dealers; a reading below the maximum is an anomaly."""

from __future__ import annotations

from datetime import date
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError

from . import rules
from . import store as s
from .context import MortgageContext
from .floorplan_alerts import mileage_check
from .models import (
    MaintenanceIn,
    MaintenanceRecord,
    OdometerIn,
    OdometerReading,
    OdometerState,
)
from .support import MortgageSupport


class RecordTransactions(MortgageSupport):
    """A vehicle's service and mileage record (DealerMSP dealers)."""

    def _odometer(
        self, ctx: MortgageContext, vin: str, km: int, source: str, reading_date: date
    ) -> OdometerReading:
        """Store a reading; one below the maximum is an anomaly and never replaces the maximum."""
        state = ctx.store.get(OdometerState, s.ODO, vin)
        current = state.odometer_km if state else None
        anomaly = rules.is_odometer_anomaly(current, km)
        seq = (state.readings if state else 0) + 1
        reading = OdometerReading(
            vin=vin,
            seq=seq,
            odometer_km=km,
            source=source,
            reading_date=reading_date,
            recorded_by=ctx.msp_id,
            recorded_at=ctx.at,
            anomaly=anomaly,
            previous_km=current,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(reading, s.ODOREAD, vin, f"{seq:010d}")
        ctx.store.put(
            OdometerState(
                vin=vin,
                odometer_km=rules.next_odometer_max(current, km),
                last_reading_at=ctx.at,
                readings=seq,
                anomalies=(state.anomalies if state else 0) + int(anomaly),
            ),
            s.ODO,
            vin,
        )
        return reading

    @submit
    def record_maintenance(self, ctx: MortgageContext, record: MaintenanceIn) -> MaintenanceRecord:
        vehicle = self._writable_vehicle(ctx, record.vin, "maintenance record")
        if ctx.store.exists(s.MAINT, record.vin, record.record_id):
            raise ConflictError(
                f"maintenance record {record.record_id} of vehicle {record.vin} already exists"
            )
        if record.date > ctx.today:
            raise BadRequestError("invalid argument 'record': field 'date': is in the future")
        reading = self._odometer(
            ctx, record.vin, record.odometer_km, f"maintenance:{record.record_id}", record.date
        )
        stored = MaintenanceRecord(
            **record.model_dump(),
            dealer=ctx.msp_id,
            odometer_anomaly=reading.anomaly,
            recorded_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        ctx.store.put(stored, s.MAINT, record.vin, record.record_id)
        mileage_check(ctx, vehicle, record.odometer_km, reading.source)
        if reading.anomaly:
            ctx.emit(
                "OdometerAnomaly",
                vin=record.vin,
                odometer_km=reading.odometer_km,
                highest_km=reading.previous_km,
                source=reading.source,
                record_id=record.record_id,
            )
        else:
            ctx.emit(
                "MaintenanceRecorded",
                vin=record.vin,
                record_id=record.record_id,
                odometer_km=record.odometer_km,
            )
        return stored

    @submit
    def record_odometer(self, ctx: MortgageContext, reading: OdometerIn) -> OdometerReading:
        vehicle = self._writable_vehicle(ctx, reading.vin, "odometer reading")
        when = reading.recorded_at or ctx.today
        if when > ctx.today:
            raise BadRequestError("invalid argument 'reading': field 'recorded_at': is in the future")
        stored = self._odometer(ctx, reading.vin, reading.odometer_km, reading.source, when)
        mileage_check(ctx, vehicle, stored.odometer_km, stored.source)
        if stored.anomaly:
            ctx.emit(
                "OdometerAnomaly",
                vin=reading.vin,
                odometer_km=stored.odometer_km,
                highest_km=stored.previous_km,
                source=stored.source,
            )
        else:
            ctx.emit(
                "OdometerRecorded", vin=reading.vin, odometer_km=stored.odometer_km, source=stored.source
            )
        return stored

    @evaluate
    def get_maintenance_records(self, ctx: MortgageContext, vin: str) -> list[MaintenanceRecord]:
        vin = self._vehicle_arg(ctx, vin).vin
        return ctx.store.scan(MaintenanceRecord, s.MAINT, vin)

    @evaluate
    def get_odometer(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        vin = self._vehicle_arg(ctx, vin).vin
        state = ctx.store.get(OdometerState, s.ODO, vin)
        readings = ctx.store.scan(OdometerReading, s.ODOREAD, vin)
        return {
            "vin": vin,
            "odometer_km": state.odometer_km if state else None,
            "last_reading_at": state.last_reading_at if state else None,
            "readings": len(readings),
            "anomalies": [r for r in readings if r.anomaly],
        }


__all__ = ["RecordTransactions"]
