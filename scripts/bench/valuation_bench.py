#!/usr/bin/env python
"""Valuation benchmark. Prints figures; asserts nothing.

1. Per lender-shaped data set (issue 17's shapes × sizes): every candidate's CV MAPE on the same
   folds, the chosen one, the selection procedure's nested CV MAPE, CV coverage and mean width of
   the 90 % interval, and the training time (wall and CPU).
2. The synthetic full-column market: CV figures, one-valuation latency, batch revaluation.

    .venv/bin/python scripts/bench/valuation_bench.py [--shapes all] [--sizes 60,90,300,800,5000]
        [--rows 5000] [--batch 100000] [--skip-market]
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

from app.valuation.dataset import read_sales
from app.valuation.lender_shapes import SHAPES, lender_sales, to_csv
from app.valuation.model import TrainConfig, TrainingResult, train_model
from app.valuation.registry import ModelRegistry
from app.valuation.schemas import VEHICLE_EXAMPLE, VehicleInput
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


FAMILIES = ("segment-median", "depreciation-curve", "linear", "boosting", "blend")


def print_header() -> None:
    cols = "".join(f"{f[:10]:>11}" for f in FAMILIES)
    print(
        f"{'shape':<15}{'rows':>6} {'folds':<13}{cols}  {'chosen':<19}{'nested':>8}{'cover':>7}{'width':>7}"
        f"{'wall s':>8}{'cpu s':>7}"
    )


def print_row(shape: str, n: int, result: TrainingResult, wall: float, cpu: float | None = None) -> None:
    by = {row["family"]: row["cv_mape"] for row in result.cv.table}
    cols = "".join(f"{by.get(f, float('nan')):>11.4f}" for f in FAMILIES)
    folds = f"{result.cv.folds.kind[:4]}×{len(result.cv.folds.assignments)}"
    print(
        f"{shape:<15}{n:>6} {folds:<13}{cols}  {result.cv.chosen:<19}{result.metrics['selection_mape']:>8.4f}"
        f"{result.intervals['cv_coverage']:>7.3f}{result.intervals['cv_mean_width_pct']:>7.3f}{wall:>8.1f}"
        f"{'' if cpu is None else f'{cpu:>7.1f}'}",
        flush=True,
    )


def bench_shapes(shapes: tuple[str, ...], sizes: list[int], seed: int) -> None:
    print(
        "CV MAPE per candidate on the same folds; chosen; nested = the selection procedure's own CV MAPE;"
        " cover/width = CV coverage and mean width (share of the value) of the 90 % interval"
    )
    print_header()
    for shape in shapes:
        for n in sizes:
            data = read_sales(to_csv(lender_sales(shape, n, seed=seed)))
            t, c = time.perf_counter(), time.process_time()
            result = train_model(data, None, TrainConfig())
            print_row(shape, n, result, time.perf_counter() - t, time.process_time() - c)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--shapes", default="all")
    parser.add_argument("--sizes", default="60,90,300,800,5000")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip-market", action="store_true")
    parser.add_argument("--skip-shapes", action="store_true")
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine inflates wall-clock tails)"
    )
    if not args.skip_shapes:
        shapes = SHAPES if args.shapes == "all" else tuple(args.shapes.split(","))
        bench_shapes(shapes, [int(n) for n in args.sizes.split(",")], args.seed)
    if args.skip_market:
        return
    service = ValuationService(ModelRegistry(tempfile.mkdtemp(prefix="valuation-bench-")))
    market = generate_market(args.rows, seed=7)
    t, c = time.perf_counter(), time.process_time()
    registered, result = service.train_and_register(
        market.sales, market.index, TrainConfig(), source="synthetic"
    )
    print(
        f"\nsynthetic market, {args.rows} sales (all columns): trained {registered.ref} in "
        f"{time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} s CPU; folds {result.split}"
    )
    print_row("market", args.rows, result, time.perf_counter() - t)
    vehicle = VehicleInput.model_validate(VEHICLE_EXAMPLE)
    service.value(vehicle)  # warm the cache
    times, cpu = [], []
    for _ in range(args.calls):
        t, c = time.perf_counter(), time.thread_time()
        service.value(vehicle)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    print(
        f"one valuation (validate + features + predict + interval + hash), {args.calls} calls: "
        f"wall p50 {pct(times, 50):.3f} ms, p95 {pct(times, 95):.3f} ms (target p95 < 5 ms); "
        f"CPU p95 {pct(cpu, 95):.3f} ms; load average after {os.getloadavg()[0]:.1f}"
    )
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
    print(
        f"revalue {len(values):,} vehicles (batch features + predict + intervals): {elapsed:.2f} s "
        f"(target < 10 s), {len(values) / elapsed:,.0f} vehicles/s"
    )


if __name__ == "__main__":
    main()
