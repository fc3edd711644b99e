"""The `mledger` command line: serve the gateway, run the network, manage users, run the demo."""

from __future__ import annotations

import typer
import uvicorn

cli = typer.Typer(help="Vehicle mortgage ledger on Hyperledger Fabric.", no_args_is_help=True)


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run the gateway (embedded backend by default) and print its URL."""
    from app.main import create_app

    typer.echo(f"Gateway listening on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def main() -> None:
    cli()
