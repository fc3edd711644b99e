"""`mledger valuation …`: generate, train, evaluate, value, explain, reproduce, models, mileage."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from app.valuation.canonical import sha256_hex
from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.mileage import Reading, TrackPoint, estimate_mileage
from app.valuation.model import TrainConfig
from app.valuation.records import read_sales_csv
from app.valuation.registry import ModelRegistry
from app.valuation.schemas import MileageRequest, ReproduceRequest, ValueRequest
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market, market_to_csv

app = typer.Typer(
    help="Collateral valuation: residual-value model, intervals, reproduction.", no_args_is_help=True
)

ModelsDir = Annotated[
    Path | None,
    typer.Option("--models-dir", help="model registry root (default $MLEDGER_MODELS_DIR or .data/models)"),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="name@version; the latest when omitted")]


def _service(models_dir: Path | None) -> ValuationService:
    return ValuationService(ModelRegistry(models_dir))


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _read_json(source: str) -> Any:
    """A JSON document from a file path, '-' for stdin, or inline text."""
    try:
        if source == "-":
            return json.loads(sys.stdin.read())
        if source.lstrip().startswith(("{", "[")):
            return json.loads(source)
        return json.loads(Path(source).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"cannot read JSON from {source!r}: {exc}") from exc


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def _print_metrics(metrics: dict[str, float], baseline: dict[str, float]) -> None:
    typer.echo(f"{'metric':<26}{'model':>10}{'baseline':>10}")
    for key in (
        "mape",
        "within_8pct",
        "within_15pct",
        "median_error",
        "interval_coverage",
        "mean_interval_width_pct",
    ):
        if key in metrics:
            b = f"{baseline[key]:>10.4f}" if key in baseline else f"{'-':>10}"
            typer.echo(f"{key:<26}{metrics[key]:>10.4f}{b}")
    typer.echo(f"{'holdout rows':<26}{int(metrics['n']):>10}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    rows: Annotated[int, typer.Option(min=100, max=1_000_000)] = 20_000,
    seed: int = 7,
) -> None:
    """Write a seeded synthetic sales CSV (demo data; not real-market accuracy)."""
    market = generate_market(rows, seed=seed)
    out.write_text(market_to_csv(market))
    typer.echo(f"wrote {rows} synthetic sales to {out}")


@app.command()
def train(
    csv: Annotated[Path | None, typer.Option("--csv", help="sales CSV")] = None,
    mapping: Annotated[
        str | None, typer.Option(help='JSON {"canonical": "CSV column"} or a file of it')
    ] = None,
    synthetic: Annotated[int | None, typer.Option(help="train on this many synthetic sales instead")] = None,
    seed: int = 7,
    rounds: Annotated[int, typer.Option(min=10, max=5000)] = 200,
    coverage: Annotated[float, typer.Option(min=0.5, max=0.99)] = 0.9,
    models_dir: ModelsDir = None,
) -> None:
    """Validate, split by time, train, evaluate beside the depreciation table, and register."""
    service = _service(models_dir)
    config = TrainConfig(num_boost_round=rounds, coverage=coverage, seed=seed)
    try:
        if synthetic is not None:
            market = generate_market(synthetic, seed=seed)
            registered, result = service.train_and_register(
                market.sales, market.index, config, source=f"synthetic(rows={synthetic}, seed={seed})"
            )
        elif csv is not None:
            raw = csv.read_bytes()
            cols = _read_json(mapping) if mapping else {}
            sales = read_sales_csv(raw, cols)
            registered, result = service.train_and_register(
                sales, None, config, source=f"csv:{csv.name}", raw_sha256=sha256_hex(raw)
            )
        else:
            raise _fail("give --csv FILE or --synthetic ROWS")
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except OSError as exc:
        raise _fail(f"cannot read {csv}: {exc}") from exc
    typer.echo(f"registered {registered.ref} (id {registered.model_id})")
    typer.echo(f"training data sha256 {registered.meta['training']['data_sha256']}")
    typer.echo(f"market index: {result.index_source}; split: {json.dumps(result.split)}")
    _print_metrics(result.metrics, result.baseline_metrics)
    if synthetic is not None:
        typer.echo("note: synthetic data - these figures are not real-market accuracy")


@app.command()
def evaluate(
    csv: Annotated[Path, typer.Option("--csv", help="sales CSV (ideally sales the model has not seen)")],
    mapping: Annotated[str | None, typer.Option()] = None,
    model: ModelOpt = None,
    models_dir: ModelsDir = None,
) -> None:
    """Accuracy of a registered model on a sales CSV, beside its depreciation-table baseline."""
    try:
        report = _service(models_dir).evaluate(
            read_sales_csv(csv.read_bytes(), _read_json(mapping) if mapping else {}), model
        )
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except ModelNotFoundError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"model {report['model']['ref']} (id {report['model']['model_id']})")
    _print_metrics(report["metrics"], report["baseline_metrics"])


def _value(vehicle: str, model: str | None, explain: bool, models_dir: Path | None) -> None:
    data = _read_json(vehicle)
    body = data if isinstance(data, dict) and "vehicle" in data else {"vehicle": data}
    try:
        request = ValueRequest.model_validate(
            {**body, "model": model or body.get("model"), "explain": explain}
        )
        result = _service(models_dir).value(request.vehicle, request.model, explain=explain)
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from exc
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except ModelNotFoundError as exc:
        raise _fail(f"{exc}; train one with `mledger valuation train`") from exc
    _echo(result.model_dump(mode="json", exclude_none=True))


@app.command()
def value(
    vehicle: Annotated[str, typer.Argument(help="vehicle JSON: a file, '-' for stdin, or inline")],
    model: ModelOpt = None,
    models_dir: ModelsDir = None,
) -> None:
    """Value one vehicle: value, interval, model version and input hash."""
    _value(vehicle, model, False, models_dir)


@app.command()
def explain(
    vehicle: Annotated[str, typer.Argument(help="vehicle JSON: a file, '-' for stdin, or inline")],
    model: ModelOpt = None,
    models_dir: ModelsDir = None,
) -> None:
    """Value one vehicle with per-feature contributions (LightGBM SHAP values)."""
    _value(vehicle, model, True, models_dir)


@app.command()
def reproduce(
    valuation: Annotated[
        str, typer.Argument(help="a recorded valuation JSON (value output) or a reproduce request")
    ],
    models_dir: ModelsDir = None,
) -> None:
    """Recompute a recorded valuation from its model version and canonical inputs; exit 1 on mismatch."""
    data = _read_json(valuation)
    if isinstance(data, dict) and isinstance(data.get("model"), dict):  # a full valuation response
        data = {
            "model": data["model"].get("ref"),
            "inputs": data.get("inputs"),
            "input_hash": data.get("input_hash"),
            "value": data.get("value"),
        }
    try:
        request = ReproduceRequest.model_validate(data)
        result = _service(models_dir).reproduce(
            request.model, request.inputs, request.input_hash, request.value
        )
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from exc
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except ModelNotFoundError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"match: {result.match} (input hash: {result.input_hash_match}, value: {result.value_match})")
    typer.echo(f"recomputed value {result.recomputed.value} with {result.recomputed.model.ref}")
    if not result.match:
        raise typer.Exit(1)


@app.command()
def models(models_dir: ModelsDir = None) -> None:
    """List registered residual-value model versions with their holdout metrics."""
    service = _service(models_dir)
    for m in service.registry.list(service.name):
        metrics = m.meta.get("metrics", {})
        typer.echo(
            f"{m.ref}\tid={m.model_id}\tmape={metrics.get('mape', float('nan')):.4f}\t"
            f"coverage={metrics.get('interval_coverage', float('nan')):.3f}\t{m.meta['training']['source']}"
        )


@app.command()
def mileage(
    evidence: Annotated[str, typer.Argument(help='JSON {"as_of", "gps": [...], "readings": [...]}')],
) -> None:
    """Estimate the current odometer from GPS, OBD and workshop readings; flag rollbacks."""
    try:
        request = MileageRequest.model_validate(_read_json(evidence))
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from exc
    est = estimate_mileage(
        request.as_of,
        [Reading(r.ts, r.km, r.source) for r in request.readings],
        [TrackPoint(p.ts, p.lat, p.lon) for p in request.gps],
    )
    _echo(
        {
            "estimated_km": est.estimated_km,
            "method": est.method,
            "rollback_suspected": est.rollback_suspected,
            "flags": [{"ts": f.ts, "reason": f.reason, "severity": f.severity} for f in est.flags],
        }
    )
