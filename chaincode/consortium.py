"""The consortium, defined once: orgs, MSP ids, roles and who may hold them, demo users, policies.

Everything else derives from this module: the native network and its compose/Kubernetes renderings
(network/topology.py), the gateway's users and roles (app/users), the chaincode's access table
(chaincode/mortgage/access.py), the chaincode endorsement policy and private-data collections the network
commits (network/chaincodes.yaml, chaincode/mortgage/collections_config.json, both checked against it)
and the docs. It lives under chaincode/ because the deployed chaincode package must be self-contained
and its access table derives from it; it imports nothing but the standard library.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CHANNEL = "vehicles"


class OrgKind(StrEnum):
    """What an org does in the consortium; roles are granted per kind."""

    vehicle_office = "vehicle_office"
    bank = "bank"
    insurer = "insurer"
    regulator = "regulator"
    dealer = "dealer"
    orderer = "orderer"
    #: a manufacturer or distributor whose dealer whitelist makes a dealer eligible for floor-plan credit
    core_enterprise = "core_enterprise"


APPLICATION_KINDS = frozenset(OrgKind) - {OrgKind.orderer}


@dataclass(frozen=True, slots=True)
class RoleDef:
    """A fabric-ca ``role`` attribute value, the org kinds that may hold it and what it is for."""

    name: str
    meaning: str
    kinds: frozenset[OrgKind]
    read_only: bool = False  # refused by the gateway before any write reaches the ledger
    chaincode: bool = True  # a role the access table knows (the scanner only reads public QR status)


def _kinds(*kinds: OrgKind) -> frozenset[OrgKind]:
    return frozenset(kinds)


ROLES: tuple[RoleDef, ...] = (
    RoleDef(
        "registrar",
        "vehicle office officer: keeps the register, records liens",
        _kinds(OrgKind.vehicle_office),
    ),
    RoleDef(
        "loan_officer",
        "bank loan officer: requests, releases and assigns the bank's liens",
        _kinds(OrgKind.bank),
    ),
    RoleDef("underwriter", "insurer underwriter: policies, lapses and claims", _kinds(OrgKind.insurer)),
    RoleDef("dealer", "dealer or repair shop: maintenance and odometer records", _kinds(OrgKind.dealer)),
    RoleDef(
        "regulator", "regulator: reads everything, writes nothing", _kinds(OrgKind.regulator), read_only=True
    ),
    RoleDef(
        "auditor", "auditor in any org: reads everything including history", APPLICATION_KINDS, read_only=True
    ),
    RoleDef(
        "admin",
        "org administrator: its org's users; the vehicle office's also sets the chaincode configuration",
        APPLICATION_KINDS,
    ),
    RoleDef(
        "scanner",
        "the gateway's service identity for anonymous QR scans: public status only",
        APPLICATION_KINDS,
        read_only=True,
        chaincode=False,
    ),
    RoleDef(
        "model_admin",
        "bank model administrator: trains, evaluates and promotes valuation and scorecard models",
        _kinds(OrgKind.bank),
    ),
    RoleDef(
        "appraiser", "bank appraiser: manual valuations backed by an anchored appraisal", _kinds(OrgKind.bank)
    ),
    RoleDef(
        "field_auditor",
        "bank field auditor: walks a dealer's lot and records the floor check (scans of financed cars)",
        _kinds(OrgKind.bank),
    ),
    RoleDef(
        "core_enterprise",
        "core-enterprise officer (manufacturer or distributor): keeps its dealer whitelist",
        _kinds(OrgKind.core_enterprise),
    ),
    RoleDef(
        "owner",
        "vehicle owner enrolled by the vehicle office (pseudonymous id): signs their own consents, reads "
        "their own vehicles and personal data",
        _kinds(OrgKind.vehicle_office),
    ),
)

ROLE_NAMES: tuple[str, ...] = tuple(r.name for r in ROLES)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A standard user of an org: enrolled by the network's CA at `up` (``network=True``) and created
    with a well-known password by the gateway in demo mode."""

    name: str
    role: str
    network: bool = True  # False: a gateway demo user only, not enrolled by the network


@dataclass(frozen=True, slots=True)
class Org:
    """One organisation of the consortium."""

    key: str  # lower-case short name used in paths, node names, CLI and model names: "banka"
    name: str  # display name: "BankA"
    msp_id: str
    kind: OrgKind
    peer: bool = False  # runs a peer (gateway endpoint for its clients)
    endorsing: bool = False  # its peer endorses chaincode transactions
    users: tuple[DemoUser, ...] = ()

    @property
    def roles(self) -> frozenset[str]:
        """The roles a user of this org may hold."""
        return frozenset(r.name for r in ROLES if self.kind in r.kinds)

    @property
    def network_users(self) -> tuple[DemoUser, ...]:
        """The users the network's CA enrols at `up`."""
        return tuple(u for u in self.users if u.network)


