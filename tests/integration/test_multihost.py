"""The network across hosts: each org's nodes in its own Linux network namespace with its own address.

Brings up a second, throw-away network (data dir <network dir>-multihost; node ports live inside the
namespaces, so it shares the base port with the loopback network) whose hosts are network namespaces on
a bridge this test module creates: nodes reach each other only by DNS names that resolve to the other
hosts (through a Toxiproxy link per source host and destination node), certificates carry those names,
and nothing is routed off the machine. Then partitions and heals links. Needs root (CI runs as root)
and the toxiproxy binary (scripts/install-binaries).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from network import ca, netns, topology
from network.errors import NetworkError
from network.hosts import LOOPBACK_PLAN, fqdn
from network.multihost import MultiHostNetwork
from network.settings import Settings

CC = "runtimetest"


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root (CAP_NET_ADMIN); CI runs as root", pytrace=False)


def _settings(data_dir: Path, base_port: int | None = None) -> Settings:
    s = Settings.from_env()
    return replace(s, data_dir=data_dir, base_port=base_port or s.base_port, hosts=LOOPBACK_PLAN)


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True, timeout=20).stdout


def _leftovers(layout: netns.Layout) -> list[str]:
    """Anything of `layout` still on the machine: namespaces, bridge, hosts files, subnet addresses."""
    found = [ns for ns in _ip("netns", "list").split() if ns.startswith(f"{layout.tag}-")]
    if (
        subprocess.run(["ip", "link", "show", layout.bridge], capture_output=True, check=False).returncode
        == 0
    ):
        found.append(layout.bridge)
    found += [str(p) for p in netns.NETNS_ETC.glob(f"{layout.tag}-*")]
    for line in _ip("-4", "-o", "addr", "show").splitlines():
        addr = line.split()[3].split("/")[0]
        if ipaddress.IPv4Address(addr) in layout.subnet:
            found.append(line.strip())
    return found


def _until(fn: Callable[[], bool], timeout: float, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if fn():
                return True
        time.sleep(step)
    return False


@pytest.fixture(scope="module")
def hosts_net() -> Iterator[MultiHostNetwork]:
    _require_root()
    loopback = Settings.from_env().data_dir
    net = MultiHostNetwork(_settings(loopback.with_name(loopback.name + "-multihost")))
    net.down()  # a run killed before its teardown left processes/namespaces recorded here: remove them
    shutil.rmtree(net.settings.data_dir, ignore_errors=True)
    assert not _leftovers(net.layout), f"left on the machine by something else: {_leftovers(net.layout)}"
    try:
        net.up()
    except NetworkError as exc:
        pytest.fail(f"the multi-host network cannot start: {exc}", pytrace=False)
    try:
        yield net
    finally:
        net.down()
        left = _leftovers(net.layout)
        assert not left, f"left behind after down: {left}"


def _invoke(net: MultiHostNetwork, key: str, *, endorsers: list[str], orderer: int = 0):  # type: ignore[no-untyped-def]
    """Invoke from BankA's host, retrying while Raft elects a new leader (at most 40 s)."""
    deadline = time.monotonic() + 40
    while True:
        res = net.invoke(
            CC, ["put", key, "x"], org="BankA", user="loan1", endorsers=endorsers, orderer=orderer
        )
        if res.ok or time.monotonic() > deadline:
            return res
        time.sleep(1)


