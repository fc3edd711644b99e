"""The consortium's topology: orgs, nodes, ports, channel and chaincodes, defined once.

Both the native network (network.manager) and docker-compose.yaml are derived from this module, so the
two cannot drift apart. Every port is an offset from one base port (MLEDGER_NETWORK_BASE_PORT) and binds
to 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHANNEL = "vehicles"
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
    """One organisation: its MSP, CA and (optionally) one peer."""

    key: str  # short name used in paths and CLI, e.g. "bankA"
    name: str  # e.g. "BankA"
    msp_id: str
    index: int  # port slot
    peer: bool = False
    endorsing: bool = False
    orderer_org: bool = False
    users: tuple[User, ...] = ()

    @property
    def domain(self) -> str:
        return f"{self.key.lower()}.mledger.local"


def _users(*extra: tuple[str, str]) -> tuple[User, ...]:
    base = [User("admin", "admin", admin=True), User("auditor1", "auditor")]
    return tuple(base + [User(n, r) for n, r in extra])


# a bank's loan officer, its model administrator (registers valuation model versions) and appraiser
_BANK_USERS = (("loan1", "loan_officer"), ("models1", "model_admin"), ("appraiser1", "appraiser"))

ORGS: tuple[Org, ...] = (
    Org("trafficauthority", "TrafficAuthority", "TrafficAuthorityMSP", 0, True, True,
        users=_users(("officer1", "registrar"))),
    Org("banka", "BankA", "BankAMSP", 1, True, True, users=_users(*_BANK_USERS)),
    Org("bankb", "BankB", "BankBMSP", 2, True, True, users=_users(*_BANK_USERS)),
    Org("insurer", "Insurer", "InsurerMSP", 3, True, True, users=_users(("underwriter1", "underwriter"))),
    Org("regulator", "Regulator", "RegulatorMSP", 4, True, False, users=_users(("regulator1", "regulator"))),
    Org("dealer", "Dealer", "DealerMSP", 5, False, False, users=_users(("dealer1", "dealer"))),
    Org("orderer", "Orderer", "OrdererMSP", 6, False, False, orderer_org=True, users=_users()),
)

ORDERER_COUNT = 3


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


def org(key_or_msp: str) -> Org:
    """Find an org by key, name or MSP id (case-insensitive)."""
    wanted = key_or_msp.lower()
    for o in ORGS:
        if wanted in (o.key, o.name.lower(), o.msp_id.lower()):
            return o
    raise KeyError(f"unknown org {key_or_msp!r}; known: {', '.join(o.name for o in ORGS)}")


def peer_orgs() -> list[Org]:
    return [o for o in ORGS if o.peer]


def orderer_org() -> Org:
    return next(o for o in ORGS if o.orderer_org)


def peer_name(o: Org) -> str:
    return f"peer0.{o.key}"


def orderer_name(i: int) -> str:
    return f"orderer{i}"


def ca_name(o: Org) -> str:
    return f"ca.{o.key}"


def nodes(ports: Ports) -> list[Node]:
    """Every node in start order: CAs, orderers, peers, kubo."""
    out: list[Node] = []
    for o in ORGS:
        out.append(Node(ca_name(o), "ca", o, {"listen": ports.ca(o), "operations": ports.ca_operations(o)}))
    oo = orderer_org()
    for i in range(ORDERER_COUNT):
        out.append(Node(orderer_name(i), "orderer", oo, {
            "listen": ports.orderer(i), "admin": ports.orderer_admin(i),
            "operations": ports.orderer_operations(i)}))
    for o in peer_orgs():
        out.append(Node(peer_name(o), "peer", o, {
            "listen": ports.peer(o), "chaincode": ports.peer_chaincode(o),
            "operations": ports.peer_operations(o)}))
    out.append(Node("kubo", "kubo", None, {
        "api": ports.kubo_api(), "gateway": ports.kubo_gateway(), "swarm": ports.kubo_swarm()}))
    return out
