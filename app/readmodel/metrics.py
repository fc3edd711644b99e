"""Prometheus gauges of the read model: how far behind the ledger it is, and what the last verify said.

They are read when scraped (``set_function``), from the projector's last known peer height and the
store's checkpoint and ``last_verify`` row, so the operations issue's alerts need no extra plumbing:
``mledger_readmodel_lag_blocks > N for 5m`` and ``mledger_readmodel_last_verify_ok == 0``.
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from .projector import Projector


def _last_verify(projector: Projector) -> dict[str, Any]:
    raw = projector.store.meta("last_verify")
    return json.loads(raw) if raw else {}


def register(registry: CollectorRegistry, projector: Projector) -> None:
    """Add the read model's gauges to ``registry`` (one projector per registry)."""
    store = projector.store
    Gauge(
        "mledger_readmodel_height",
        "Blocks projected into the read model (its block height).",
        registry=registry,
    ).set_function(lambda: store.next_block())
    Gauge(
        "mledger_readmodel_lag_blocks",
        "Blocks the read model is behind the ledger (peer height - model height).",
        registry=registry,
    ).set_function(lambda: max(0, (projector.peer_height or store.next_block()) - store.next_block()))
    Gauge(
        "mledger_readmodel_last_verify_ok",
        "1 if the last verify found no drift, 0 if it did, -1 if never run.",
        registry=registry,
    ).set_function(lambda: -1 if not (v := _last_verify(projector)) else (1 if v.get("ok") else 0))
    Gauge(
        "mledger_readmodel_last_verify_drift", "Records the last verify found drifted.", registry=registry
    ).set_function(lambda: _last_verify(projector).get("drift_count", 0))
    Gauge(
        "mledger_readmodel_last_verify_timestamp_seconds",
        "When the last verify finished (Unix time).",
        registry=registry,
    ).set_function(lambda: _last_verify(projector).get("finished_at", 0))