def test_each_host_has_its_own_address_and_no_route_off_the_machine(hosts_net: MultiHostNetwork) -> None:
    lay = hosts_net.layout
    bench = ipaddress.IPv4Network("198.18.0.0/15")
    assert lay.subnet.subnet_of(bench)
    for host in lay.host_list:
        ns = lay.netns(host)
        addrs = [line.split()[3] for line in _ip("-n", ns, "-4", "-o", "addr", "show").splitlines()]
        assert sorted(addrs) == sorted(["127.0.0.1/8", f"{lay.address(host)}/{lay.subnet.prefixlen}"]), ns
        routes = _ip("-n", ns, "-4", "route", "show").strip().splitlines()
        assert routes == [f"{lay.subnet} dev eth0 proto kernel scope link src {lay.address(host)}"], routes
        off = subprocess.run(["ip", "-n", ns, "route", "get", "192.0.2.1"], capture_output=True, text=True)
        assert off.returncode != 0 and "unreachable" in off.stderr, off  # no way off the machine
        listening = subprocess.run(
            ["ip", "netns", "exec", ns, "ss", "-Htln"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        # (the chaincode server's gRPC listens IPv4-mapped: [::ffff:198.19.x.y] is the same address)
        local = {line.split()[3].rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:") for line in listening}
        assert local == {lay.address(host)}, (ns, local)  # every node binds its host's address only
    # in the machine's own namespace the subnet's addresses are on our bridge only
    for line in _ip("-4", "-o", "addr", "show").splitlines():
        dev, addr = line.split()[1], line.split()[3].split("/")[0]
        assert ipaddress.IPv4Address(addr) not in lay.subnet or dev == lay.bridge, line
    # the bridge has no uplink: only our veths are its ports
    ports = [
        line.split(":")[1].strip().split("@")[0]
        for line in _ip("-o", "link", "show", "master", lay.bridge).splitlines()
    ]
    assert sorted(ports) == sorted(lay.veth(h) for h in lay.host_list)
    # in the machine's own namespace, this network's processes (only Toxiproxy runs there) listen on
    # bridge addresses only: never on 127.0.0.1 or a wildcard address
    pids = {f"pid={p.pid}," for p in hosts_net.network.procs.load().values()}
    root = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line.split()[3].rsplit(":", 1)[0] for line in root if any(p in line for p in pids)]
    assert ours, "toxiproxy should listen on the bridge"
    assert all(ipaddress.IPv4Address(a) in lay.subnet for a in ours), ours


def test_a_host_reaches_other_nodes_by_their_names_only(hosts_net: MultiHostNetwork) -> None:
    """From BankA's host: orderer0 answers at its DNS name (through the link), not on the loopback."""
    s = hosts_net.network.settings
    port = s.ports.orderer(0)
    probe = (
        "import socket,sys\n"
        "try:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close(); print('open')\n"
        "except OSError as e: print('closed', e)\n"
    )

    def reach(host: str) -> str:
        argv = [*hosts_net.on_host("peer0.banka"), sys.executable, "-c", probe, host, str(port)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=True).stdout.strip()

    assert reach(fqdn("orderer0")) == "open"
    assert reach("127.0.0.1").startswith("closed")
    resolved = subprocess.run(
        [*hosts_net.on_host("peer0.banka"), "getent", "hosts", fqdn("orderer0")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert resolved == hosts_net.layout.link_address(hosts_net.layout.host_of("peer0.banka"))


def test_tls_names_match_the_host_names(hosts_net: MultiHostNetwork) -> None:
    s = hosts_net.network.settings
    targets = [(topology.orderer_name(i), s.ports.orderer(i), topology.orderer_org()) for i in range(3)]
    targets += [(topology.peer_name(o), s.ports.peer(o), o) for o in topology.peer_orgs()]
    for name, port, org in targets:
        ctx = ssl.create_default_context(cafile=str(ca.org_crypto(s, org).tls_ca))
        address = (s.hosts.dial(name), port)
        with (
            socket.create_connection(address, timeout=5) as sock,
            ctx.wrap_socket(sock, server_hostname=fqdn(name)) as tls,
        ):
            assert tls.version(), name
        with (
            socket.create_connection(address, timeout=5) as sock,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            ctx.wrap_socket(sock, server_hostname="elsewhere.mledger.local")


def test_a_transaction_commits_across_hosts(hosts_net: MultiHostNetwork) -> None:
    res = _invoke(hosts_net, f"mh-{uuid.uuid4().hex[:8]}", endorsers=["BankA", "Insurer"])
    assert res.ok, res.output
    heights = {o.key: hosts_net.peer_height(o.key) for o in topology.peer_orgs()}
    assert _until(lambda: len({hosts_net.peer_height(o.key) for o in topology.peer_orgs()}) == 1, 30), heights


def test_cut_orderer_commits_continue_then_it_catches_up(hosts_net: MultiHostNetwork) -> None:
    cut = hosts_net.cut("orderer1")
    assert any(n.endswith("->orderer1") for n in cut) and any(n.startswith("orderer1->") for n in cut)
    try:
        before = hosts_net.orderer_height(1)
        for i in range(3):
            res = _invoke(
                hosts_net,
                f"mh-cut-o-{uuid.uuid4().hex[:6]}-{i}",
                endorsers=["BankA", "BankB"],
                orderer=2 if i % 2 else 0,
            )
            assert res.ok, res.output
        lead = hosts_net.orderer_height(0)
        assert lead >= before + 3
        assert hosts_net.orderer_height(1) < lead, "the cut-off orderer received blocks"
    finally:
        hosts_net.heal("orderer1")
    assert _until(lambda: hosts_net.orderer_height(1) >= lead, 60), (hosts_net.orderer_height(1), lead)
    res = _invoke(hosts_net, f"mh-healed-{uuid.uuid4().hex[:6]}", endorsers=["BankA", "BankB"], orderer=1)
    assert res.ok, res.output


def test_cut_peer_catches_up_after_healing(hosts_net: MultiHostNetwork) -> None:
    hosts_net.cut("peer0.regulator")
    try:
        before = hosts_net.peer_height("regulator")
        for i in range(3):
            res = _invoke(hosts_net, f"mh-cut-p-{uuid.uuid4().hex[:6]}-{i}", endorsers=["BankA", "BankB"])
            assert res.ok, res.output
        assert hosts_net.peer_height("banka") >= before + 3
        assert hosts_net.peer_height("regulator") == before, "the cut-off peer received blocks"
    finally:
        hosts_net.heal("peer0.regulator")
    target = hosts_net.peer_height("banka")
    assert _until(lambda: hosts_net.peer_height("regulator") >= target, 90), (
        hosts_net.peer_height("regulator"),
        target,
    )


def test_netns_commands_cut_heal_and_delay_links(
    hosts_net: MultiHostNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from network.cli import app

    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(hosts_net.settings.data_dir))
    monkeypatch.delenv("MLEDGER_NETWORK_HOSTS", raising=False)
    proxy = hosts_net.connect_proxy()
    runner = CliRunner()
    try:
        res = runner.invoke(app, ["netns", "cut", "orderer2"])
        assert res.exit_code == 0, res.output
        links = proxy.proxies()
        cut = {n for n, p in links.items() if not p["enabled"]}
        assert cut == set(hosts_net.links_of("orderer2")) and f"cut {len(cut)} links" in res.output
        assert "banka->orderer2" in cut and "orderer2->orderer0" in cut and "banka->orderer1" not in cut
        assert runner.invoke(app, ["netns", "heal", "orderer2"]).exit_code == 0
        assert all(p["enabled"] for p in proxy.proxies().values())
        assert runner.invoke(app, ["netns", "delay", "50"]).exit_code == 0
        toxics = proxy.proxies()["banka->orderer0"]["toxics"]
        assert sorted((t["stream"], t["attributes"]["latency"]) for t in toxics) == [
            ("downstream", 50),
            ("upstream", 50),
        ]
        assert runner.invoke(app, ["netns", "delay", "0"]).exit_code == 0
        assert all(not p["toxics"] for p in proxy.proxies().values())
    finally:
        proxy.reset()


def test_namespaces_are_removed_even_when_the_body_fails(tmp_path: Path) -> None:
    _require_root()
    s = _settings(tmp_path / "net", Settings.from_env().base_port + 1000)
    layout = netns.Layout.for_settings(s)
    assert not _leftovers(layout)
    with pytest.raises(RuntimeError, match="boom"), netns.namespaces(s) as (spaces, planned):
        assert spaces.exists()
        assert planned.hosts.netns("peer0.banka") == layout.netns(layout.host_of("peer0.banka"))
        assert _leftovers(layout)
        raise RuntimeError("boom")
    assert not _leftovers(layout), _leftovers(layout)


def test_a_failed_up_removes_its_namespaces(tmp_path: Path) -> None:
    _require_root()
    s = replace(_settings(tmp_path / "net", Settings.from_env().base_port + 1000), bin_dir=tmp_path / "nobin")
    net = MultiHostNetwork(s)
    assert not _leftovers(net.layout)
    with pytest.raises(NetworkError, match="toxiproxy"):  # the namespaces exist by then; no binary
        net.up()
    assert not _leftovers(net.layout), _leftovers(net.layout)
