"""Roles (the fabric-ca ``role`` attribute) and which org may hold which role, from chaincode.consortium.

:class:`Role` is the typed view of the consortium's role names (checked against them at import, so the
two cannot drift); which org may hold a role, the read-only roles, the standard users and the scanner
user all come from the one consortium definition.
"""

from __future__ import annotations

from enum import StrEnum

from chaincode import consortium


class Role(StrEnum):
    registrar = "registrar"
    loan_officer = "loan_officer"
    underwriter = "underwriter"
    dealer = "dealer"
    regulator = "regulator"
    auditor = "auditor"
    admin = "admin"
    scanner = "scanner"
    model_admin = "model_admin"
    appraiser = "appraiser"
    field_auditor = "field_auditor"
    core_enterprise = "core_enterprise"
    owner = "owner"


if tuple(Role) != consortium.ROLE_NAMES:  # pragma: no cover - a drift is a programming error
    raise ImportError(
        f"app.users.roles.Role {list(Role)} differs from the consortium's {consortium.ROLE_NAMES}"
    )

# Which roles make sense in which org; the chaincode decides access, this only stops typos.
ROLES_BY_ORG: dict[str, frozenset[Role]] = {
    o.msp_id: frozenset(Role(r) for r in o.roles) for o in consortium.APPLICATION_ORGS
}

# Roles that never write, whatever the org: refused by the gateway before the ledger is reached.
READ_ONLY_ROLES: frozenset[Role] = frozenset(Role(r.name) for r in consortium.ROLES if r.read_only)

SCANNER_USER = consortium.SCANNER_USER

# The lenders (the orgs of kind bank): they alone hold loans, valuation models and scorecards.
BANKS: tuple[str, ...] = tuple(o.msp_id for o in consortium.orgs_of_kind(consortium.OrgKind.bank))

# The users the network enrols in each org (name, role), as in the shared conventions.
STANDARD_USERS: dict[str, list[tuple[str, Role]]] = {
    o.msp_id: [(u.name, Role(u.role)) for u in o.network_users] for o in consortium.APPLICATION_ORGS
}


def org_key(msp_id: str) -> str:
    """The consortium's short key of an org ("banka" for BankAMSP): used in model names and paths."""
    return consortium.org(msp_id).key


def check_role_for_org(msp_id: str, role: Role) -> None:
    """Raise ValueError naming the org and the roles it may hold."""
    allowed = ROLES_BY_ORG.get(msp_id)
    if allowed is None:
        raise ValueError(f"msp_id: unknown org {msp_id!r}")
    if role not in allowed:
        raise ValueError(f"role: {role.value!r} is not a role of {msp_id} (allowed: {sorted(allowed)})")
