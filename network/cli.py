"""The network verbs: `mledger network up|down|status|logs|clean|profile|...` (app/cli.py mounts this app;
`python -m network` and scripts/network.sh run the same one)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from network import topology
from network.errors import NetworkError
from network.manager import Network
from network.netns_cli import app as netns_app

app = typer.Typer(
    help="The native Fabric consortium network (CAs, orderers, peers, kubo, chaincode).", no_args_is_help=True
)
console = Console()


T = TypeVar("T")


def _or_exit(what: str, call: Callable[[], T]) -> T:
    """Run one network operation; a NetworkError is printed as '<what> failed: …' and exits 1."""
    try:
        return call()
    except NetworkError as exc:
        console.print(f"[red]{what} failed:[/red] {exc}")
        raise typer.Exit(1) from exc


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
    report = _or_exit(
        "network up", lambda: net.up(chaincodes=not no_chaincode, restart_servers=restart_chaincode)
    )
    table = Table("node", "kind", "ports", "state")
    started = set(report.started)
    for n in net.nodes():
        state = "started" if n.name in started else "running"
        table.add_row(n.name, n.kind, ", ".join(f"{k}={v}" for k, v in n.ports.items()), state)
    console.print(table)
    for name, what in report.chaincodes.items():
        console.print(f"chaincode [bold]{name}[/bold]: {what}")
    for path in report.profiles:
        console.print(f"connection profile: {path}")
    s = net.settings
    console.print(
        f"Fabric {s.fabric_version} (module {s.fabric_stamp}); channel {topology.CHANNEL}; "
        f"data {s.data_dir}; logs {s.logs_dir}; "
        f"up in {report.seconds:.1f}s"
    )


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
        table.add_row(
            n["name"],
            n["kind"],
            str(n["pid"] or "-"),
            "yes" if n["healthy"] else "NO",
            ", ".join(f"{k}={v}" for k, v in n["ports"].items()),
        )
    console.print(table)
    fab = st["fabric"]
    versions = sorted({v or "?" for v in fab["running"].values()})
    console.print(
        f"Fabric {fab['version']} (module {fab['module'] or '?'}"
        + ("" if fab["release"] else ", NOT the release tag")
        + "); nodes running: "
        + (", ".join(versions) if versions else "none")
    )
    console.print(
        f"channel {st['channel']} heights: "
        + ", ".join(f"{k}={v if v is not None else '?'}" for k, v in st["heights"].items())
    )
    for cc in st["chaincodes"]:
        console.print(f"chaincode {cc.get('name')} sequence={cc.get('sequence')} version={cc.get('version')}")


@app.command()
def logs(
    node: Annotated[str, typer.Argument(help="Node name, e.g. peer0.banka")],
    lines: Annotated[int, typer.Option("-n")] = 50,
) -> None:
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
def profile(
    org: Annotated[
        str,
        typer.Argument(help="Org (key, name or MSP id), or 'consortium' for one gateway serving every org."),
    ] = "consortium",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of printing.")] = None,
    chaincode: Annotated[str, typer.Option(help="Chaincode the gateway calls.")] = "mortgage",
) -> None:
    """Print (or write) an org's Fabric connection profile; `up` writes them as connection-<org>.json."""
    from network.connection_profile import CONSORTIUM_PROFILE, connection_profile

    net = Network()
    settings = net.settings
    try:
        key = org if org == CONSORTIUM_PROFILE else topology.org(org, net.orgs()).key
        doc = connection_profile(settings, key, chaincode)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from exc
    text = json.dumps(doc, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    console.print(f"connection profile for {org} written to {out}")


@app.command()
def consortium(
    collections: Annotated[
        bool, typer.Option("--collections", help="Print the mortgage chaincode's collections_config.json.")
    ] = False,
) -> None:
    """Print the consortium definition (orgs, roles, users, policies) from chaincode/consortium.py."""
    from chaincode.consortium import collections_config, render_markdown

    if collections:
        typer.echo(json.dumps(collections_config(), indent=2))
        return
    typer.echo(render_markdown(), nl=False)


@app.command()
def compose() -> None:
    """Print docker-compose.yaml generated from the topology (the committed file is this output)."""
    from network.compose import render

    try:
        text = render()
    except ValueError as exc:  # an ordering profile the Fabric version cannot run
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(text, nl=False)


@app.command()
def render(
    out: Annotated[Path, typer.Option("--out", help="Folder for compose/<org>/, kubernetes/<org>.yaml.")],
    address: Annotated[list[str] | None, typer.Option(help="ORG=IP of an org's host (repeatable).")] = None,
) -> None:
    """Render a compose bundle and Kubernetes manifests per org host from the topology: the network's
    org set (MLEDGER_NETWORK_DIR's topology.json) and ordering profile (MLEDGER_ORDERING, FABRIC_VERSION)."""
    from network import orgset
    from network.render.writer import parse_addresses, render_all
    from network.settings import Settings

    settings = Settings.from_env()
    try:
        addresses = parse_addresses(address or [], orgset.orgs(settings))
        files = render_all(settings, out, addresses)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
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


chaincode_app = typer.Typer(help="Chaincode definitions on the channel.", no_args_is_help=True)
app.add_typer(chaincode_app, name="chaincode")


@chaincode_app.command("approvals")
def chaincode_approvals(
    name: Annotated[str, typer.Argument(help="Chaincode name, e.g. mortgage")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Which orgs have approved the pending (next-sequence) definition of a chaincode, and which one."""
    from network import governance

    net = Network()
    result = _or_exit("approvals", lambda: governance.approvals(net.settings, name))
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    console.print(
        f"chaincode {name}: committed sequence {result.committed_sequence}; "
        f"pending sequence {result.pending_sequence}: "
        + (
            "no org has approved it yet"
            if not result.pending
            else f"{'ready to commit' if result.ready else 'not ready'} (needs {result.needed} of "
            f"{result.application_orgs} application orgs approving one definition)"
        )
    )
    table = Table("org", "approved", "version", "definition", "package")
    for o in result.orgs:
        table.add_row(
            o.msp_id,
            "yes" if o.approved else "no",
            o.version or "-",
            o.definition or "-",
            o.package_id or "-",
        )
    console.print(table)


user_app = typer.Typer(help="Users of the consortium's orgs.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("revoke")
def user_revoke(
    org: Annotated[str, typer.Argument(help="Org of the user: BankA, BankAMSP or banka")],
    user: Annotated[str, typer.Argument(help="Enrollment ID, e.g. loan1")],
    reason: Annotated[
        str, typer.Option(help="RFC 5280 reason, e.g. keycompromise, superseded")
    ] = "keycompromise",
) -> None:
    """Revoke a user at the org's CA and put the CRL into the org's channel MSP (config update signed by
    the org's admin): the user's next transaction is refused, the org's other users carry on."""
    from network import governance

    _logging(False)
    res = _or_exit("revoke", lambda: governance.revoke_user(Network().settings, org, user, reason))
    state = "CRL added to the channel configuration" if res.config_updated else "CRL already on the channel"
    console.print(
        f"revoked {res.msp_id} {res.user} ({res.reason}); {state}; "
        f"revoked serials now: {', '.join(res.revoked_serials)}"
    )


cert_app = typer.Typer(help="Certificates of users and nodes.", no_args_is_help=True)
app.add_typer(cert_app, name="cert")


@cert_app.command("renew")
def cert_renew(
    org: Annotated[str, typer.Argument(help="Org: BankA, BankAMSP or banka")],
    name: Annotated[
        str, typer.Argument(help="User (e.g. loan1), the org's peer (peer0.banka) or one of its orderers")
    ],
) -> None:
    """Renew a user's, a peer's or an orderer's certificates (new keys) before expiry; a node is restarted
    alone (an orderer's new certificates first replace its consenter entry in the channel config)."""
    from network import governance

    _logging(False)
    r = _or_exit("renew", lambda: governance.renew_cert(Network().settings, org, name))
    console.print(
        f"renewed {r.kind} {r.msp_id} {r.name}: serial {r.old_serial} -> {r.new_serial}, "
        f"valid until {r.not_after}" + (f"; {r.kind} restarted and caught up" if r.restarted else "")
    )


org_app = typer.Typer(help="Orgs of the channel.", no_args_is_help=True)
app.add_typer(org_app, name="org")


@org_app.command("suspend")
def org_suspend(org: Annotated[str, typer.Argument(help="Org: BankB, BankBMSP or bankb")]) -> None:
    """Take an org out of the channel (config update signed by a majority of application org admins)."""
    from network import governance

    _logging(False)
    signers = _or_exit("suspend", lambda: governance.suspend_org(Network().settings, org))
    console.print(f"suspended {org}: removed from the channel; signed by {', '.join(signers)}")


@org_app.command("resume")
def org_resume(org: Annotated[str, typer.Argument(help="A suspended org")]) -> None:
    """Put a suspended org back into the channel (majority of application org admins)."""
    from network import governance

    _logging(False)
    signers = _or_exit("resume", lambda: governance.resume_org(Network().settings, org))
    console.print(f"resumed {org}: back in the channel; signed by {', '.join(signers)}")


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="The new org's name, e.g. BankC (MSP id BankCMSP)")],
    kind: Annotated[str, typer.Option(help="Org kind with an endorsing peer: bank, insurer, ...")] = "bank",
) -> None:
    """Admit a new org: its CA, identities and peer; the channel update signed by a majority of the
    application orgs' admins; its peer joins; every chaincode definition's policy then includes it."""
    from network import onboarding

    _logging(False)
    t0 = time.monotonic()
    r = _or_exit("org add", lambda: onboarding.add_org(Network().settings, name, kind))
    console.print(f"added {r.msp_id}: signed by {', '.join(r.signers)}; {r.peer} joined the channel")
    for step, seconds in r.seconds.items():
        console.print(f"  {step}: {seconds:.1f} s")
    for cc, pkg in r.chaincodes.items():
        console.print(f"  chaincode {cc}: {pkg}")
    console.print(f"org add took {time.monotonic() - t0:.1f} s")


@org_app.command("remove")
def org_remove(org: Annotated[str, typer.Argument(help="An org `org add` admitted, e.g. BankC")]) -> None:
    """Take an added org out again: channel update, chaincode policy without it, its nodes and crypto."""
    from network import onboarding

    _logging(False)
    signers = _or_exit("org remove", lambda: onboarding.remove_added_org(Network().settings, org))
    console.print(f"removed {org}: out of the channel and the network; signed by {', '.join(signers)}")


snapshot_app = typer.Typer(
    help="Ledger snapshots of the channel (Fabric peer snapshots).", no_args_is_help=True
)
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("take")
def snapshot_take(peer: Annotated[str, typer.Argument(help="Peer, e.g. peer0.bankb")]) -> None:
    """Ask the peer (as its org admin) for a snapshot at its current height; wait until it is written."""
    from network import snapshots

    _logging(False)
    t0 = time.monotonic()
    snap = _or_exit("snapshot", lambda: snapshots.take(Network(), peer))
    typer.echo(f"snapshot {snap.path} height {snap.height} (last block {snap.last_block})")
    typer.echo(f"took {time.monotonic() - t0:.1f} s")


peer_app = typer.Typer(help="Peers of the channel.", no_args_is_help=True)
app.add_typer(peer_app, name="peer")


@peer_app.command("rebuild")
def peer_rebuild(
    peer: Annotated[str, typer.Argument(help="Peer to rebuild, e.g. peer0.banka")],
    snapshot: Annotated[
        Path | None, typer.Argument(help="A completed snapshot folder; default: a new one from another peer")
    ] = None,
    from_snapshot: Annotated[
        bool, typer.Option("--from-snapshot", help="Join from a ledger snapshot.")
    ] = False,
) -> None:
    """Stop the peer, move its ledger aside, start it empty, join the channel from a snapshot, catch up."""
    from network import snapshots

    if not from_snapshot:
        console.print("[red]peer rebuild: --from-snapshot is required (the only way it rebuilds)[/red]")
        raise typer.Exit(2)
    _logging(False)
    r = _or_exit("rebuild", lambda: snapshots.rebuild(Network(), peer, snapshot))
    typer.echo(
        f"rebuilt {r.peer} from {r.snapshot.path} (height {r.snapshot.height}); now at height {r.height}"
    )
    typer.echo(f"former ledger moved to {r.aside}" if r.aside else "no former ledger (site lost)")
    typer.echo(
        ", ".join(f"{k} {v:.1f} s" for k, v in r.seconds.items()) + f"; total {sum(r.seconds.values()):.1f} s"
    )