def _users(*extra: tuple[str, str], gateway_only: tuple[tuple[str, str], ...] = ()) -> tuple[DemoUser, ...]:
    base = [DemoUser("admin", "admin"), DemoUser("auditor1", "auditor")]
    return tuple(
        base + [DemoUser(n, r) for n, r in extra] + [DemoUser(n, r, network=False) for n, r in gateway_only]
    )


# a bank's loan officer, its model administrator (registers valuation model versions), appraiser and
# field auditor (floor checks);
# the gateway's demo mode adds a second model administrator
_BANK_USERS = (
    ("loan1", "loan_officer"),
    ("models1", "model_admin"),
    ("appraiser1", "appraiser"),
    ("checker1", "field_auditor"),
)
_BANK_DEMO = (("modeladmin1", "model_admin"),)

# The order is part of the definition: it fixes each org's port slot on the native network
# (network/topology.py), so a new org is appended, never inserted.
ORGS: tuple[Org, ...] = (
    Org("trafficauthority", "TrafficAuthority", "TrafficAuthorityMSP", OrgKind.vehicle_office,
        peer=True, endorsing=True, users=_users(("officer1", "registrar"))),
    Org("banka", "BankA", "BankAMSP", OrgKind.bank,
        peer=True, endorsing=True, users=_users(*_BANK_USERS, gateway_only=_BANK_DEMO)),
    Org("bankb", "BankB", "BankBMSP", OrgKind.bank,
        peer=True, endorsing=True, users=_users(*_BANK_USERS, gateway_only=_BANK_DEMO)),
    Org("insurer", "Insurer", "InsurerMSP", OrgKind.insurer,
        peer=True, endorsing=True, users=_users(("underwriter1", "underwriter"))),
    Org("regulator", "Regulator", "RegulatorMSP", OrgKind.regulator,
        peer=True, endorsing=False, users=_users(("regulator1", "regulator"))),  # commits, never endorses
    Org("dealer", "Dealer", "DealerMSP", OrgKind.dealer,
        peer=False, endorsing=False, users=_users(("dealer1", "dealer"))),  # client-only org
    Org("orderer", "Orderer", "OrdererMSP", OrgKind.orderer, users=_users()),
    Org("manufacturer", "Manufacturer", "ManufacturerMSP", OrgKind.core_enterprise,
        peer=False, endorsing=False, users=_users(("oem1", "core_enterprise"))),  # client-only org
)  # fmt: skip

# Banks admitted to a running network after it was set up (`mledger network org add`, whose topology file
# is the record): the network passes them to its chaincode servers as JSON ([{key, name, msp_id, kind}])
# in this variable, so the access table grants their members a bank's roles. A process without it (the
# network tooling, the gateway, the tests) sees the founding consortium only.
ADDED_ORGS_ENV = "MLEDGER_ADDED_ORGS"
ADDABLE_KINDS = frozenset({OrgKind.bank})  # kinds the consortium has several of; one vehicle office, ...


def _added(raw: str, founding: tuple[Org, ...]) -> tuple[Org, ...]:
    out = []
    for d in json.loads(raw) if raw else []:
        kind = OrgKind(d["kind"])
        if kind not in ADDABLE_KINDS:
            raise ValueError(
                f"{ADDED_ORGS_ENV}: {d['name']} is of kind {kind.value}; "
                f"only {', '.join(sorted(ADDABLE_KINDS))} can be added"
            )
        like = next(o for o in founding if o.kind == kind)  # same peer, endorsement and users as its peers
        out.append(Org(d["key"], d["name"], d["msp_id"], kind, like.peer, like.endorsing, like.users))
    return tuple(out)


ORGS = ORGS + _added(os.environ.get(ADDED_ORGS_ENV, ""), ORGS)

# The gateway's service identity for anonymous QR scans (role `scanner`), enrolled in the serving org.
SCANNER_USER = "qr-scanner"
SCANNER_ROLE = "scanner"
# The vehicle office gateway's service identity for the owner's pages (role `registrar`): it reads an owner's
# account, vehicles, liens and personal data for a signed-in owner and carries the owner's signatures. The
# owner's own key never reaches a gateway.
OWNER_DESK_USER = "owner-desk"
OWNER_DESK_ROLE = "registrar"


def org(key_or_msp: str) -> Org:
    """Find an org by key, name or MSP id (case-insensitive); KeyError naming the known orgs."""
    wanted = key_or_msp.lower()
    for o in ORGS:
        if wanted in (o.key, o.name.lower(), o.msp_id.lower()):
            return o
    raise KeyError(f"unknown org {key_or_msp!r}; known: {', '.join(o.name for o in ORGS)}")


