#!/usr/bin/env python
"""Risk benchmark. Per generated book shape: every candidate's cross-validated AUC / KS / Brier on
the same folds, the chosen card, calibration (slope, intercept, ECE), the issue's checks (card within
0.015 AUC of the best challenger or the report says it is not; slope 0.8-1.2; missing values scored
identically by the fitted and the compiled card) and training time. Then one-score latency and,
with --portfolio, the early-warning monitor on a simulated portfolio. Prints figures; asserts nothing.

    .venv/bin/python scripts/bench/risk_bench.py                       # the issue's shapes (slow)
    .venv/bin/python scripts/bench/risk_bench.py --shapes 1000x30 4000x5+vehicle --repeats 1

A shape is LOANSxBADPCT[+text][+highcard][+missing][+vehicle]; books are GENERATED (app/risk/books.py),
so figures describe the pipeline, not any lender.
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.risk.book import read_book
from app.risk.books import BookShape, book_csv, generate_book
from app.risk.colspec import parse_spec
from app.risk.scoring import CLI_LIMITS, ScorecardService
from app.risk.training import train_book
from app.risk.validation import CARD, MATERIAL_AUC
from app.valuation.errors import InputError
from app.valuation.registry import ModelRegistry

SHAPES = (
    "1000x30+text+missing",
    "1000x5+highcard+vehicle",
    "1000x1+vehicle",
    "4000x1+missing+vehicle",
    "4000x5+text+highcard+missing",
    "4000x30+vehicle",
    "10000x1+text+missing",
    "10000x5+missing+vehicle",
    "10000x30+text+highcard+missing",
)


def parse_shape(text: str, seed: int) -> BookShape:
    head, *flags = text.split("+")
    loans, bad = head.split("x")
    return BookShape(
        int(loans),
        float(bad) / 100,
        text_outcome="text" in flags,
        high_cardinality="highcard" in flags,
        missing_income="missing" in flags,
        vehicle="vehicle" in flags,
        seed=seed,
    )


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def bench_shape(shape: BookShape, folds: int, repeats: int, challengers: bool) -> ScorecardService | None:
    frame, raw = generate_book(shape)
    spec = parse_spec(
        {**raw, "cv": {"folds": folds, "repeats": repeats}, "challengers": {"enabled": challengers}}
    )
    t = time.perf_counter()
    try:
        book = read_book(book_csv(frame), spec)
    except InputError as exc:  # e.g. 1,000 loans at 1 % bad: fewer than 30 bad loans
        print(f"\n== {shape.label}: refused as designed - {exc}")
        return None
    result = train_book(book, spec, shape.label)
    elapsed = time.perf_counter() - t
    cv = result.cv
    print(
        f"\n== {shape.label}: {len(book.y)} loans, {int(book.y.sum())} bad ({book.bad_rate:.1%}); "
        f"{cv.folds.description}; trained in {elapsed:.1f} s"
    )
    print(
        f"  {'candidate':<34}{'AUC':>7}{'±sd':>7}{'KS':>7}{'Brier':>8}"
        f"{'slope':>7}{'icept':>7}{'ECE':>7}{'fit s':>8}"
    )
    for name, c in cv.candidates.items():
        p = cv.pooled[name]
        print(
            f"  {name:<34}{c.mean('auc'):>7.3f}{c.sd('auc'):>7.3f}{c.mean('ks'):>7.3f}{c.mean('brier'):>8.4f}"
            f"{p['calibration_slope']:>7.2f}{p['calibration_intercept']:>7.2f}{p['ece']:>7.3f}{c.seconds:>8.1f}"
        )
    card = result.card
    print(
        f"  chosen card: {len(card.selected)} variables {card.selected}; weight shrinkage {card.shrink:.2f}; "
        f"bands {[(b.name, round(b.share, 2), round(b.observed_rate, 3)) for b in result.compiled.bands]}"
    )
    others = [n for n in cv.candidates if n not in (CARD, "scorecard (borrower fields only)")]
    if others:
        best = max(others, key=lambda n: cv.candidates[n].mean("auc"))
        gap = cv.candidates[best].mean("auc") - cv.candidates[CARD].mean("auc")
        said = any("NOT within" in s for s in cv.statements)
        verdict = (
            "within"
            if gap <= MATERIAL_AUC
            else ("behind, and the report says so" if said else "behind, NOT said")
        )
        print(f"  check: card vs best challenger ({best}) {gap:+.3f} AUC -> {verdict}")
    slope = cv.pooled[CARD]["calibration_slope"]
    mature = book.y.sum() >= 100
    print(
        f"  check: CV calibration slope {slope:.2f} ({'mature book' if mature else 'fewer than 100 bad'}): "
        f"{'in 0.8-1.2' if 0.8 <= slope <= 1.2 else 'OUTSIDE 0.8-1.2'}"
    )
    gap_pd = np.abs(card.predict_pd(book.frame) - result.compiled.score_frame(book.frame)[1]).max()
    print(
        f"  check: fitted vs compiled PD, max |diff| {gap_pd:.2e}; "
        f"mean PD {result.in_sample['mean_pd']:.4f} vs "
        f"book {book.bad_rate:.4f}"
    )
    for line in cv.statements:
        print(f"  - {line}")
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-challengers", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--portfolio", action="store_true", help="also run the early-warning monitor")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} (shared machine: wall-clock times are inflated)"
    )
    for text in args.shapes:
        bench_shape(parse_shape(text, args.seed), args.folds, args.repeats, not args.no_challengers)

    frame, raw = generate_book(BookShape(2000, 0.2, missing_income=True, vehicle=True, seed=args.seed))
    spec = parse_spec({**raw, "cv": {"folds": 3, "repeats": 1}, "challengers": {"enabled": False}})
    service = ScorecardService(ModelRegistry(tempfile.mkdtemp(prefix="risk-bench-")))
    registered, _ = service.train_csv(book_csv(frame), spec, "bench", CLI_LIMITS)
    service.promote(registered.version, "bench")
    apps = frame.drop(columns=["default"]).astype(str).to_dict("records")
    times, cpu = [], []
    for i in range(args.calls):
        t, c = time.perf_counter(), time.thread_time()
        service.score(apps[i % len(apps)])
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    print(
        f"\none score (read fields + derived + points + reasons + hash), {args.calls} calls: wall p50 "
        f"{pct(times, 50):.3f} ms, p95 {pct(times, 95):.3f} ms; CPU p95 {pct(cpu, 95):.3f} ms"
    )
    if args.portfolio:
        portfolio_bench()


def portfolio_bench(loans: int = 1000, days: int = 180) -> None:
    from app.risk.portfolio import PortfolioMonitor, evaluate_warnings, simulate_portfolio
    from app.valuation.model import TrainConfig
    from app.valuation.service import ValuationService
    from app.valuation.synthetic import generate_market

    valuation = ValuationService(ModelRegistry(tempfile.mkdtemp(prefix="risk-bench-")))
    market = generate_market(10_000, seed=7)
    valuation.train_and_register(market.sales, market.index, TrainConfig(num_boost_round=300))
    portfolio = simulate_portfolio(loans, days, seed=7)
    print(
        f"simulated portfolio: {loans} loans x {days} days, {len(portfolio.defaults)} defaults"
        " - SIMULATED data"
    )
    for label, anomaly in (("rules only", False), ("rules + IsolationForest", True)):
        t = time.perf_counter()
        run = PortfolioMonitor(valuation=valuation, anomaly=anomaly).run(portfolio)
        report = evaluate_warnings(portfolio, run.alerts)
        print(
            f"  {label:<24} flagged >=7 days before default: {report['detection_rate']:.1%}, "
            f"false-alarm rate {report['false_alarm_rate']:.1%}, run {time.perf_counter() - t:.1f} s"
        )


if __name__ == "__main__":
    main()
