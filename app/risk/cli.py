"""`mledger risk …`: train, promote, score, monitor, models, alerts, simulate."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from app.risk.book import read_csv_text
from app.risk.books import BookShape, generate_book
from app.risk.colspec import load_spec, parse_spec
from app.risk.live import loan_alerts
from app.risk.monitoring import MonitorReport, backtest, outcome_labels, population_stability, prometheus_text
from app.risk.portfolio import PortfolioMonitor, evaluate_warnings, simulate_portfolio
from app.risk.schemas import AlertsRequest, ScoreRequest
from app.risk.scoring import CLI_LIMITS, SCORECARD_NAME, ScorecardService, report_path
from app.valuation.cli import _fail, _read_json, _validation_message
from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.registry import open_registry
from app.valuation.service import ValuationService

app = typer.Typer(
    help="Credit risk: application scorecard, early-warning alerts, portfolio monitor.", no_args_is_help=True
)

ModelsDir = Annotated[
    Path | None,
    typer.Option("--models-dir", help="model registry root (default $MLEDGER_MODELS_DIR or .data/models)"),
]


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _service(models_dir: Path | None, name: str) -> ScorecardService:
    return ScorecardService(open_registry(models_dir), name)


NameOpt = Annotated[str, typer.Option("--name", help="scorecard name in the registry")]


@app.command()
def train(
    csv: Annotated[Path | None, typer.Option("--csv", help="the loan book: one row per loan")] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="column spec (JSON/YAML): outcome, types, derived columns")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="outcome column when no --spec is given (bad = 1 unless --bad)")
    ] = None,
    bad: Annotated[
        list[str] | None, typer.Option(help="bad label(s) of the outcome column (repeatable)")
    ] = None,
    synthetic: Annotated[
        int | None, typer.Option(min=300, max=200_000, help="train on a generated book of this many loans")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="also write the HTML report here")] = None,
    model_card: Annotated[
        Path | None, typer.Option("--model-card", help="also write the model card here")
    ] = None,
    name: NameOpt = SCORECARD_NAME,
    models_dir: ModelsDir = None,
) -> None:
    """Train a scorecard on a loan book, cross-validate it against challengers, register it (not promoted)."""
    try:
        service = _service(models_dir, name)
        if csv is not None:
            if spec is not None:
                parsed = load_spec(spec)
            elif outcome is not None:
                parsed = parse_spec({"outcome": {"column": outcome, "bad": list(bad or ["1"])}})
            else:
                raise InputError.single("--spec", "give --spec FILE or --outcome COLUMN [--bad LABEL]")
            registered, result = service.train_csv(csv.read_bytes(), parsed, f"csv:{csv.name}", CLI_LIMITS)
        elif synthetic is not None:
            frame, raw_spec = generate_book(BookShape(synthetic, 0.2, missing_income=True, vehicle=True))
            registered, result = service.train_frame(
                frame.astype(str), parse_spec(raw_spec), f"synthetic({synthetic})", CLI_LIMITS
            )
        else:
            raise InputError.single("--csv", "give --csv BOOK (with --spec) or --synthetic N")
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"cannot read: {exc}") from exc
    mc = result.model_card
    typer.echo(
        f"registered {registered.ref} (id {registered.model_id}); NOT promoted: "
        f"`mledger risk promote {registered.version} --name {name}` serves it"
    )
    typer.echo(
        f"book: {mc['data']['loans']} loans, {mc['data']['bad']} bad ({mc['data']['bad_rate']:.2%}); "
        f"{result.cv.folds.description}"
    )
    typer.echo(f"{'candidate':<36}{'AUC':>7}{'±sd':>7}{'KS':>7}{'Brier':>8}{'slope':>7}{'ECE':>7}")
    for cand, s in mc["cross_validation"]["candidates"].items():
        typer.echo(
            f"{cand:<36}{_n(s.get('auc_mean'))}{_n(s.get('auc_sd'))}{_n(s.get('ks_mean'))}"
            f"{_n(s.get('brier_mean'), 8)}{_n(s.get('calibration_slope'))}{_n(s.get('ece'))}"
        )
    for line in mc["cross_validation"]["statements"]:
        typer.echo(f"- {line}")
    typer.echo("variables: " + ", ".join(v["name"] for v in mc["model"]["variables"]))
    typer.echo(
        "excluded (protected): "
        + (", ".join(f"{k} ({v})" for k, v in mc["exclusions"]["protected"].items()) or "none")
    )
    typer.echo(
        "bands: "
        + "  ".join(f"{b['name']} {b['share']:.0%} obs {b['observed_rate']:.1%}" for b in mc["master_scale"])
    )
    for w in mc["warnings"]:
        typer.echo(f"warning: {w}")
    html_path = report_path(registered)
    typer.echo(f"report: {html_path}")
    if report is not None:
        report.write_text(html_path.read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(f"report written to {report}")
    if model_card is not None:
        model_card.write_text(json.dumps(mc, indent=2, ensure_ascii=False), encoding="utf-8")
    if csv is None:
        typer.echo("note: generated book - these figures describe the pipeline, not a real lender")


def _n(value: float | None, width: int = 7) -> str:
    return f"{value:>{width}.3f}" if isinstance(value, int | float) else f"{'-':>{width}}"


@app.command()
def promote(
    version: Annotated[int, typer.Argument(min=1, help="the registered version to serve")],
    reason: Annotated[str, typer.Option(help="why (committee minute, ticket)")] = "",
    by: Annotated[str, typer.Option(help="who promotes (recorded)")] = "",
    name: NameOpt = SCORECARD_NAME,
    models_dir: ModelsDir = None,
) -> None:
    """Serve a registered version from now on (training never does this by itself)."""
    try:
        p = _service(models_dir, name).promote(version, by or os.environ.get("USER", "cli"), reason)
    except (InputError, ModelNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"promoted {name}@{p.version} (id {p.model_id}) by {p.by}")


@app.command()
def score(
    application: Annotated[str, typer.Argument(help="application JSON: a file, '-' for stdin, or inline")],
    model: Annotated[str | None, typer.Option(help="name@version; the promoted one when omitted")] = None,
    name: NameOpt = SCORECARD_NAME,
    models_dir: ModelsDir = None,
) -> None:
    """Score one application: points, PD, band and the reasons that cost the most points."""
    data = _read_json(application)
    body = data if isinstance(data, dict) and "application" in data else {"application": data}
    try:
        request = ScoreRequest.model_validate({**body, "model": model or body.get("model")})
        registered, _, result, input_hash = _service(models_dir, name).score(
            request.application, request.model
        )
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from exc
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except ModelNotFoundError as exc:
        raise _fail(str(exc)) from exc
    _echo(
        {
            "points": round(result.points, 2),
            "pd": result.pd,
            "band": result.band,
            "model": registered.ref,
            "input_hash": input_hash,
            "reasons": [r.__dict__ for r in result.reasons],
        }
    )


@app.command()
def monitor(
    csv: Annotated[
        Path, typer.Option("--csv", help="new applications; with the outcome column: a back-test")
    ],
    model: Annotated[str | None, typer.Option(help="name@version; the promoted one when omitted")] = None,
    metrics_out: Annotated[
        Path | None, typer.Option("--metrics-out", help="write Prometheus text (node-exporter textfile)")
    ] = None,
    name: NameOpt = SCORECARD_NAME,
    models_dir: ModelsDir = None,
) -> None:
    """Population stability per variable and of the score; PD back-test by band on matured loans."""
    try:
        registered, card = _service(models_dir, name).load(model)
        raw = read_csv_text(csv.read_bytes())
        report = MonitorReport(model=registered.ref)
        population_stability(card, raw, report, card.score_reference)
        outcome = registered.meta.get("model_card", {}).get("data", {}).get("outcome") or {}
        if outcome.get("column") in raw.columns:
            y, keep, problems = outcome_labels(raw[outcome["column"]], outcome)
            if problems:
                raise InputError(problems)
            backtest(card, raw.loc[keep].reset_index(drop=True), y, report)
    except (InputError, ModelNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"cannot read {csv}: {exc}") from exc
    if metrics_out is not None:
        metrics_out.write_bytes(prometheus_text(report))
    _echo(report.to_dict())


@app.command()
def alerts(
    request: Annotated[
        str, typer.Argument(help="alerts request JSON (loan, start, as_of, telematics|gps, ...)")
    ],
    models_dir: ModelsDir = None,
) -> None:
    """Early-warning alerts for one live loan, in the shape written on chain."""
    try:
        req = AlertsRequest.model_validate(_read_json(request))
        value = req.loan.vehicle_value
        if req.loan.vehicle is not None:
            vehicle = req.loan.vehicle.model_copy(update={"valuation_date": req.as_of})
            value = ValuationService(open_registry(models_dir)).value(vehicle).value
        response = loan_alerts(req, value)
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from exc
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except ModelNotFoundError as exc:
        raise _fail(f"{exc}; train a valuation model or give loan.vehicle_value") from exc
    _echo(response.model_dump(mode="json", by_alias=True))


@app.command()
def simulate(
    loans: Annotated[int, typer.Option(min=50, max=100_000)] = 1000,
    days: Annotated[int, typer.Option(min=60, max=365)] = 180,
    seed: int = 7,
    anomaly: Annotated[bool, typer.Option(help="include the IsolationForest detector")] = True,
    models_dir: ModelsDir = None,
) -> None:
    """Monitor a seeded simulated portfolio; report early detection and false alarms."""
    portfolio = simulate_portfolio(loans, days, seed=seed)
    service = ValuationService(open_registry(models_dir))
    try:
        service.load()
        valuation: ValuationService | None = service
    except ModelNotFoundError:
        valuation = None
    result = PortfolioMonitor(valuation=valuation, anomaly=anomaly).run(portfolio)
    report = evaluate_warnings(portfolio, result.alerts)
    report["notes"] = result.notes
    report["alerts"] = len(result.alerts)
    _echo(report)
    typer.echo("note: simulated portfolio - these figures describe the monitor on synthetic data")


@app.command()
def models(name: NameOpt = SCORECARD_NAME, models_dir: ModelsDir = None) -> None:
    """List registered scorecard versions with cross-validated AUC; the promoted one is marked."""
    service = _service(models_dir, name)
    promoted = service.promoted()
    for m in service.registry.list(service.name):
        cv = (m.meta.get("metrics") or {}).get("cv") or {}
        mark = "  [promoted]" if promoted is not None and promoted.version == m.version else ""
        typer.echo(f"{m.ref}\tid={m.model_id}\tkind={m.meta.get('kind')}\tcv_auc={cv.get('auc_mean')}{mark}")
