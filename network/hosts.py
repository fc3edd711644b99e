"""Where each node runs: the address it binds, the name other nodes dial, the name clients dial.

The native network defaults to one loopback host (every node binds and is reached at 127.0.0.1), the
fast mode for development and CI. A *host plan* places nodes on separate hosts instead: each org (and
each orderer node) gets its own host with its own address and DNS names, as on a real multi-host
deployment. The plan is a JSON file named by MLEDGER_NETWORK_HOSTS; `network.netns` writes one for a
network made of Linux network namespaces, and `network.render` uses the same names for the compose
bundles and Kubernetes manifests. Everything that puts an address into a config, a certificate or a
command asks the plan, so the loopback mode and the multi-host mode run the same code.

Three addresses per node, because they differ on a real deployment:
- bind: the local address the process listens on (its host's address);
- advertise: the DNS name written into the channel config, gossip endpoints and chaincode packages,
  resolved by the other hosts (and matched against TLS SANs);
- dial: what an operator's client (CLI tools, tests, health checks) on the admin host connects to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from network import topology
from network.errors import NetworkError

LOOPBACK = topology.HOST
UNSPECIFIED = {"0.0.0.0", "::"}  # "every address of this host": a bind address, never a name to certify
DOMAIN = "mledger.local"
HOSTS_ENV = "MLEDGER_NETWORK_HOSTS"


def fqdn(node: str, orgs: Sequence[topology.Org] = topology.ORGS) -> str:
    """The DNS name of a node on a multi-host deployment, e.g. peer0.banka.mledger.local.

    Names ending in an org key (peer0.banka, ca.banka, gateway.banka, cc-mortgage.banka) are already
    org-scoped; orderers live in the orderer org's domain; shared services (cc.mortgage) become
    `cc-mortgage.mledger.local`. `orgs` is the network's org set (network.orgset: added orgs too).
    """
    if node.startswith("orderer") and node.removeprefix("orderer").isdigit():
        return f"{node}.{topology.orderer_org().domain}"
    if node.rsplit(".", 1)[-1] in {o.key for o in orgs} and "." in node:
        return f"{node}.{DOMAIN}"
    return f"{node.replace('.', '-')}.{DOMAIN}"


def node_fqdn(node: str, orgs: Sequence[topology.Org] = topology.ORGS, ordering: str = topology.RAFT) -> str:
    """fqdn() for a network of the org set `orgs` and ordering profile `ordering`: an orderer is named in
    the domain of the org running it (the Orderer org's under Raft, e.g. orderer1.banka.mledger.local
    under BFT)."""
    for name, org in topology.orderers(ordering):
        if node == name:
            return f"{node}.{org.domain}"
    return fqdn(node, orgs)


@dataclass(frozen=True)
class Placement:
    """One node's addresses (see the module docstring) and, on this machine, its network namespace."""

    bind: str = LOOPBACK
    advertise: str = LOOPBACK
    dial: str = LOOPBACK
    host: str = "localhost"  # the host (org machine) the node runs on
    netns: str | None = None
    sans: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostPlan:
    """Placement of every node; nodes absent from the plan run on the loopback host."""

    nodes: Mapping[str, Placement] = field(default_factory=dict)

    def placement(self, node: str) -> Placement:
        return self.nodes.get(node) or Placement(sans=(LOOPBACK, "localhost", node))

    def bind(self, node: str) -> str:
        return self.placement(node).bind

    def advertise(self, node: str) -> str:
        return self.placement(node).advertise

    def dial(self, node: str) -> str:
        return self.placement(node).dial

    def netns(self, node: str) -> str | None:
        return self.placement(node).netns

    def sans(self, node: str) -> list[str]:
        """TLS subject alternative names for a node's certificate: every name it is reached by."""
        p = self.placement(node)
        names = [*p.sans, p.bind, p.advertise, p.dial, node]
        return list(dict.fromkeys(n for n in names if n and n not in UNSPECIFIED))

    @property
    def loopback(self) -> bool:
        return not self.nodes

    def to_json(self) -> str:
        return json.dumps({"nodes": {k: asdict(v) for k, v in self.nodes.items()}}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HostPlan:
        raw = json.loads(text)
        nodes = {}
        for name, p in raw.get("nodes", {}).items():
            p = dict(p)
            p["sans"] = tuple(p.get("sans", ()))
            nodes[name] = Placement(**p)
        return cls(nodes)

    @classmethod
    def from_env(cls) -> HostPlan:
        """The plan named by MLEDGER_NETWORK_HOSTS, else the loopback plan."""
        path = os.environ.get(HOSTS_ENV)
        if not path:
            return cls()
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"{HOSTS_ENV}={path}: host plan file does not exist")
        return cls.from_json(p.read_text())


LOOPBACK_PLAN = HostPlan()
PLAN_FILE = "hosts.json"


def bind_data_dir(data_dir: Path, plan: HostPlan) -> None:
    """Record in <data>/hosts.json the plan a data dir's certificates and channel are made for, and refuse
    to run it under another plan: its TLS names and channel endpoints would not match (a data dir made
    before plans were recorded is a loopback one)."""
    path = data_dir / PLAN_FILE
    if path.exists():
        recorded = HostPlan.from_json(path.read_text())
    elif (data_dir / "crypto").exists():
        recorded = LOOPBACK_PLAN
    else:
        recorded = plan
    if recorded != plan:
        kind = "loopback (127.0.0.1)" if recorded.loopback else "multi-host"
        raise NetworkError(
            f"{data_dir} holds a {kind} network: its certificates and channel name other addresses than "
            "this host plan; use another MLEDGER_NETWORK_DIR, or `down` and `clean` it first"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(plan.to_json())
