"""`mledger valuation …`: generate, train, evaluate, value, explain, reproduce, models, mileage."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from app.valuation.canonical import sha256_hex
from app.valuation.chain_registration import card_document, chain_body, pending
from app.valuation.dataset import SalesData, read_sales
from app.valuation.drift import prometheus_text
from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.lender_shapes import SHAPES, lender_sales, to_csv
from app.valuation.mileage import Reading, TrackPoint, estimate_mileage
from app.valuation.model import TrainConfig, TrainingResult
from app.valuation.registry import RegisteredModel, open_registry
from app.valuation.report import write_report
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
ModelOpt = Annotated[str | None, typer.Option("--model", help="name@version; the champion when omitted")]


def _service(models_dir: Path | None) -> ValuationService:
    return ValuationService(open_registry(models_dir))


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


def _print_cv(result: TrainingResult) -> None:
    typer.echo(f"{'candidate':<20}{'CV MAPE':>10}{'± se':>8}{'≤8%':>8}{'≤15%':>8}")
    for row in result.cv.table:
        mark = "  <- chosen" if row["family"] == result.cv.chosen else ""
        typer.echo(
            f"{row['family']:<20}{row['cv_mape']:>10.4f}{row['cv_mape_se']:>8.4f}"
            f"{row['within_8pct']:>8.3f}{row['within_15pct']:>8.3f}{mark}"
        )
    iv = result.intervals
    typer.echo(
        f"interval: target {iv['target']:.2f}, CV coverage {iv['cv_coverage']:.3f}, "
        f"mean width {iv['cv_mean_width_pct']:.3f} of the value; folds {json.dumps(result.split)}"
    )
    typer.echo(f"selection procedure (nested) CV MAPE {result.metrics['selection_mape']:.4f}")
    used = [f"{p.name}({p.kind})" for p in result.data.columns if p.kind not in ("dropped", "target")]
    typer.echo("columns used: " + ", ".join(used))
    dropped = [p.name for p in result.data.columns if p.kind == "dropped"]
    if dropped:
        typer.echo("columns dropped: " + ", ".join(dropped))
    if result.data.flags:
        typer.echo(f"flagged rows: {len({f['row'] for f in result.data.flags})} (see the report)")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


SaleDateOpt = Annotated[
    str | None,
    typer.Option("--sale-date", help="YYYY-MM-DD: the collection date of a file without sale dates"),
]


def _load_sales(csv: Path, mapping: str | None, sale_date: str | None = None) -> tuple[SalesData, bytes]:
    raw = csv.read_bytes()
    cols = _read_json(mapping) if mapping else {}
    try:
        when = date.fromisoformat(sale_date) if sale_date else None
    except ValueError as exc:
        raise _fail(f"--sale-date: not a YYYY-MM-DD date ({sale_date!r})") from exc
    return read_sales(raw, cols, sale_date=when), raw


def _chain_pending(registered: RegisteredModel) -> None:
    """A promotion here stands off chain: say what registers it (valuations citing it need that)."""
    registration = pending(
        chain_body(registered),
        "this command has no ledger identity (a bank's gateway registers versions "
        "its model administrator promotes through POST /api/v1/valuation/...)",
    )
    typer.echo(registration.message)
    typer.echo(f"register it as the bank's model administrator:\n  {registration.command}")


def _write_report(
    service: ValuationService, registered: Any, result: TrainingResult, out: Path | None
) -> None:
    out = out or (service.registry.root / registered.name / f"v{registered.version}")
    paths = write_report(out, result, card_document(registered), registered.ref)
    typer.echo(f"report: {paths['report']}\nmodel card: {paths['card']}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    rows: Annotated[int, typer.Option(min=30, max=1_000_000)] = 20_000,
    seed: int = 7,
    shape: Annotated[
        str | None, typer.Option(help=f"a lender-shaped file instead: {', '.join(SHAPES)}")
    ] = None,
) -> None:
    """Write a seeded synthetic sales CSV (demo data; not real-market accuracy)."""
    if shape is not None:
        if shape not in SHAPES:
            raise _fail(f"--shape: one of {', '.join(SHAPES)}")
        out.write_bytes(to_csv(lender_sales(shape, rows, seed)))
    else:
        out.write_text(market_to_csv(generate_market(rows, seed=seed)))
    typer.echo(f"wrote {rows} synthetic sales to {out}")


@app.command()
def train(
    csv: Annotated[Path | None, typer.Option("--csv", help="sales CSV")] = None,
    mapping: Annotated[
        str | None, typer.Option(help='JSON {"canonical": "CSV column"} or a file of it')
    ] = None,
    synthetic: Annotated[int | None, typer.Option(help="train on this many synthetic sales instead")] = None,
    seed: int = 7,
    rounds: Annotated[int, typer.Option(min=10, max=2000, help="most boosting rounds")] = 1000,
    coverage: Annotated[float, typer.Option(min=0.5, max=0.99)] = 0.9,
    name: Annotated[str, typer.Option(help="model name in the registry")] = "residual-value",
    promote: Annotated[
        bool | None, typer.Option("--promote/--no-promote", help="default: only if no champion yet")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="report folder (default: the version's folder)")] = None,
    sale_date: SaleDateOpt = None,
    models_dir: ModelsDir = None,
) -> None:
    """Choose a model by cross-validation, refit on all rows, register; write report and model card."""
    service = _service(models_dir)
    config = TrainConfig(num_boost_round=rounds, coverage=coverage, seed=seed)
    try:
        if synthetic is not None:
            market = generate_market(synthetic, seed=seed)
            registered, result = service.train_and_register(
                market.sales,
                market.index,
                config,
                source=f"synthetic(rows={synthetic}, seed={seed})",
                name=name,
                promote=promote,
            )
        elif csv is not None:
            sales, raw = _load_sales(csv, mapping, sale_date)
            registered, result = service.train_and_register(
                sales,
                None,
                config,
                source=f"csv:{csv.name}",
                raw_sha256=sha256_hex(raw),
                name=name,
                promote=promote,
            )
        else:
            raise _fail("give --csv FILE or --synthetic ROWS")
    except InputError as exc:
        raise _fail(str(exc)) from exc
    except (OSError, ModelNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    champion = service.champion_ref(name)
    typer.echo(f"registered {registered.ref} (id {registered.model_id}); champion: {champion}")
    if champion == registered.ref:
        _chain_pending(registered)
    typer.echo(f"training data sha256 {registered.meta['training']['data_sha256']}")
    _print_cv(result)
    _write_report(service, registered, result, report)
    if synthetic is not None:
        typer.echo("note: synthetic data - these figures are not real-market accuracy")


@app.command()
def retrain(
    csv: Annotated[Path, typer.Option("--csv", help="the new sales CSV")],
    mapping: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str, typer.Option(help="model name in the registry")] = "residual-value",
    seed: int = 7,
    rounds: Annotated[int, typer.Option(min=10, max=2000)] = 1000,
    coverage: Annotated[float, typer.Option(min=0.5, max=0.99)] = 0.9,
    promote: Annotated[bool, typer.Option("--promote-if-better/--no-promote")] = True,
    metrics_out: Annotated[Path | None, typer.Option(help="write the PSI figures as Prometheus text")] = None,
    report: Annotated[Path | None, typer.Option()] = None,
    sale_date: SaleDateOpt = None,
    models_dir: ModelsDir = None,
) -> None:
    """Train a challenger on new data; compare with the champion on the same folds; report input drift."""
    service = _service(models_dir)
    try:
        sales, raw = _load_sales(csv, mapping, sale_date)
        registered, result, comparison, rows = service.retrain(
            sales,
            TrainConfig(num_boost_round=rounds, coverage=coverage, seed=seed),
            source=f"csv:{csv.name}",
            raw_sha256=sha256_hex(raw),
            name=name,
            promote_if_better=promote,
        )
    except (InputError, ModelNotFoundError, OSError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        f"challenger {registered.ref}: CV MAPE {comparison['challenger_mape']:.4f} vs champion "
        f"{comparison['champion']} {comparison['champion_mape']:.4f} on the same {comparison['folds']} folds "
        f"(challenger better on {comparison['challenger_fold_wins']}); "
        + ("promoted" if comparison["promoted"] else "not promoted")
    )
    if comparison["promoted"]:
        _chain_pending(registered)
    _print_cv(result)
    typer.echo("input drift (PSI vs the champion's training data):")
    for row in rows:
        shown = "-" if row["psi"] is None else f"{row['psi']:.4f}"
        typer.echo(f"  {row['feature']:<28}{shown:>10}  {row['status']}")
    if metrics_out is not None:
        metrics_out.write_text(prometheus_text(name, rows))
        typer.echo(f"metrics: {metrics_out}")
    _write_report(service, registered, result, report)


@app.command()
def promote(
    version: Annotated[int, typer.Argument(help="the version to make champion")],
    name: Annotated[str, typer.Option()] = "residual-value",
    reason: Annotated[str, typer.Option()] = "",
    models_dir: ModelsDir = None,
) -> None:
    """Make a registered version the one valuations use (explicit; never "newest wins")."""
    service = _service(models_dir)
    try:
        record = service.promote(version, "cli", reason, name=name)
    except ModelNotFoundError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"champion of {name}: v{record['version']} (was v{record['previous']})")
    _chain_pending(service.registry.get(name, version))


@app.command()
def evaluate(
    csv: Annotated[Path, typer.Option("--csv", help="sales CSV (ideally sales the model has not seen)")],
    mapping: Annotated[str | None, typer.Option()] = None,
    model: ModelOpt = None,
    sale_date: SaleDateOpt = None,
    models_dir: ModelsDir = None,
) -> None:
    """Accuracy of a registered model on a sales CSV (unseen categories fall back, never refuse)."""
    try:
        sales, _ = _load_sales(csv, mapping, sale_date)
        report = _service(models_dir).evaluate(sales, model)
    except (InputError, ModelNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"model {report['model']['ref']} (id {report['model']['model_id']})")
    for key, value in report["metrics"].items():
        typer.echo(f"{key:<26}{value:>10.4f}")
    if report["fallbacks"]:
        typer.echo("valued with the pooled level: " + json.dumps(report["fallbacks"]))


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
def models(name: Annotated[str, typer.Option()] = "residual-value", models_dir: ModelsDir = None) -> None:
    """List registered versions with their CV figures; the champion is marked."""
    service = _service(models_dir)
    champion = service.registry.champion(name) or {}
    for m in service.registry.list(name):
        metrics = m.meta.get("metrics", {})
        mark = " *champion*" if champion.get("version") == m.version else ""
        typer.echo(
            f"{m.ref}\tid={m.model_id}\t{m.meta.get('card', {}).get('chosen_family')}\t"
            f"cv_mape={metrics.get('mape', float('nan')):.4f}\t"
            f"coverage={metrics.get('interval_coverage', float('nan')):.3f}\t"
            f"{m.meta['training']['source']}{mark}"
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
