"""One Linux network namespace per host: the native network spread over private hosts on this machine.

Each org host (and each orderer node, and the chaincode service) gets a network namespace with its own
address on a bridge this module creates; the namespace's /etc/hosts (`/etc/netns/<ns>/hosts`, which
`ip netns exec` mounts over /etc/hosts) names every node, so nodes reach each other only by those
addresses and DNS names, and the TLS certificates carry them as SANs. With `links="proxy"` every
hostname a host resolves for an orderer or peer on another host points at a Toxiproxy link address on
the bridge (see network.toxiproxy), so the links that carry consensus, gossip, block delivery and
endorsement can be cut or slowed per source and destination. CAs (reached by operators) and chaincode
servers are dialled directly: a deployment runs each org's chaincode servers beside its peer (see the
compose bundles), so peer-to-chaincode traffic never crosses a WAN link and is not delayed here.

Safety: addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking, never routed) and exist
only on the bridge and inside the namespaces made here; namespaces get no default route and the bridge
no uplink, so nothing is routed off the machine. Everything created is recorded in a state file before
it is created, and `destroy()` (also `python -m network netns down`) removes exactly what it lists.
Needs root (CAP_NET_ADMIN) and `ip` (iproute2).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from network import chaincode, orgset, topology
from network.errors import NetworkError
from network.hosts import HostPlan, Placement, node_fqdn
from network.settings import Settings
from network.topology import Org
from network.toxiproxy import Link

log = logging.getLogger(__name__)

NETNS_ETC = Path("/etc/netns")
STATE_NAME = "netns-state.json"


@dataclass(frozen=True)
class Host:
    """One machine of the deployment: its namespace, address and the nodes it runs."""

    key: str
    index: int
    nodes: tuple[str, ...]


def hosts(ordering: str = topology.RAFT, orgs: Sequence[Org] = topology.ORGS) -> list[Host]:
    """The hosts of the topology: one per application org of `orgs` (the network's org set, added orgs
    too), one per orderer node under Raft (under BFT each org's orderer runs on its org's host and the
    Orderer org's CA alone on one), one for the chaincode servers and one for the document store (kubo)."""
    out: list[Host] = []
    oo = topology.orderer_org()
    for o in orgs:
        if o.orderer_org:
            continue
        nodes = [topology.ca_name(o)] + ([topology.peer_name(o)] if o.peer else [])
        nodes += [topology.orderer_name(i) for i in topology.orderers_of(o, ordering)]
        out.append(Host(o.key, len(out), tuple(nodes)))
    if ordering == topology.BFT:
        out.append(Host(oo.key, len(out), (topology.ca_name(oo),)))
    else:
        for i in range(topology.ORDERER_COUNT):
            nodes = ([topology.ca_name(oo)] if i == 0 else []) + [topology.orderer_name(i)]
            out.append(Host(topology.orderer_name(i), len(out), tuple(nodes)))
    out.append(Host("chaincode", len(out), tuple(s.server_name() for s in chaincode.load_specs())))
    out.append(Host("kubo", len(out), ("kubo",)))
    return out


def link_port(settings: Settings, node: str) -> int | None:
    """The port other hosts' nodes dial on `node` through a link (orderer and peer listen ports); None for
    nodes dialled directly (CAs, chaincode servers, kubo; see the module docstring)."""
    ports = settings.ports
    for i, (name, _) in enumerate(topology.orderers(settings.ordering)):
        if node == name:
            return ports.orderer(i)
    for o in topology.peer_orgs(orgset.orgs(settings)):
        if node == topology.peer_name(o):
            return ports.peer(o)
    return None


def proxied(node: str, ordering: str = topology.RAFT, orgs: Sequence[Org] = topology.ORGS) -> bool:
    """Whether other hosts reach `node` through a Toxiproxy link (orderers and peers)."""
    orderers = {name for name, _ in topology.orderers(ordering)}
    return node in orderers or node in {topology.peer_name(o) for o in topology.peer_orgs(orgs)}


@dataclass(frozen=True)
class Layout:
    """Names and addresses derived from the base port, so two networks on one machine never collide."""

    tag: str  # short prefix of every interface / namespace name, e.g. "ml30"
    subnet: ipaddress.IPv4Network
    links: str = "proxy"  # "proxy" (through Toxiproxy) or "direct"
    host_list: tuple[Host, ...] = field(default_factory=lambda: tuple(hosts()))
    ordering: str = topology.RAFT
    orgs: tuple[Org, ...] = topology.ORGS

    @classmethod
    def for_settings(cls, settings: Settings, links: str = "proxy") -> Layout:
        """The layout of the network `settings` names: its ordering profile and org set (network.orgset)."""
        n = (settings.base_port // 1000) % 256
        subnet = ipaddress.IPv4Network(os.environ.get("MLEDGER_NETNS_SUBNET", f"198.19.{n}.0/24"))
        if not subnet.subnet_of(ipaddress.IPv4Network("198.18.0.0/15")):
            raise NetworkError(f"MLEDGER_NETNS_SUBNET={subnet} is outside 198.18.0.0/15 (benchmark range)")
        orgs = orgset.orgs(settings)
        return cls(f"ml{n}", subnet, links, tuple(hosts(settings.ordering, orgs)), settings.ordering, orgs)

    def fqdn(self, node: str) -> str:
        return node_fqdn(node, self.orgs, self.ordering)

    @property
    def bridge(self) -> str:
        return f"{self.tag}br"

    @property
    def bridge_address(self) -> str:
        return str(self.subnet.network_address + 1)

    def netns(self, host: Host) -> str:
        return f"{self.tag}-{host.key}"

    def veth(self, host: Host) -> str:
        return f"{self.tag}v{host.index}"

    def address(self, host: Host) -> str:
        return str(self.subnet.network_address + 10 + host.index)

    def link_address(self, host: Host) -> str:
        """Where `host` reaches other hosts' nodes through Toxiproxy (an address on the bridge)."""
        return str(self.subnet.network_address + 110 + host.index)

    def host_of(self, node: str) -> Host:
        for h in self.host_list:
            if node in h.nodes:
                return h
        raise KeyError(f"node {node!r} is placed on no host")

    def plan(self) -> HostPlan:
        nodes = {}
        for h in self.host_list:
            for n in h.nodes:
                addr = self.address(h)
                nodes[n] = Placement(
                    bind=addr,
                    advertise=self.fqdn(n),
                    dial=addr,
                    host=h.key,
                    netns=self.netns(h),
                    sans=(self.fqdn(n), addr),
                )
        return HostPlan(nodes)

    def hosts_file(self, host: Host) -> str:
        """/etc/hosts of one namespace: own nodes at its own address, others at their address or link."""
        lines = ["127.0.0.1 localhost", f"{self.address(host)} {host.key}.{self.tag}.internal"]
        for h in self.host_list:
            for n in h.nodes:
                direct = h == host or self.links == "direct" or not proxied(n, self.ordering, self.orgs)
                addr = self.address(h) if direct else self.link_address(host)
                lines.append(f"{addr} {self.fqdn(n)}")
        return "\n".join(lines) + "\n"

    def links_for(self, settings: Settings) -> list[Link]:
        """Every proxied link: each host to each orderer and peer on another host."""
        out = []
        for src in self.host_list:
            for dst in self.host_list:
                if dst == src:
                    continue
                for n in dst.nodes:
                    port = link_port(settings, n)
                    if port is None:
                        continue
                    out.append(
                        Link(src.key, n, f"{self.link_address(src)}:{port}", f"{self.address(dst)}:{port}")
                    )
        return out


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    if check and res.returncode != 0:
        raise NetworkError(f"`{' '.join(argv)}` failed: {res.stderr.strip()}")
    return res


class Namespaces:
    """Create and remove the bridge, namespaces, veth pairs and hosts files of one Layout."""

    def __init__(self, layout: Layout, state_file: Path) -> None:
        self.layout = layout
        self.state_file = state_file

    # state: what exists because of us, written *before* each object is created
    def _state(self) -> dict[str, list[str]]:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {"bridges": [], "netns": [], "etc": [], "addresses": []}

    def _record(self, kind: str, value: str) -> None:
        st = self._state()
        if value not in st[kind]:
            st[kind].append(value)
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(st, indent=2))

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise NetworkError("network namespaces need root (CAP_NET_ADMIN)")
        if shutil.which("ip") is None:
            raise NetworkError("`ip` (iproute2) is not installed")
        routes = _ip("-4", "route", "show").stdout
        for line in routes.splitlines():
            dest = line.split()[0]
            if dest == "default":
                continue
            with contextlib.suppress(ValueError):
                net = ipaddress.IPv4Network(dest, strict=False)
                if net.overlaps(self.layout.subnet) and self.layout.bridge not in line:
                    raise NetworkError(f"{self.layout.subnet} overlaps an existing route: {line.strip()}")

    def exists(self) -> bool:
        lay = self.layout
        have = set(_ip("netns", "list").stdout.split())
        return _ip("link", "show", lay.bridge, check=False).returncode == 0 and all(
            lay.netns(h) in have for h in lay.host_list
        )

    def create(self) -> None:
        """Make (or complete) the bridge and one namespace per host; idempotent."""
        self._preflight()
        lay = self.layout
        if _ip("link", "show", lay.bridge, check=False).returncode != 0:
            self._record("bridges", lay.bridge)
            _ip("link", "add", lay.bridge, "type", "bridge")
        if lay.bridge_address not in _ip("-4", "addr", "show", "dev", lay.bridge).stdout:
            _ip("addr", "add", f"{lay.bridge_address}/{lay.subnet.prefixlen}", "dev", lay.bridge)
        existing = set(_ip("netns", "list").stdout.split())
        for h in lay.host_list:
            ns = lay.netns(h)
            if ns not in existing:
                self._record("netns", ns)
                _ip("netns", "add", ns)
            etc = NETNS_ETC / ns
            self._record("etc", str(etc))
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(lay.hosts_file(h))
            if _ip("link", "show", "eth0", netns=ns, check=False).returncode != 0:
                veth = lay.veth(h)
                _ip("link", "del", veth, check=False)
                _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
                _ip("link", "set", veth, "master", lay.bridge)
                _ip("link", "set", veth, "up")
                _ip("addr", "add", f"{lay.address(h)}/{lay.subnet.prefixlen}", "dev", "eth0", netns=ns)
                _ip("link", "set", "eth0", "up", netns=ns)
                _ip("link", "set", "lo", "up", netns=ns)
            if lay.links == "proxy":
                link = lay.link_address(h)
                if f"{link}/32" not in _ip("-4", "addr", "show", "dev", lay.bridge).stdout:
                    _ip("addr", "add", f"{link}/32", "dev", lay.bridge)
        _ip("link", "set", lay.bridge, "up")
        log.info("created bridge %s (%s) and %d namespaces", lay.bridge, lay.subnet, len(lay.host_list))

    def destroy(self) -> list[str]:
        """Remove what the state file lists (and only that); return what was removed."""
        st = self._state()
        removed: list[str] = []
        for ns in st["netns"]:
            res = _ip("netns", "pids", ns, check=False)
            for pid in res.stdout.split():  # processes still inside a namespace we made (ours)
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            if _ip("netns", "del", ns, check=False).returncode == 0:
                removed.append(f"netns {ns}")
        for br in st["bridges"]:
            if _ip("link", "del", br, check=False).returncode == 0:
                removed.append(f"bridge {br}")
        for etc in st["etc"]:
            p = Path(etc)
            if p.parent == NETNS_ETC and p.exists():
                shutil.rmtree(p)
                removed.append(str(p))
        self.state_file.unlink(missing_ok=True)
        log.info("removed %s", ", ".join(removed) or "nothing")
        return removed


def settings_for(base: Settings, layout: Layout) -> Settings:
    """The network settings with this layout's host plan (`up` records it in <data>/hosts.json)."""
    return replace(base, hosts=layout.plan())


@contextlib.contextmanager
def namespaces(settings: Settings, links: str = "proxy") -> Iterator[tuple[Namespaces, Settings]]:
    """Create the namespaces for `settings`, yield (namespaces, settings with the host plan), always
    remove them at the end, even when the body fails."""
    layout = Layout.for_settings(settings, links)
    ns = Namespaces(layout, settings.data_dir / STATE_NAME)
    try:
        ns.create()
        yield ns, settings_for(settings, layout)
    finally:
        ns.destroy()
