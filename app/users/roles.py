"""Roles (the fabric-ca ``role`` attribute) and which org may hold which role."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    registrar = "registrar"
    loan_officer = "loan_officer"
    underwriter = "underwriter"
    dealer = "dealer"
    regulator = "regulator"
    auditor = "auditor"
    admin = "admin"
    scanner = "scanner"  # the gateway's service identity for anonymous QR scans: public status only
    # A bank's model administrator: the only role that trains, evaluates and promotes valuation and
    # scorecard model versions (a loan officer uses the promoted version, never chooses it).
    model_admin = "model_admin"
    # A bank's appraiser: records manual valuations, each backed by an anchored appraisal.
    appraiser = "appraiser"


# Which roles make sense in which org; the chaincode decides access, this only stops typos.
ROLES_BY_ORG: dict[str, frozenset[Role]] = {
    "TrafficAuthorityMSP": frozenset({Role.registrar, Role.auditor, Role.admin}),
    "BankAMSP": frozenset({Role.loan_officer, Role.model_admin, Role.appraiser, Role.auditor, Role.admin}),
    "BankBMSP": frozenset({Role.loan_officer, Role.model_admin, Role.appraiser, Role.auditor, Role.admin}),
    "InsurerMSP": frozenset({Role.underwriter, Role.auditor, Role.admin}),
    "RegulatorMSP": frozenset({Role.regulator, Role.auditor, Role.admin}),
    "DealerMSP": frozenset({Role.dealer, Role.auditor, Role.admin}),
}

ROLES_BY_ORG = {org: roles | {Role.scanner} for org, roles in ROLES_BY_ORG.items()}

# Roles that never write, whatever the org: refused by the gateway before the ledger is reached.
READ_ONLY_ROLES: frozenset[Role] = frozenset({Role.regulator, Role.auditor, Role.scanner})

SCANNER_USER = "qr-scanner"

# The standard enrolled users of each org (name, role), as in the shared conventions.
STANDARD_USERS: dict[str, list[tuple[str, Role]]] = {
    "TrafficAuthorityMSP": [("admin", Role.admin), ("auditor1", Role.auditor), ("officer1", Role.registrar)],
    "BankAMSP": [
        ("admin", Role.admin),
        ("auditor1", Role.auditor),
        ("loan1", Role.loan_officer),
        ("models1", Role.model_admin),
        ("appraiser1", Role.appraiser),
    ],
    "BankBMSP": [
        ("admin", Role.admin),
        ("auditor1", Role.auditor),
        ("loan1", Role.loan_officer),
        ("models1", Role.model_admin),
        ("appraiser1", Role.appraiser),
    ],
    "InsurerMSP": [("admin", Role.admin), ("auditor1", Role.auditor), ("underwriter1", Role.underwriter)],
    "DealerMSP": [("admin", Role.admin), ("auditor1", Role.auditor), ("dealer1", Role.dealer)],
    "RegulatorMSP": [("admin", Role.admin), ("auditor1", Role.auditor), ("regulator1", Role.regulator)],
}

ORG_SHORT_NAMES: dict[str, str] = {
    "TrafficAuthorityMSP": "ta",
    "BankAMSP": "banka",
    "BankBMSP": "bankb",
    "InsurerMSP": "insurer",
    "RegulatorMSP": "regulator",
    "DealerMSP": "dealer",
}


def check_role_for_org(msp_id: str, role: Role) -> None:
    """Raise ValueError naming the org and the roles it may hold."""
    allowed = ROLES_BY_ORG.get(msp_id)
    if allowed is None:
        raise ValueError(f"msp_id: unknown org {msp_id!r}")
    if role not in allowed:
        raise ValueError(f"role: {role.value!r} is not a role of {msp_id} (allowed: {sorted(allowed)})")
