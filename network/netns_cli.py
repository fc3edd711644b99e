"""`python -m network netns up|down|cut|heal|delay`: the network on one network namespace per host."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from network.errors import NetworkError
from network.multihost import MultiHostNetwork
from network.settings import Settings

app = typer.Typer(
    help="Run the network with each org on its own host (Linux network namespace; root).",
    no_args_is_help=True,
)
console = Console()


def _net(links: str = "proxy") -> MultiHostNetwork:
    return MultiHostNetwork(Settings.from_env(), links=links)


@app.command()
def up(direct: Annotated[bool, typer.Option(help="Link hosts directly (no Toxiproxy).")] = False) -> None:
    """Create the namespaces, bridge and links, then bring the network up on them."""
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger("network").addHandler(handler)
    logging.getLogger("network").setLevel(logging.INFO)
    net = _net("direct" if direct else "proxy")
    try:
        report = net.up()
    except NetworkError as exc:
        console.print(f"[red]netns up failed (namespaces removed):[/red] {exc}")
        raise typer.Exit(1) from exc
    lay = net.layout
    for h in lay.host_list:
        console.print(f"{lay.netns(h):24} {lay.address(h):15} {', '.join(h.nodes)}")
    console.print(
        f"bridge {lay.bridge} {lay.subnet}; links {lay.links}; up in {report.seconds:.1f}s; "
        f"host plan {net.settings.data_dir / 'hosts.json'} (export MLEDGER_NETWORK_HOSTS=...)"
    )


@app.command()
def down() -> None:
    """Stop the network and remove every namespace, bridge and hosts file recorded in the state file."""
    net = _net()
    stopped = net.down()
    console.print(f"stopped {len(stopped)} processes; namespaces, bridge and hosts files removed")


@app.command()
def cut(
    node: Annotated[str, typer.Argument(help="A node, e.g. orderer1; its whole host is cut off.")],
) -> None:
    """Partition the host of NODE from every other host (Toxiproxy links disabled)."""
    net = _net()
    net.connect_proxy()
    console.print(f"cut {len(net.cut(node))} links")


@app.command()
def heal(node: str) -> None:
    """Reconnect the host of NODE."""
    net = _net()
    net.connect_proxy()
    net.heal(node)


@app.command()
def delay(
    ms: Annotated[int, typer.Argument(help="Added delay per direction of every link; 0 removes it.")],
) -> None:
    """Add link latency to every node-to-node link."""
    net = _net()
    net.connect_proxy()
    net.add_latency(ms)