def orgs_of_kind(kind: OrgKind) -> tuple[Org, ...]:
    return tuple(o for o in ORGS if o.kind == kind)


def msp_ids(kind: OrgKind) -> frozenset[str]:
    return frozenset(o.msp_id for o in orgs_of_kind(kind))


def the_org(kind: OrgKind) -> Org:
    """The one org of a kind the consortium has exactly one of (vehicle office, regulator, ...)."""
    (only,) = orgs_of_kind(kind)
    return only


APPLICATION_ORGS: tuple[Org, ...] = tuple(o for o in ORGS if o.kind != OrgKind.orderer)
ENDORSING_ORGS: tuple[Org, ...] = tuple(o for o in ORGS if o.endorsing)
VEHICLE_OFFICE = the_org(OrgKind.vehicle_office)

# Lookups without a caller (transaction status, block of a tx id through qscc) are signed by this user;
# orgs without a peer (the dealer) reach the network through the vehicle office's peer.
SERVICE_IDENTITY: tuple[str, str] = (VEHICLE_OFFICE.msp_id, "auditor1")
GATEWAY_ORG = VEHICLE_OFFICE.msp_id


def _principals(orgs: tuple[Org, ...], role: str) -> str:
    return ",".join(f"'{o.msp_id}.{role}'" for o in orgs)


# Chaincode endorsement: two of the endorsing orgs' peers (the regulator's peer commits, never endorses).
ENDORSEMENT_QUORUM = 2
ENDORSEMENT_POLICY = f"OutOf({ENDORSEMENT_QUORUM},{_principals(ENDORSING_ORGS, 'peer')})"


@dataclass(frozen=True, slots=True)
class Collection:
    """A private-data collection: which orgs hold the data and how it is spread."""

    name: str
    members: tuple[Org, ...]
    meaning: str
    required_peer_count: int = 1
    max_peer_count: int = 3
    block_to_live: int = 0

    @property
    def policy(self) -> str:
        return f"OR({_principals(self.members, 'member')})"

    def fabric(self) -> dict[str, Any]:
        """The entry of Fabric's collections_config.json."""
        return {
            "name": self.name,
            "policy": self.policy,
            "requiredPeerCount": self.required_peer_count,
            "maxPeerCount": self.max_peer_count,
            "blockToLive": self.block_to_live,
            "memberOnlyRead": True,
            "memberOnlyWrite": True,
        }


# Owners' personal data: the vehicle office, the banks and the regulator hold it; public state keeps only
# a salted hash.
COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "ownerPrivate",
        (VEHICLE_OFFICE, *orgs_of_kind(OrgKind.bank), the_org(OrgKind.regulator)),
        "owners' personal data",
    ),
)


def collections_config() -> list[dict[str, Any]]:
    """The Mortgage-Asset chaincode's collections_config.json, as Fabric reads it."""
    return [c.fabric() for c in COLLECTIONS]


def render_markdown() -> str:
    """The consortium section of docs/network.md (orgs, roles, users, policies), generated from here."""
    lines = [
        "| org | MSP id | kind | peer | endorses | standard users (role) |",
        "|---|---|---|---|---|---|",
    ]
    for o in ORGS:
        users = ", ".join(f"{u.name} ({u.role})" + ("" if u.network else " ‡") for u in o.users)
        lines.append(
            f"| {o.name} | `{o.msp_id}` | {o.kind.value} | {'yes' if o.peer else 'no'} | "
            f"{'yes' if o.endorsing else 'no'} | {users} |"
        )
    lines += ["", "‡ a gateway demo user only (demo mode), not enrolled by the network.", ""]
    lines += ["| role | org kinds | read-only | meaning |", "|---|---|---|---|"]
    for r in ROLES:
        kinds = "all application orgs" if r.kinds == APPLICATION_KINDS else ", ".join(sorted(r.kinds))
        lines.append(f"| `{r.name}` | {kinds} | {'yes' if r.read_only else 'no'} | {r.meaning} |")
    lines += ["", f"- channel: `{CHANNEL}`", f"- endorsement policy: `{ENDORSEMENT_POLICY}`"]
    for c in COLLECTIONS:
        lines.append(f"- private-data collection `{c.name}` ({c.meaning}): `{c.policy}`")
    lines.append(f"- QR scanner service user: `{SCANNER_USER}` (role `{SCANNER_ROLE}`) in the serving org")
    lines.append(
        f"- service identity for lookups without a caller: `{SERVICE_IDENTITY[1]}@{SERVICE_IDENTITY[0]}`"
    )
    return "\n".join(lines) + "\n"
