"""The `mledger` command line: serve the gateway, run the network, manage users, run the demo."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.certificates.cli import certificate_cli
from app.documents import cli as doc_keys_module
from app.documents.cli import app as doc_keys_cli
from app.ops.cli import app as ops_cli
from app.owner_cli import app as owner_cli
from app.readmodel_cli import app as readmodel_cli
from app.risk.cli import app as risk_cli
from app.settings import Settings
from app.valuation.cli import app as valuation_cli
from network.cli import app as network_cli  # the one declared arrow from app/ into network/ (its verbs)

cli = typer.Typer(help="Vehicle mortgage ledger on Hyperledger Fabric.", no_args_is_help=True)
users_cli = typer.Typer(help="Gateway users: add (and enrol), list, disable, API keys.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
console = Console()

DataDir = Annotated[Path | None, typer.Option(help="Gateway data folder (default .data/gateway).")]
Backend = Annotated[str | None, typer.Option(help="Ledger backend: embedded or fabric.")]


def _settings(
    data_dir: Path | None = None, backend: str | None = None, orgs: list[str] | None = None
) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if backend is not None:
        overrides["backend"] = backend
    if orgs:
        overrides["orgs"] = orgs
    return Settings(**overrides)  # type: ignore[arg-type]


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    data_dir: DataDir = None,
    backend: Backend = None,
    org: Annotated[list[str] | None, typer.Option(help="Serve only this org (repeatable).")] = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            help="Demo mode: seed demo users (public passwords) and vehicles. Default: on for the embedded "
            "backend outside production; refused in production."
        ),
    ] = None,
) -> None:
    """Run the gateway (embedded backend by default, seeded with demo data) and print its URL."""
    import uvicorn
    from pydantic import ValidationError

    from app.main import create_app

    base = _settings(data_dir, backend, org)
    if demo is None:
        demo = base.backend == "embedded" and base.environment != "production"
    try:
        settings = Settings(
            **{**base.model_dump(exclude={"seed_demo", "demo_mode", "public_base_url"})},
            seed_demo=demo and base.backend == "embedded",
            demo_mode=demo,
            public_base_url=f"http://{host}:{port}",
        )
    except ValidationError as exc:
        console.print(f"[red]{exc.errors()[0]['msg']}[/red]")
        raise typer.Exit(2) from None
    os.umask(0o077)  # everything this gateway writes (ledger, users, keys) is owner-only
    app = create_app(settings)
    url = f"http://{host}:{port}"
    orgs = ", ".join(settings.orgs)
    console.print(f"[bold green]Gateway[/bold green] ({settings.backend} backend, orgs: {orgs})")
    console.print(f"  listening on [link={url}/]{url}/[/link]   API docs: {url}/docs")
    if settings.seed_demo:
        from app.demo.seed import seed_users

        console.print(
            "[bold yellow]DEMO MODE[/bold yellow]: these passwords are public; "
            "never use this data dir in production"
        )
        table = Table(title="Demo users (POST /api/v1/auth/token)", show_lines=False)
        for column in ("username", "role", "password"):
            table.add_column(column)
        for user, password in seed_users(app.state.gw):
            if user.username != "admin" or user.msp_id == "TrafficAuthorityMSP":
                table.add_row(user.qualified_name, user.role.value, password)
        console.print(table)
    # uvicorn's standard extras: httptools parses HTTP in C; uvloop runs the embedded gateway's loop.
    # The Fabric backend keeps asyncio's own loop, the one its gRPC asyncio channels are tested on.
    loop = "uvloop" if settings.backend == "embedded" else "asyncio"
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, http="httptools", loop=loop)


@users_cli.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name (unique within the org).")],
    org: Annotated[str, typer.Option(help="The user's org MSP id, e.g. BankAMSP.")],
    role: Annotated[str, typer.Option(help="registrar, loan_officer, underwriter, dealer, regulator, ...")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDir = None,
    backend: Backend = None,
) -> None:
    """Create a user and enrol its Fabric identity (fabric-ca on the network, embedded CA otherwise)."""
    from app.main import build_enroller
    from app.store.config import open_component
    from app.users.enrolment import EnrolmentError
    from app.users.provision import provision_user
    from app.users.roles import Role
    from app.users.store import UserError, UserStore

    settings = _settings(data_dir, backend)
    try:
        role_value = Role(role)
    except ValueError:
        console.print(f"[red]role: {role!r} is not one of {[r.value for r in Role]}[/red]")
        raise typer.Exit(2) from None
    store = UserStore(open_component(settings, settings.users_db))
    with console.status(f"Creating and enrolling {username}@{org}…"):
        try:
            user = provision_user(store, build_enroller(settings), org, username, role_value, password)
        except UserError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        except EnrolmentError as exc:
            console.print(f"[red]not created: the CA did not enrol it: {exc}[/red]")
            raise typer.Exit(1) from None
    console.print(f"[green]added[/green] {user.qualified_name} (role {user.role.value}, enrolled)")


@users_cli.command("list")
def users_list(
    org: Annotated[str | None, typer.Option(help="Only this org.")] = None, data_dir: DataDir = None
) -> None:
    """List the gateway's users."""
    from app.store.config import open_component
    from app.users.store import UserStore

    settings = _settings(data_dir)
    store = UserStore(open_component(settings, settings.users_db))
    table = Table("user", "org", "role", "enrolled", "disabled")
    for user in store.list_users(org):
        table.add_row(user.username, user.msp_id, user.role.value, str(user.enrolled), str(user.disabled))
    console.print(table)


