"""`python -m network up|down|status|logs|clean` (also mounted as `mledger network ...`)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from network import topology
from network.errors import NetworkError
from network.manager import Network
from network.netns_cli import app as netns_app

app = typer.Typer(help="The native Fabric consortium network (CAs, orderers, peers, kubo, chaincode).",
                  no_args_is_help=True)
console = Console()


def _logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    lg = logging.getLogger("network")
    lg.handlers[:] = [handler]
    lg.setLevel(logging.DEBUG if verbose else logging.INFO)


@app.command()
def up(
    no_chaincode: Annotated[bool, typer.Option("--no-chaincode", help="Stop after the channel.")] = False,
    restart_chaincode: Annotated[bool, typer.Option(help="Restart chaincode servers from source.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Start (or complete) the network; idempotent."""
    _logging(verbose)
    net = Network()
    try:
        report = net.up(chaincodes=not no_chaincode, restart_servers=restart_chaincode)
    except NetworkError as exc:
        console.print(f"[red]network up failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    table = Table("node", "kind", "ports", "state")
    started = set(report.started)
    for n in net.nodes():
        state = "started" if n.name in started else "running"
        table.add_row(n.name, n.kind, ", ".join(f"{k}={v}" for k, v in n.ports.items()), state)
    console.print(table)
    for name, what in report.chaincodes.items():
        console.print(f"chaincode [bold]{name}[/bold]: {what}")
    s = net.settings
    console.print(f"channel {topology.CHANNEL}; data {s.data_dir}; logs {s.logs_dir}; "
                  f"up in {report.seconds:.1f}s")


@app.command()
def down() -> None:
    """Stop the processes this network recorded (and nothing else)."""
    stopped = Network().down()
    console.print(f"stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Health of every node, block height of each peer, committed chaincode definitions."""
    st = Network().status()
    if as_json:
        typer.echo(json.dumps(st, indent=2))
        return
    table = Table("node", "kind", "pid", "healthy", "ports")
    for n in st["nodes"]:
        table.add_row(n["name"], n["kind"], str(n["pid"] or "-"), "yes" if n["healthy"] else "NO",
                      ", ".join(f"{k}={v}" for k, v in n["ports"].items()))
    console.print(table)
    console.print(f"channel {st['channel']} heights: " +
                  ", ".join(f"{k}={v if v is not None else '?'}" for k, v in st["heights"].items()))
    for cc in st["chaincodes"]:
        console.print(f"chaincode {cc.get('name')} sequence={cc.get('sequence')} version={cc.get('version')}")


@app.command()
def logs(node: Annotated[str, typer.Argument(help="Node name, e.g. peer0.banka")],
         lines: Annotated[int, typer.Option("-n")] = 50) -> None:
    """Print the tail of a node's log."""
    path = Network().settings.log_file(node)
    if not path.exists():
        console.print(f"[red]no log for {node}[/red] ({path})")
        raise typer.Exit(1)
    typer.echo("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))


@app.command()
def clean(yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Stop the network and delete its data, crypto and logs (.data/network)."""
    net = Network()
    if not yes:
        typer.confirm(f"delete {net.settings.data_dir}?", abort=True)
    net.down()
    shutil.rmtree(net.settings.data_dir, ignore_errors=True)
    console.print(f"removed {net.settings.data_dir}")


@app.command()
def compose() -> None:
    """Print docker-compose.yaml generated from the topology (the committed file is this output)."""
    from network.compose import render

    typer.echo(render(), nl=False)


@app.command()
def render(
    out: Annotated[Path, typer.Option("--out", help="Folder for compose/<org>/, kubernetes/<org>.yaml.")],
    address: Annotated[list[str] | None, typer.Option(help="ORG=IP of an org's host (repeatable).")] = None,
) -> None:
    """Render a compose bundle and Kubernetes manifests per org host from the topology."""
    from network.render.writer import parse_addresses, render_all
    from network.settings import Settings

    try:
        addresses = parse_addresses(address or [])
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    files = render_all(Settings.from_env(), out, addresses)
    console.print(f"wrote {len(files)} files under {out}")


app.add_typer(netns_app, name="netns")


@app.command()
def deploy(verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False) -> None:
    """(Re)deploy the chaincodes of network/chaincodes.yaml: next sequence if a definition changed,
    restart servers whose source changed."""
    _logging(verbose)
    net = Network()
    try:
        with net.lock():
            from network.manager import UpReport

            report = UpReport()
            net.deploy_chaincodes(report, restart_servers=True)
    except NetworkError as exc:
        console.print(f"[red]deploy failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    for name, what in report.chaincodes.items():
        console.print(f"chaincode [bold]{name}[/bold]: {what}")
