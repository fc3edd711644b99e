"""The network's topology: nodes, ports, channel and chaincodes of the consortium in chaincode.consortium.

The orgs, MSP ids, peers and enrolled users come from the one consortium definition; this module adds
what only the network needs (a port slot per org, node names, the orderer count). Both the native
network (network.manager) and docker-compose.yaml / the per-org bundles / Kubernetes are derived from
it, so they cannot drift apart. Every port is an offset from one base port (MLEDGER_NETWORK_BASE_PORT)
and binds to 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chaincode import consortium
from chaincode.consortium import OrgKind

CHANNEL = consortium.CHANNEL
HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 27000


@dataclass(frozen=True)
class User:
    """A client identity enrolled from the org's CA, with its fabric-ca `role` attribute."""

    name: str
    role: str
    admin: bool = False


@dataclass(frozen=True)
class Org:
    """One organisation as the network runs it: its MSP, CA and (optionally) one peer."""

    key: str  # short name used in paths and CLI, e.g. "banka"
    name: str  # e.g. "BankA"
    msp_id: str
    index: int  # port slot
    peer: bool = False
    endorsing: bool = False
    orderer_org: bool = False
    users: tuple[User, ...] = ()
    kind: str = ""  # the consortium's OrgKind value (bank, insurer, ...)

    @property
    def domain(self) -> str:
        return f"{self.key.lower()}.mledger.local"

    @classmethod
    def of(cls, org: consortium.Org, index: int) -> Org:
        """The network view of a consortium org; its users are the ones the network's CA enrols."""
        users = tuple(User(u.name, u.role, admin=u.role == "admin") for u in org.network_users)
        orderer = org.kind == OrgKind.orderer
        return cls(
            org.key, org.name, org.msp_id, index, org.peer, org.endorsing, orderer, users, org.kind.value
        )


ORGS: tuple[Org, ...] = tuple(Org.of(o, i) for i, o in enumerate(consortium.ORGS))

ORDERER_COUNT = 3  # Raft: three orderers, all run by the ordering org

# Ordering profiles: "raft" (etcdraft, the Orderer org runs three orderers) and "bft" (SmartBFT, Fabric 3
# only): four orderers, one run by each endorsing org (TrafficAuthority, BankA, BankB, Insurer) with an
# identity from that org's own CA, so ordering tolerates one faulty orderer and no org controls it.
RAFT = "raft"
BFT = "bft"
ORDERINGS = (RAFT, BFT)


@dataclass(frozen=True)
class Ports:
    """Port plan: every port is base + a fixed offset, so one base port moves the whole network."""

    base: int = DEFAULT_BASE_PORT

    def ca(self, org: Org) -> int:
        return self.base + org.index

    def ca_operations(self, org: Org) -> int:
        return self.base + 10 + org.index

    def orderer(self, i: int) -> int:
        return self.base + 100 + 10 * i

    def orderer_admin(self, i: int) -> int:
        return self.base + 101 + 10 * i

    def orderer_operations(self, i: int) -> int:
        return self.base + 102 + 10 * i

    def peer(self, org: Org) -> int:
        return self.base + 200 + 10 * org.index

    def peer_chaincode(self, org: Org) -> int:
        return self.base + 201 + 10 * org.index

    def peer_operations(self, org: Org) -> int:
        return self.base + 202 + 10 * org.index

    def kubo_api(self) -> int:
        return self.base + 300

    def kubo_gateway(self) -> int:
        return self.base + 301

    def kubo_swarm(self) -> int:
        return self.base + 302

    def chaincode(self, slot: int) -> int:
        return self.base + 400 + slot


@dataclass(frozen=True)
class Node:
    """A long-running process of the network."""

    name: str  # e.g. "peer0.banka", "orderer1", "ca.banka", "kubo", "cc.mortgage"
    kind: str  # ca | orderer | peer | kubo | chaincode
    org: Org | None
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def main_port(self) -> int:
        return next(iter(self.ports.values()))

    @property
    def operations_url(self) -> str | None:
        port = self.ports.get("operations")
        return f"http://{HOST}:{port}" if port else None


def org(key_or_msp: str, orgs: Sequence[Org] = ORGS) -> Org:
    """Find an org by key, name or MSP id (case-insensitive) among `orgs` (a running network's set:
    network.orgset.orgs; the consortium's by default)."""
    wanted = key_or_msp.lower()
    for o in orgs:
        if wanted in (o.key, o.name.lower(), o.msp_id.lower()):
            return o
    raise KeyError(f"unknown org {key_or_msp!r}; known: {', '.join(o.name for o in orgs)}")


def peer_orgs(orgs: Sequence[Org] = ORGS) -> list[Org]:
    return [o for o in orgs if o.peer]


def orderer_org() -> Org:
    return next(o for o in ORGS if o.orderer_org)


def bft_orderer_orgs() -> list[Org]:
    """The orgs that each run one BFT orderer: the endorsing orgs (3f+1 = 4 tolerates f = 1)."""
    return [o for o in ORGS if o.endorsing]


def orderers(ordering: str = RAFT) -> list[tuple[str, Org]]:
    """(node name, org running it) of every orderer; orderer i always has port slot i."""
    if ordering == BFT:
        return [(orderer_name(i), o) for i, o in enumerate(bft_orderer_orgs())]
    if ordering != RAFT:
        raise ValueError(f"ordering: {ordering!r} is not one of {', '.join(ORDERINGS)}")
    oo = orderer_org()
    return [(orderer_name(i), oo) for i in range(ORDERER_COUNT)]


def orderer_org_of(i: int, ordering: str = RAFT) -> Org:
    """The org that runs orderer i (its MSP, CA and TLS CA)."""
    return orderers(ordering)[i][1]


def orderers_of(org: Org, ordering: str = RAFT) -> list[int]:
    """Indexes of the orderers `org` runs."""
    return [i for i, (_, o) in enumerate(orderers(ordering)) if o == org]


def peer_name(o: Org) -> str:
    return f"peer0.{o.key}"


def orderer_name(i: int) -> str:
    return f"orderer{i}"


def ca_name(o: Org) -> str:
    return f"ca.{o.key}"


def nodes(ports: Ports, ordering: str = RAFT, orgs: Sequence[Org] = ORGS) -> list[Node]:
    """Every node of the org set `orgs` in start order: CAs, orderers, peers, kubo."""
    out: list[Node] = []
    for o in orgs:
        out.append(Node(ca_name(o), "ca", o, {"listen": ports.ca(o), "operations": ports.ca_operations(o)}))
    for i, (name, oo) in enumerate(orderers(ordering)):
        out.append(
            Node(
                name,
                "orderer",
                oo,
                {
                    "listen": ports.orderer(i),
                    "admin": ports.orderer_admin(i),
                    "operations": ports.orderer_operations(i),
                },
            )
        )
    for o in peer_orgs(orgs):
        out.append(
            Node(
                peer_name(o),
                "peer",
                o,
                {
                    "listen": ports.peer(o),
                    "chaincode": ports.peer_chaincode(o),
                    "operations": ports.peer_operations(o),
                },
            )
        )
    out.append(
        Node(
            "kubo",
            "kubo",
            None,
            {"api": ports.kubo_api(), "gateway": ports.kubo_gateway(), "swarm": ports.kubo_swarm()},
        )
    )
    return out