@users_cli.command("disable")
def users_disable(
    username: str, org: Annotated[str, typer.Option(help="The user's org.")], data_dir: DataDir = None
) -> None:
    """Disable a user (tokens stop working at once; API keys are revoked)."""
    from app.store.config import open_component
    from app.users.store import UserError, UserStore

    settings = _settings(data_dir)
    store = UserStore(open_component(settings, settings.users_db))
    try:
        store.set_disabled(org, username, True)
    except UserError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"disabled {username}@{org}")


@users_cli.command("api-key")
def users_api_key(
    username: str,
    org: Annotated[str, typer.Option(help="The user's org.")],
    label: str = "",
    data_dir: DataDir = None,
) -> None:
    """Create an API key for a user (printed once; send it as X-API-Key)."""
    from app.store.config import open_component
    from app.users.store import UserError, UserStore

    settings = _settings(data_dir)
    store = UserStore(open_component(settings, settings.users_db))
    try:
        key = store.create_api_key(org, username, label)
    except UserError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(key)


@cli.command()
def demo(
    url: Annotated[str | None, typer.Option(help="A running gateway (default: an in-process one).")] = None,
    data_dir: DataDir = None,
    serial: Annotated[int | None, typer.Option(help="Vehicle serial (default: from the clock).")] = None,
) -> None:
    """Run a scripted loan lifecycle through the API and show each step."""
    import time

    serial = serial if serial is not None else int(time.time()) % 900000 + 100000
    raise typer.Exit(asyncio.run(_demo(url, data_dir, serial)))


async def _demo(url: str | None, data_dir: Path | None, serial: int) -> int:
    import httpx

    from app.demo.client import DemoClient, DemoError
    from app.demo.lifecycle import lifecycle

    if url:
        transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport()
        base = url
        app = None
    else:
        from app.demo.seed import seed_users
        from app.main import create_app

        settings = _settings(data_dir or Path(os.environ.get("MLEDGER_DATA_DIR", ".data/demo")), "embedded")
        settings = Settings(**{**settings.model_dump(exclude={"demo_mode"}), "demo_mode": True})
        app = create_app(settings)
        seed_users(app.state.gw)
        transport = httpx.ASGITransport(app=app)
        base = "http://gateway"
    failures = 0
    async with httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as http:
        client = DemoClient(http)
        with console.status("Running the loan lifecycle…") as status:
            try:
                steps = lifecycle(client, serial)
                async for title, outcome in steps:
                    console.print(f"[green]✓[/green] [bold]{title}[/bold]: {outcome}")
                    status.update(f"after: {title}")
            except DemoError as exc:
                console.print(f"[red]✗ {exc}[/red]")
                failures = 1
    if app is not None:
        await app.state.gw.ledger.close()
    return failures


cli.add_typer(
    network_cli, name="network", help="The native Fabric network: up, down, status, profile, deploy."
)
cli.add_typer(valuation_cli, name="valuation", help="Collateral valuation models.")
cli.add_typer(risk_cli, name="risk", help="Loan risk scoring.")
cli.add_typer(doc_keys_cli, name="doc-keys", help="Consortium document key ring: create, rotate, show.")


def _document_key_wrap(settings: Settings) -> object:
    from app.main import document_key_wrap  # the HSM's key, when one is configured

    return document_key_wrap(settings)


doc_keys_module.store_wrap = _document_key_wrap
cli.add_typer(readmodel_cli, name="readmodel", help="The off-chain read model: status, verify, rebuild.")
cli.add_typer(certificate_cli, name="certificate", help="Search certificates: verify offline.")
cli.add_typer(owner_cli, name="owner", help="The owner's own commands: sign a consent with your key.")
cli.add_typer(ops_cli, name="ops", help="Operations: encrypted per-org backups and their verification.")


def main() -> None:
    cli()
