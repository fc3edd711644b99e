"""The SLI gauges of one gateway, refreshed in the background (never on the scrape path).

A scrape must stay cheap and must not read the ledger, so the figures are recomputed every
``sli_refresh_seconds`` by one task and the gauges hold the last result; the refresh time is exported
too (``mledger_sli_last_refresh_timestamp_seconds``), so a stuck refresh is itself alertable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from app.ledger.port import Caller, LedgerError

from . import slis
from .peer_heights import lags, peer_heights

log = logging.getLogger(__name__)


class SliGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.active = Gauge(
            "mledger_active_vehicles", "Vehicles not disposed or scrapped.", registry=registry
        )
        self.completeness = Gauge(
            "mledger_data_completeness_ratio",
            "Share of active vehicles passing a data check (insurance, valuation, odometer; all: each).",
            ["check"],
            registry=registry,
        )
        self.accuracy = Gauge(
            "mledger_model_accuracy_ratio",
            "Share of disposals whose sale price is within the tolerance of the valuation before the sale.",
            registry=registry,
        )
        self.accuracy_samples = Gauge(
            "mledger_model_accuracy_samples",
            "Disposals with an earlier valuation (the ratio's base).",
            registry=registry,
        )
        self.mape = Gauge(
            "mledger_model_abs_pct_error_mean",
            "Mean absolute percentage error of valuations against realised disposal prices.",
            registry=registry,
        )
        self.psi = Gauge(
            "mledger_valuation_input_psi",
            "PSI of a valuation input: recent requests vs the champion's training data.",
            ["feature"],
            registry=registry,
        )
        self.psi_samples = Gauge(
            "mledger_valuation_input_samples",
            "Recent valuation requests the PSI is computed on.",
            registry=registry,
        )
        self.peer_height = Gauge(
            "mledger_peer_ledger_height", "A peer's block height on the channel.", ["peer"], registry=registry
        )
        self.peer_lag = Gauge(
            "mledger_peer_height_lag_blocks",
            "Blocks a peer is behind the highest peer.",
            ["peer"],
            registry=registry,
        )
        self.peer_up = Gauge(
            "mledger_peer_up", "1 if the peer's operations endpoint answered.", ["peer"], registry=registry
        )
        self.refreshed = Gauge(
            "mledger_sli_last_refresh_timestamp_seconds",
            "When the SLIs were last computed.",
            registry=registry,
        )
        self.errors = Counter(
            "mledger_sli_refresh_errors_total",
            "SLI refreshes that failed, by part.",
            ["part"],
            registry=registry,
        )


class SliCollector:
    """Computes the SLIs of one gateway from its read model, ledger, valuation service and peers."""

    def __init__(self, state: Any, registry: CollectorRegistry) -> None:
        self.state = state
        self.settings = state.settings
        self.gauges = SliGauges(registry)
        self._task: asyncio.Task[None] | None = None

    # --- parts ---------------------------------------------------------------------------------

    def _reader(self) -> Caller:
        org = self.settings.orgs[0]
        return Caller(user_id=self.settings.sli_reader, msp_id=org, attributes={"role": "auditor"})

    async def _last_odometer(self, vins: list[str]) -> dict[str, datetime | None]:
        caller = self._reader()
        out: dict[str, datetime | None] = {}
        for vin in vins:
            raw = await self.state.ledger.evaluate(caller, "GetOdometer", [vin])
            out[vin] = slis.odometer_times(json.loads(raw or b"null") or {})
        return out

    async def refresh_data(self, now: datetime | None = None) -> None:
        readmodel = self.state.readmodel
        if readmodel is None:
            return
        now = now or datetime.now(UTC)
        store = readmodel.store
        with store.reading() as cur:
            vins = slis.active_vins(cur, store.q)
        odometer: dict[str, datetime | None] | None
        try:
            odometer = await self._last_odometer(vins)
        except LedgerError as exc:
            log.warning("odometer SLI: ledger read failed: %s", exc)
            self.gauges.errors.labels(part="odometer").inc()
            odometer = None

        def compute() -> tuple[slis.Completeness, slis.Accuracy]:
            with store.reading() as cur:
                c = slis.completeness(
                    cur,
                    store.q,
                    now,
                    valuation_max_age_days=self.settings.sli_valuation_max_age_days,
                    odometer_months=self.settings.sli_odometer_months,
                    last_odometer=None if odometer is None else (lambda _vins: odometer),
                )
                a = slis.accuracy(cur, store.q, self.settings.sli_accuracy_tolerance)
            return c, a

        c, a = await asyncio.to_thread(compute)
        g = self.gauges
        g.active.set(c.active)
        g.completeness.labels(check="insurance").set(c.ratio(c.insured))
        g.completeness.labels(check="valuation").set(c.ratio(c.valued))
        if c.odometer_known:
            g.completeness.labels(check="odometer").set(c.ratio(c.odometer))
            g.completeness.labels(check="all").set(c.ratio(c.complete))
        g.accuracy_samples.set(a.disposals)
        g.accuracy.set(float("nan") if a.ratio is None else a.ratio)
        g.mape.set(float("nan") if a.mape is None else a.mape)

    def refresh_drift(self, service: Any) -> None:
        """PSI of the inputs the valuation service served lately vs its champion's training profile."""
        recent = list(getattr(service, "recent_inputs", ()))
        if not recent or service.champion_ref() is None:
            return
        import pandas as pd

        from app.valuation.drift import drift

        reference = service.load().card.get("profile") or {}
        frame = pd.DataFrame(recent)
        self.gauges.psi_samples.set(len(frame))
        for row in drift(reference, frame):
            if row["psi"] is not None:
                self.gauges.psi.labels(feature=str(row["feature"])).set(row["psi"])

    async def refresh_peers(self) -> None:
        urls = self.settings.peer_operations_urls
        if not urls:
            return
        heights = await peer_heights(urls, self.settings.channel)
        behind = lags(heights)
        for name, height in heights.items():
            self.gauges.peer_up.labels(peer=name).set(0 if height is None else 1)
            if height is not None:
                self.gauges.peer_height.labels(peer=name).set(height)
                self.gauges.peer_lag.labels(peer=name).set(behind[name])

    async def refresh(self, valuation_service: Callable[[], Any] | None = None) -> None:
        for part, step in (("data", self.refresh_data), ("peers", self.refresh_peers)):
            try:
                await step()
            except Exception as exc:  # one part failing must not stop the others or the loop
                log.warning("SLI refresh (%s) failed: %s: %s", part, type(exc).__name__, exc)
                self.gauges.errors.labels(part=part).inc()
        if valuation_service is not None:
            try:
                await asyncio.to_thread(self.refresh_drift, valuation_service())
            except Exception as exc:
                log.warning("SLI refresh (drift) failed: %s: %s", type(exc).__name__, exc)
                self.gauges.errors.labels(part="drift").inc()
        self.gauges.refreshed.set(time.time())

    # --- background loop -----------------------------------------------------------------------

    def start(self, valuation_service: Callable[[], Any] | None = None) -> None:
        async def loop() -> None:
            while True:
                await self.refresh(valuation_service)
                await asyncio.sleep(self.settings.sli_refresh_seconds)

        self._task = asyncio.create_task(loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
