#!/usr/bin/env python
"""Valuation benchmark: holdout accuracy beside the depreciation table, one-valuation latency
(p50/p95, in-process), and revaluing 100,000 vehicles in one batch. Prints figures; asserts nothing.

    .venv/bin/python scripts/bench/valuation_bench.py [--rows 20000] [--batch 100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pandas as pd

from app.valuation.model import TrainConfig
from app.valuation.registry import ModelRegistry
from app.valuation.schemas import VehicleInput
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market

VEHICLE = {
    "make": "Toyota", "model": "Camry", "trim": "2.5HG", "powertrain": "hybrid", "transmission": "automatic",
    "first_registration": "2021-05-12", "valuation_date": "2024-11-30", "mileage_km": 52_000, "region": "HZ",
    "repair_cost_recent_3m": 0, "repair_cost_older": 3_200, "claims_count": 0, "accident_severity": 0,
    "condition_grade": 4, "new_price": 219_800,
}  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine inflates wall-clock tails)"
    )
    service = ValuationService(ModelRegistry(tempfile.mkdtemp(prefix="valuation-bench-")))
    market = generate_market(args.rows, seed=7)
    t0 = time.perf_counter()
    registered, result = service.train_and_register(
        market.sales, market.index, TrainConfig(), source="synthetic"
    )
    print(f"trained {registered.ref} on {args.rows} synthetic sales in {time.perf_counter() - t0:.1f} s "
          f"(split {result.split})")  # fmt: skip
    print("holdout (newest 15% of sales by date) - SYNTHETIC data, not real-market accuracy")
    print(f"  {'metric':<26}{'model':>10}{'dep. table':>12}")
    for key in (
        "mape",
        "within_8pct",
        "within_15pct",
        "median_error",
        "interval_coverage",
        "mean_interval_width_pct",
    ):
        base = result.baseline_metrics.get(key)
        print(f"  {key:<26}{result.metrics[key]:>10.4f}{'' if base is None else f'{base:>12.4f}'}")

    vehicle = VehicleInput.model_validate(VEHICLE)
    service.value(vehicle)  # warm the cache
    times, cpu = [], []
    for _ in range(args.calls):
        t, c = time.perf_counter(), time.thread_time()
        service.value(vehicle)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    print(f"one valuation (validate + features + predict + interval + hash), {args.calls} calls: "
          f"wall p50 {pct(times, 50):.3f} ms, p95 {pct(times, 95):.3f} ms (target p95 < 5 ms); "
          f"CPU p95 {pct(cpu, 95):.3f} ms")  # fmt: skip
    times = []
    for _ in range(200):
        t = time.perf_counter()
        service.value(vehicle, explain=True)
        times.append((time.perf_counter() - t) * 1000)
    print(f"one valuation with SHAP contributions: p95 {pct(times, 95):.3f} ms")

    fleet = generate_market(args.batch, seed=99).sales
    fleet = fleet.assign(valuation_date=pd.Timestamp("2024-12-31")).drop(columns=["price", "sale_date"])
    t = time.perf_counter()
    values = service.value_frame(fleet)
    elapsed = time.perf_counter() - t
    print(f"revalue {len(values):,} vehicles (batch features + predict + intervals): {elapsed:.2f} s "
          f"(target < 10 s), {len(values) / elapsed:,.0f} vehicles/s")  # fmt: skip


if __name__ == "__main__":
    main()
