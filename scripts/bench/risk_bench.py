#!/usr/bin/env python
"""Risk benchmark: scorecard AUC/KS beside the borrower-only baseline, one-score latency (p50/p95,
in-process), and the early-warning monitor on a simulated portfolio (share of defaults flagged
>= 7 days ahead, false-alarm rate, run time). Prints figures; asserts nothing.

    .venv/bin/python scripts/bench/risk_bench.py [--applications 20000] [--loans 1000]
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

from app.risk.borrowers import generate_applications
from app.risk.portfolio import PortfolioMonitor, evaluate_warnings, simulate_portfolio
from app.risk.schemas import ApplicationInput
from app.risk.scoring import ScorecardService
from app.valuation.model import TrainConfig
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market

APPLICATION = {
    "age_years": 34, "monthly_income": 12_500, "debt_to_income": 0.32, "credit_history_months": 84,
    "delinquencies_24m": 0, "employment_years": 6, "inquiries_6m": 1, "ltv": 0.78, "vehicle_age_months": 0,
    "vehicle_mileage_km": 20, "maintenance_ratio": 0.0, "loan_term_months": 36,
}  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=20_000)
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--calls", type=int, default=5_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine inflates wall-clock tails)"
    )
    root = tempfile.mkdtemp(prefix="risk-bench-")
    cards = ScorecardService(ModelRegistry(root))
    t0 = time.perf_counter()
    registered, result = cards.train_and_register(generate_applications(args.applications, seed=7))
    print(f"trained {registered.ref} on {args.applications} synthetic applications in "
          f"{time.perf_counter() - t0:.1f} s - SYNTHETIC data")  # fmt: skip
    print(f"  {'holdout':<22}{'AUC':>8}{'KS':>8}{'Gini':>8}")
    for name, m in (("scorecard (all)", result.metrics), ("borrower-only", result.baseline_metrics)):
        print(f"  {name:<22}{m['auc']:>8.4f}{m['ks']:>8.4f}{m['gini']:>8.4f}")

    times, cpu = [], []
    for _ in range(args.calls):
        t, c = time.perf_counter(), time.thread_time()
        cards.score(ApplicationInput.model_validate(APPLICATION).model_dump())
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    print(f"one risk score (validate + score + reasons + hash), {args.calls} calls: "
          f"wall p50 {pct(times, 50):.3f} ms, p95 {pct(times, 95):.3f} ms (target p95 < 2 ms); "
          f"CPU p95 {pct(cpu, 95):.3f} ms")  # fmt: skip

    valuation = ValuationService(ModelRegistry(root))
    market = generate_market(10_000, seed=7)
    valuation.train_and_register(market.sales, market.index, TrainConfig(num_boost_round=300))
    portfolio = simulate_portfolio(args.loans, args.days, seed=7)
    print(f"simulated portfolio: {args.loans} loans x {args.days} days, {len(portfolio.defaults)} defaults "
          "- SIMULATED data")  # fmt: skip
    for label, anomaly in (("rules only", False), ("rules + IsolationForest", True)):
        t = time.perf_counter()
        run = PortfolioMonitor(valuation=valuation, anomaly=anomaly).run(portfolio)
        elapsed = time.perf_counter() - t
        report = evaluate_warnings(portfolio, run.alerts)
        print(f"  {label:<24} flagged >=7 days before default: {report['detection_rate']:.1%}  "
              f"(any time before: {report['flagged_any_time_before_default']:.1%}, median lead "
              f"{report['median_lead_days']} d)  false-alarm rate: {report['false_alarm_rate']:.1%}  "
              f"run {elapsed:.1f} s")  # fmt: skip
        print(f"    medium+ alerts by rule: {report['alerts_by_rule']}")


if __name__ == "__main__":
    main()
