"""``mledger readmodel status|verify|rebuild``: the operators' view of the read model.

The commands read the ledger's committed blocks and world state without taking the ledger over: the
embedded ledger's file is opened read-only (the gateway may be running on it), a Fabric network is
reached through the connection profile with the service identity.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from app.readmodel.projector import Projector
from app.readmodel.runtime import open_store
from app.readmodel.sources import BlockSource, EmbeddedBlockSource, source_for
from app.readmodel.sqlite import SqliteStore
from app.readmodel.store import SqlStore
from app.readmodel.verify import EmbeddedWorldState, WorldState, verify
from app.settings import Settings

app = typer.Typer(
    help="The off-chain read model: status, verify against world state, rebuild.", no_args_is_help=True
)

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Read-model SQLite file (default: MLEDGER_READMODEL_URL / MLEDGER_STORE_URL if PostgreSQL, "
        "else <data dir>/readmodel.sqlite).",
    ),
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Gateway data folder (default .data/gateway).")
]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="Ledger backend: embedded or fabric.")]


def _settings(data_dir: Path | None, backend: str | None) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if backend is not None:
        overrides["backend"] = backend
    return Settings(**overrides)


class _Ledger:
    """The block source and world state of the configured backend (and what to close afterwards)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ledger: Any = None
        if settings.backend == "embedded":
            ledger_dir = Path(getattr(settings, "embedded_ledger_dir", None) or Path(".data") / "embedded")
            self.source: BlockSource = EmbeddedBlockSource(ledger_dir)
            self.world: WorldState = EmbeddedWorldState(ledger_dir, namespace=settings.chaincode)
        else:
            from app.ledger.factory import create_ledger
            from app.ledger.port import Caller
            from app.readmodel.world_state import ChaincodeWorldState

            self.ledger = create_ledger(settings)
            msp_id, user = self.ledger.profile.service_identity
            self.source = source_for(self.ledger)
            self.world = ChaincodeWorldState(self.ledger, Caller(user, msp_id))

    async def close(self) -> None:
        if self.ledger is not None:
            await self.ledger.close()


def _open(store: Path | None, data_dir: Path | None, backend: str | None) -> tuple[SqlStore, _Ledger]:
    settings = _settings(data_dir, backend)
    return (SqliteStore(store) if store else open_store(settings)), _Ledger(settings)


@app.command()
def status(store: StoreOpt = None, data_dir: DataDirOpt = None, backend: BackendOpt = None) -> None:
    """Height of the model and of the ledger, lag, counts, quarantined records, the last verify."""

    async def run() -> dict[str, Any]:
        model, ledger = _open(store, data_dir, backend)
        try:
            projector = Projector(model, ledger.source)
            lag = await projector.lag()
            with model.reading() as cur:
                quarantined = cur.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
                counters = cur.execute(
                    "SELECT name, bucket, n FROM counters WHERE name LIKE '%by_status'"
                ).fetchall()
            last = model.meta("last_verify")
            return {
                "block_height": model.next_block(),
                "ledger_height": projector.peer_height,
                "lag_blocks": lag,
                "quarantined": quarantined,
                "counts": {f"{n}:{b}": c for n, b, c in counters},
                "last_verify": json.loads(last) if last else None,
            }
        finally:
            model.close()
            await ledger.close()

    typer.echo(json.dumps(asyncio.run(run()), indent=2, ensure_ascii=False))


@app.command(name="verify")
def verify_cmd(
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    backend: BackendOpt = None,
    sample: Annotated[
        int | None, typer.Option(help="Check this many random rows instead of every key.")
    ] = None,
    catch_up: Annotated[bool, typer.Option(help="Project the ledger's new blocks first.")] = True,
) -> None:
    """Compare the read model with world state; exit 1 and list the drift by record if any."""

    async def run() -> Any:
        model, ledger = _open(store, data_dir, backend)
        try:
            if catch_up:
                await Projector(model, ledger.source).catch_up()
            return await verify(model, ledger.world, sample=sample)
        finally:
            model.close()
            await ledger.close()

    report = asyncio.run(run())
    typer.echo(json.dumps(json.loads(report.to_json()), indent=2, ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def rebuild(store: StoreOpt = None, data_dir: DataDirOpt = None, backend: BackendOpt = None) -> None:
    """Empty the read model and project every block again from block 0."""

    async def run() -> Any:
        model, ledger = _open(store, data_dir, backend)
        try:
            projector = Projector(model, ledger.source)
            projector.rebuild()
            return await projector.catch_up()
        finally:
            model.close()
            await ledger.close()

    progress = asyncio.run(run())
    typer.echo(
        json.dumps(
            {
                "blocks": progress.blocks,
                "transactions": progress.transactions,
                "skipped_invalid": progress.skipped_invalid,
                "skipped_other": progress.skipped_other,
                "seconds": round(progress.seconds, 2),
                "tx_per_second": round(progress.tx_per_second),
            }
        )
    )
