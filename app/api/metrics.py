"""Prometheus metrics for one gateway (own registry, so several apps can live in one process)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import Scope


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mledger_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mledger_http_request_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2.5, 5, 10),  # 0.2: the 200 ms SLO
            registry=self.registry,
        )
        self.ledger_seconds = Histogram(
            "mledger_ledger_call_seconds",
            "Ledger evaluate/submit latency by chaincode function.",
            ["kind", "function"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.ledger_results = Counter(
            "mledger_ledger_submit_results_total",
            "Submitted transactions by function and outcome (committed or HTTP status).",
            ["function", "outcome"],
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "mledger_ledger_commit_seconds",
            "From the first submit to the committed (VALID) transaction: endorse, order, commit, retries.",
            ["function"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30),
            registry=self.registry,
        )
        self.mvcc_retries = Counter(
            "mledger_mvcc_retries_total",
            "Writes retried after an MVCC/phantom read conflict.",
            ["function"],
            registry=self.registry,
        )

    @contextmanager
    def ledger_timer(self, kind: str, function: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ledger_seconds.labels(kind=kind, function=function).observe(time.perf_counter() - start)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's template (bounded label set), with the /api/v1 prefix it was mounted under."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str):
        return "unmatched"
    prefix = "/api/v1"
    if str(scope.get("path", "")).startswith(prefix + "/") and not path.startswith(prefix):
        return prefix + path
    return path
