"""`mledger risk …`: train, score, alerts, simulate, models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

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
    rows: Annotated[int, typer.Option(min=1000, max=500_000, help="synthetic applications")] = 10_000,
    seed: int = 7,
    models_dir: ModelsDir = None,
) -> None:
    """Train the scorecard (and the borrower-only baseline) on synthetic applications; register it."""
    registered, result = ScorecardService(ModelRegistry(models_dir)).train_and_register(
        generate_applications(rows, seed=seed), seed=seed, source=f"synthetic(rows={rows}, seed={seed})"
    )
    typer.echo(f"registered {registered.ref} (id {registered.model_id})")
    typer.echo(f"{'holdout':<10}{'AUC':>8}{'KS':>8}{'Gini':>8}")
    for name, m in (("scorecard", result.metrics), ("borrower", result.baseline_metrics)):
        typer.echo(f"{name:<10}{m['auc']:>8.4f}{m['ks']:>8.4f}{m['gini']:>8.4f}")
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
