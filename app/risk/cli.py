"""`mledger risk …`: train, score, alerts, simulate, models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from app.risk.applications import read_applications_csv
from app.risk.borrowers import generate_applications
from app.risk.live import loan_alerts
from app.risk.portfolio import PortfolioMonitor, evaluate_warnings, simulate_portfolio
from app.risk.schemas import AlertsRequest, ScoreRequest
from app.risk.scoring import ScorecardService
from app.valuation.cli import _fail, _read_json, _validation_message
from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.registry import ModelRegistry
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


@app.command()
def train(
    csv: Annotated[
        Path | None, typer.Option("--csv", help="past applications with a 0/1 `default` column")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option(help='JSON {"canonical": "CSV column"} or a file of it')
    ] = None,
    rows: Annotated[
        int, typer.Option(min=1000, max=500_000, help="synthetic applications (no --csv)")
    ] = 10_000,
    seed: int = 7,
    models_dir: ModelsDir = None,
) -> None:
    """Train the scorecard and the borrower-only baseline (from --csv or synthetic data); register it."""
    try:
        if csv is not None:
            frame = read_applications_csv(csv.read_bytes(), _read_json(mapping) if mapping else {})
            source = f"csv:{csv.name}"
        else:
            frame, source = generate_applications(rows, seed=seed), f"synthetic(rows={rows}, seed={seed})"
        registered, result = ScorecardService(ModelRegistry(models_dir)).train_and_register(
            frame, seed=seed, source=source
        )
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"cannot read {csv}: {exc}") from exc
    typer.echo(f"registered {registered.ref} (id {registered.model_id})")
    typer.echo(f"{'holdout':<10}{'AUC':>8}{'KS':>8}{'Gini':>8}")
    for name, m in (("scorecard", result.metrics), ("borrower", result.baseline_metrics)):
        typer.echo(f"{name:<10}{m['auc']:>8.4f}{m['ks']:>8.4f}{m['gini']:>8.4f}")
    if csv is None:
        typer.echo("note: synthetic applications - these figures describe the pipeline, not a real book")


@app.command()
def score(
    application: Annotated[str, typer.Argument(help="application JSON: a file, '-' for stdin, or inline")],
    model: Annotated[str | None, typer.Option(help="name@version; latest when omitted")] = None,
    models_dir: ModelsDir = None,
) -> None:
    """Score one application: points, PD, band and the reasons that cost the most points."""
    data = _read_json(application)
    body = data if isinstance(data, dict) and "application" in data else {"application": data}
    try:
        request = ScoreRequest.model_validate({**body, "model": model or body.get("model")})
        registered, result, input_hash = ScorecardService(ModelRegistry(models_dir)).score(
            request.application.model_dump(), request.model
        )
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from exc
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except ModelNotFoundError as exc:
        raise _fail(f"{exc}; train one with `mledger risk train`") from exc
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
            value = ValuationService(ModelRegistry(models_dir)).value(vehicle).value
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
    service = ValuationService(ModelRegistry(models_dir))
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
def models(models_dir: ModelsDir = None) -> None:
    """List registered scorecard versions with holdout AUC beside the borrower-only baseline."""
    service = ScorecardService(ModelRegistry(models_dir))
    for m in service.registry.list(service.name):
        metrics, base = m.meta.get("metrics", {}), m.meta.get("baseline", {}).get("metrics", {})
        typer.echo(
            f"{m.ref}\tid={m.model_id}\tauc={metrics.get('auc', 0):.4f}"
            f"\tbaseline_auc={base.get('auc', 0):.4f}"
        )
