"""The access table: which caller (MSP ID + fabric-ca ``role`` attribute) may call which function.

One table in code, enforced by the contract before any argument is read, rendered into
docs/access-control.md (``python -m chaincode.mortgage.access > docs/access-control.md``) and checked
by a test that calls every function as every principal. Object-level rules that depend on state (only a
lien's holder may release it, ...) are checked by the contract after loading the object and are named
in :data:`OBJECT_RULES`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from chaincode import consortium
from chaincode.consortium import OrgKind
from chaincode.runtime.errors import ForbiddenError

# The orgs and roles come from the one consortium definition (chaincode/consortium.py).
TRAFFIC = consortium.the_org(OrgKind.vehicle_office).msp_id
BANK_A = consortium.org("banka").msp_id
BANK_B = consortium.org("bankb").msp_id
INSURER = consortium.the_org(OrgKind.insurer).msp_id
REGULATOR = consortium.the_org(OrgKind.regulator).msp_id
DEALER = consortium.the_org(OrgKind.dealer).msp_id
#: manufacturers and distributors: each keeps the whitelist of dealers eligible for floor-plan credit
CORE_ENTERPRISES = consortium.msp_ids(OrgKind.core_enterprise)

BANKS = consortium.msp_ids(OrgKind.bank)
CONSORTIUM = frozenset(o.msp_id for o in consortium.APPLICATION_ORGS)
ROLES = tuple(r.name for r in consortium.ROLES if r.chaincode)
ANY_ROLE = "*"


@dataclass(frozen=True, slots=True)
class Grant:
    """Callers from one of ``msps`` whose role is one of ``roles`` (``*``: any role, even none)."""

    msps: frozenset[str]
    roles: frozenset[str]

    def matches(self, msp_id: str, role: str) -> bool:
        return msp_id in self.msps and (ANY_ROLE in self.roles or role in self.roles)

    def describe(self) -> str:
        orgs = "any consortium org" if self.msps == CONSORTIUM else "/".join(sorted(self.msps))
        roles = "any role" if ANY_ROLE in self.roles else "role=" + "|".join(sorted(self.roles))
        return f"{orgs} with {roles}"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    purpose: str
    grants: tuple[Grant, ...]

    def allows(self, msp_id: str, role: str) -> bool:
        return any(grant.matches(msp_id, role) for grant in self.grants)

    def describe(self) -> str:
        return "; ".join(grant.describe() for grant in self.grants)


def _g(msps: str | frozenset[str], *roles: str) -> Grant:
    return Grant(frozenset({msps}) if isinstance(msps, str) else msps, frozenset(roles))


REGISTRAR = Rule("registrar", "vehicle office officers keep the register", (_g(TRAFFIC, "registrar"),))
CONFIG_ADMIN = Rule(
    "config_admin", "vehicle office admins set LTV cap and valuation age", (_g(TRAFFIC, "admin"),)
)
LOAN_OFFICER = Rule("loan_officer", "bank loan officers act for their bank", (_g(BANKS, "loan_officer"),))
UNDERWRITER = Rule("underwriter", "insurer underwriters keep insurance", (_g(INSURER, "underwriter"),))
DEALER_RULE = Rule("dealer", "dealers and repair shops keep maintenance and mileage", (_g(DEALER, "dealer"),))
DOCUMENT_WRITER = Rule(
    "document_writer",
    "any writing role anchors the documents its work needs",
    (
        _g(TRAFFIC, "registrar"),
        _g(BANKS, "loan_officer", "appraiser", "model_admin"),
        _g(INSURER, "underwriter"),
        _g(DEALER, "dealer"),
    ),
)
VALUER = Rule(
    "valuer",
    "valuations bound LTV: the vehicle office's registrar; a bank's loan officer (model valuations) or "
    "appraiser (manual ones, appraisal anchored) only on a vehicle its bank holds or requested a lien "
    "on (object rule `valuer_lien`)",
    (_g(TRAFFIC, "registrar"), _g(BANKS, "loan_officer", "appraiser")),
)
MODEL_ADMIN = Rule(
    "model_admin",
    "a bank's model administrator registers valuation model versions",
    (_g(BANKS, "model_admin"),),
)
MODEL_READ = Rule(
    "model_read",
    "registered model versions: credit readers and model administrators",
    (
        _g(TRAFFIC, "registrar", "admin"),
        _g(BANKS, "loan_officer", "appraiser", "model_admin", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
PAYOFF_REQUEST = Rule(
    "payoff_request",
    "payoff quotes are asked for by a bank (the lienholder for the owner, or the buyer's bank) or a dealer",
    (_g(BANKS, "loan_officer"), _g(DEALER, "dealer")),
)
PAYOFF_QUOTE_READ = Rule(
    "payoff_quote_read",
    "a payoff quote: credit readers and dealers; a bank or dealer only for a quote of its own lien or "
    "one it asked for (object rule `payoff_quote_party`), never the lien's balance history",
    (
        _g(TRAFFIC, "registrar", "admin"),
        _g(BANKS, "loan_officer", "admin"),
        _g(DEALER, "dealer", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
SWEEP = Rule(
    "maturity_sweep",
    "anyone in the consortium with a writing role may run the maturity sweep",
    (
        _g(TRAFFIC, "registrar", "admin"),
        _g(BANKS, "loan_officer", "admin"),
        _g(INSURER, "underwriter", "admin"),
        _g(DEALER, "dealer", "admin"),
    ),
)
PUBLIC_STATUS = Rule(
    "public_status",
    "public passport fields (QR scan): any consortium identity",
    (_g(CONSORTIUM, ANY_ROLE),),
)
VEHICLE_READ = Rule(
    "vehicle_read",
    "vehicle, insurance, maintenance and document records: every operational role",
    (
        _g(TRAFFIC, "registrar", "admin"),
        _g(BANKS, "loan_officer", "admin"),
        _g(INSURER, "underwriter", "admin"),
        _g(DEALER, "dealer", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
CREDIT_READ = Rule(
    "credit_read",
    "liens and valuations: the vehicle office, banks, regulator, auditors",
    (
        _g(TRAFFIC, "registrar", "admin"),
        _g(BANKS, "loan_officer", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
OWNER_READ = Rule(
    "owner_read",
    "owner personal data: vehicle office, the vehicle's lienholder banks, regulator; an enrolled owner "
    "only their own (object rule `owner_self`)",
    (_g(TRAFFIC, "registrar", "owner"), _g(BANKS, "loan_officer"), _g(REGULATOR, "regulator")),
)
OWNER_ENROL = Rule(
    "owner_enrol",
    "vehicle office officers enrol owners (a fabric-ca certificate with role owner bound to vehicles)",
    (_g(TRAFFIC, "registrar"),),
)
OWNER_ACCOUNT_READ = Rule(
    "owner_account_read",
    "an owner account and the consents asked of it: the vehicle office, regulator, auditors, and the "
    "owner itself (object rule `owner_self`)",
    (
        _g(TRAFFIC, "registrar", "admin", "owner"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
CONSENT_REQUEST = Rule(
    "owner_consent_request",
    "a grantee asks an enrolled owner for a consent to exact terms: banks (lien, amount increase, payoff "
    "quote, certificate), dealers (payoff quote, certificate), the vehicle office (transfer, certificate)",
    (_g(BANKS, "loan_officer"), _g(DEALER, "dealer"), _g(TRAFFIC, "registrar")),
)
CONSENT_CARRY = Rule(
    "owner_consent_carry",
    "the owner's signature is the authority: the owner, the vehicle office's desk or the grantee carries it "
    "to the ledger, where the contract verifies it against the owner's registered certificate",
    (_g(TRAFFIC, "registrar", "owner"), _g(BANKS, "loan_officer"), _g(DEALER, "dealer")),
)
CONSENT_READ = Rule(
    "owner_consent_read",
    "an owner consent (terms, status, expiry): every operational role, and the owner it was asked of "
    "(object rule `owner_self`)",
    (
        _g(TRAFFIC, "registrar", "admin", "owner"),
        _g(BANKS, "loan_officer", "admin"),
        _g(INSURER, "underwriter", "admin"),
        _g(DEALER, "dealer", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
HISTORY_READ = Rule(
    "history_read",
    "key history with tx ids: auditors of any org and the regulator",
    (_g(CONSORTIUM, "auditor"), _g(REGULATOR, "regulator")),
)

CERTIFICATE_REQUEST = Rule(
    "certificate_request",
    "search certificates (issue 16): dealers, banks and the vehicle office ask for one and record its hash "
    "(a buyer through its org with the owner's certificate_release consent); an enrolled owner for a "
    "vehicle it holds (object rule `certificate_owner`)",
    (
        _g(TRAFFIC, "registrar", "admin", "owner"),
        _g(BANKS, "loan_officer", "admin"),
        _g(DEALER, "dealer", "admin"),
    ),
)

CORE_ENTERPRISE = Rule(
    "core_enterprise",
    "a manufacturer's or distributor's officer keeps its whitelist of dealers eligible for floor-plan credit",
    (_g(CORE_ENTERPRISES, "core_enterprise"),),
)
FLOOR_CHECK = Rule(
    "floor_check",
    "a lender's loan officers and field auditors walk the dealer's lot (object rule `floor_plan_lender`)",
    (_g(BANKS, "loan_officer", "field_auditor"),),
)
RECEIVABLE_PLEDGOR = Rule(
    "receivable_pledgor",
    "a dealer pledges receivables owed by a core enterprise to its floor-plan lender "
    "(object rule `floor_plan_dealer`)",
    (_g(DEALER, "dealer"),),
)
FLOOR_PLAN_READ = Rule(
    "floor_plan_read",
    "floor-plan lines, stock, checks and pledges: their lender, dealer and approving core enterprise "
    "(object rule `floor_plan_party`), the vehicle office, regulator and auditors",
    (
        _g(TRAFFIC, "registrar", "admin"),
        _g(BANKS, "loan_officer", "field_auditor", "admin"),
        _g(DEALER, "dealer", "admin"),
        _g(CORE_ENTERPRISES, "core_enterprise", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
FLOOR_PLAN_ALERTS = Rule(
    "floor_plan_alerts",
    "sold-out-of-trust and curtailment alerts go to the lender (object rule `floor_plan_party`), the "
    "regulator and auditors",
    (
        _g(BANKS, "loan_officer", "field_auditor", "admin"),
        _g(REGULATOR, "regulator", "admin"),
        _g(CONSORTIUM, "auditor"),
    ),
)
FLOOR_PLAN_TOTALS = Rule(
    "floor_plan_totals",
    "floor-plan totals across lenders: the regulator and auditors",
    (_g(REGULATOR, "regulator", "admin"), _g(CONSORTIUM, "auditor")),
)

ACCESS: dict[str, Rule] = {
    # vehicles
    "RegisterVehicle": REGISTRAR,
    "GetVehicle": VEHICLE_READ,
    "GetVehicleByPlate": VEHICLE_READ,
    "GetVehicleStatus": PUBLIC_STATUS,
    "QueryVehicles": VEHICLE_READ,
    "GetOwner": OWNER_READ,
    "TransferTitle": REGISTRAR,
    "SeizeVehicle": REGISTRAR,
    "LiftSeizure": REGISTRAR,
    "ScrapVehicle": REGISTRAR,
    "SetHold": REGISTRAR,
    "LiftHold": REGISTRAR,
    "ChangeRegistration": REGISTRAR,
    "GetRegistrationChanges": VEHICLE_READ,
    "RecordBrand": UNDERWRITER,
    # liens
    "RequestLien": LOAN_OFFICER,
    "RecordLien": REGISTRAR,
    "RejectLien": REGISTRAR,
    "ReleaseLien": LOAN_OFFICER,
    "ReleaseLienByCourtOrder": REGISTRAR,
    "ProposeLienAssignment": LOAN_OFFICER,
    "AcceptLienAssignment": LOAN_OFFICER,
    "StartForeclosure": LOAN_OFFICER,
    "CompleteDisposal": LOAN_OFFICER,
    "ConsentToEnforcement": LOAN_OFFICER,
    "RecordSaleOrder": REGISTRAR,
    "GetEnforcement": CREDIT_READ,
    "GetSurpluses": CREDIT_READ,
    "ReportLienBalance": LOAN_OFFICER,
    "RequestPayoffQuote": PAYOFF_REQUEST,
    "IssuePayoffQuote": LOAN_OFFICER,
    "RecordPayoffPayment": LOAN_OFFICER,
    "GetLienAccount": CREDIT_READ,
    "GetPayoffQuote": PAYOFF_QUOTE_READ,
    "GetPayoffQuotes": PAYOFF_QUOTE_READ,
    "AmendLien": LOAN_OFFICER,
    "ExtendLien": LOAN_OFFICER,
    "CorrectLien": REGISTRAR,
    "SweepLienMaturities": SWEEP,
    "AcknowledgeBrands": LOAN_OFFICER,
    "GetLien": CREDIT_READ,
    "QueryLiens": CREDIT_READ,
    # insurance
    "RecordInsurancePolicy": UNDERWRITER,
    "LapseInsurancePolicy": UNDERWRITER,
    "FileInsuranceClaim": UNDERWRITER,
    "GetInsurancePolicies": VEHICLE_READ,
    # maintenance and odometer
    "RecordMaintenance": DEALER_RULE,
    "RecordOdometer": DEALER_RULE,
    "GetMaintenanceRecords": VEHICLE_READ,
    "GetOdometer": VEHICLE_READ,
    # valuations
    "RecordValuation": VALUER,
    "RegisterModelVersion": MODEL_ADMIN,
    "GetModelVersions": MODEL_READ,
    "GetValuations": CREDIT_READ,
    "GetLatestValuation": CREDIT_READ,
    # documents
    "AnchorDocument": DOCUMENT_WRITER,
    "GetDocument": VEHICLE_READ,
    "GetDocuments": VEHICLE_READ,
    # QR identity
    "IssueQrIdentity": REGISTRAR,
    "ResolveQrCode": PUBLIC_STATUS,
    "GetQrIdentity": PUBLIC_STATUS,
    # history and configuration
    "GetVehicleHistory": HISTORY_READ,
    "GetLienHistory": HISTORY_READ,
    "SetConfig": CONFIG_ADMIN,
    "GetConfig": PUBLIC_STATUS,
    "SetLawConfig": CONFIG_ADMIN,
    "GetLawConfig": PUBLIC_STATUS,
    # risk alerts
    "RecordRiskAlert": LOAN_OFFICER,
    "AcknowledgeRiskAlert": LOAN_OFFICER,
    "QueryRiskAlerts": CREDIT_READ,
    "CountRiskAlerts": CREDIT_READ,
    # dealer floor-plan finance (issue 19)
    "WhitelistDealer": CORE_ENTERPRISE,
    "DelistDealer": CORE_ENTERPRISE,
    "GetDealerWhitelist": FLOOR_PLAN_READ,
    "OpenCreditLine": LOAN_OFFICER,
    "FinanceVehicle": LOAN_OFFICER,
    "RecordCurtailment": LOAN_OFFICER,
    "PayOffAdvance": LOAN_OFFICER,
    "RetailSale": LOAN_OFFICER,
    "CheckCurtailments": LOAN_OFFICER,
    "GetFloorPlanStock": FLOOR_PLAN_READ,
    "OpenFloorCheck": FLOOR_CHECK,
    "ScanFloorCheck": FLOOR_CHECK,
    "CloseFloorCheck": FLOOR_CHECK,
    "GetFloorCheck": FLOOR_PLAN_READ,
    "GetFloorPlanAlerts": FLOOR_PLAN_ALERTS,
    "PledgeReceivable": RECEIVABLE_PLEDGOR,
    "ReleaseReceivablePledge": LOAN_OFFICER,
    "GetReceivablePledges": FLOOR_PLAN_READ,
    "GetFloorPlanExposure": FLOOR_PLAN_READ,
    "GetFloorPlanTotals": FLOOR_PLAN_TOTALS,
    # owners as users (issue 16)
    "EnrolOwner": OWNER_ENROL,
    "GetOwnerAccount": OWNER_ACCOUNT_READ,
    "RequestOwnerConsent": CONSENT_REQUEST,
    "SignOwnerConsent": CONSENT_CARRY,
    "GetOwnerConsent": CONSENT_READ,
    "GetOwnerConsents": OWNER_ACCOUNT_READ,
    # search certificates (issue 16)
    "GetSearchFacts": CERTIFICATE_REQUEST,
    "RecordSearchCertificate": CERTIFICATE_REQUEST,
    "GetSearchCertificate": PUBLIC_STATUS,
}

#: Rules that depend on the object a call names; checked by the contract after loading it.
OBJECT_RULES: dict[str, str] = {
    "lienholder_only": (
        "ReleaseLien, ProposeLienAssignment, StartForeclosure, ConsentToEnforcement, ReportLienBalance, "
        "IssuePayoffQuote, RecordPayoffPayment, AmendLien, ExtendLien, AcknowledgeBrands, RecordRiskAlert, "
        "AcknowledgeRiskAlert: the caller's MSP holds the lien"
    ),
    "payoff_requester": (
        "RequestPayoffQuote with requested_by=owner: only the lienholder (the owner asks it directly); "
        "dealers and buyers' banks name the owner's anchored consent"
    ),
    "payoff_quote_party": (
        "GetPayoffQuote, GetPayoffQuotes and the PayoffQuoted event for a bank or dealer (not an auditor): "
        "its MSP holds the lien, issued the quote or made the request the quote answers; GetPayoffQuotes "
        "lists only those quotes"
    ),
    "appraiser_only": (
        "RecordValuation: a manual valuation (model_id manual) by role appraiser with an anchored appraisal; "
        "an appraiser records manual valuations only"
    ),
    "foreclosing_lienholder": "CompleteDisposal: the caller's MSP holds the vehicle's FORECLOSING lien",
    "assignee_only": "AcceptLienAssignment: the caller's MSP is the pending assignee",
    "owner_read_lienholder": (
        "GetOwner by a bank: the bank holds a lien on the vehicle that the vehicle office recorded "
        "(RECORDED, ASSIGNMENT_PENDING or FORECLOSING); a merely requested lien gives no access"
    ),
    "owner_consent_bound": (
        "RequestLien: the owner_consent document names this VIN, was anchored by the requesting bank, "
        "and is carried by no other live lien of the vehicle"
    ),
    "floor_plan_lender": (
        "OpenFloorCheck, ScanFloorCheck, CloseFloorCheck, FinanceVehicle, RecordCurtailment, PayOffAdvance, "
        "RetailSale, CheckCurtailments, ReleaseReceivablePledge: the caller's MSP is the line's lender"
    ),
    "floor_plan_party": (
        "floor-plan reads by a bank, dealer or core-enterprise identity (not an auditor): its MSP is the "
        "line's lender, dealer or approving core enterprise; GetFloorPlanExposure lists only those lines"
    ),
    "floor_plan_dealer": "PledgeReceivable: the caller's MSP is the line's dealer",
    "owner_self": (
        "GetOwner, GetOwnerAccount, GetOwnerConsent, GetOwnerConsents by an owner identity: its certificate "
        "is the one the vehicle office enrolled for that account and the vehicle is one it holds now"
    ),
    "owner_consent_signed": (
        "RequestLien, AmendLien (increase), TransferTitle, RequestPayoffQuote with owner_consent_id: the "
        "consent is SIGNED by the vehicle's enrolled owner, unexpired, unused, for this vehicle, kind, "
        "grantee (the caller) and these exact terms; it is spent by the transaction"
    ),
    "certificate_owner": (
        "GetSearchFacts, RecordSearchCertificate by an owner identity: a vehicle its enrolled account holds "
        "now; RecordSearchCertificate with owner_consent_id spends the owner's signed certificate_release "
        "consent to the caller's org for this VIN"
    ),
    "valuer_lien": (
        "RecordValuation by a bank: the bank holds or has requested a lien on the vehicle "
        "(REQUESTED, RECORDED, ASSIGNMENT_PENDING or FORECLOSING)"
    ),
}


#: Each chaincode event and the read function that shows the same data: an event stream gives an event
#: only to a caller who may call that function (lien amounts only to those who may GetLien, ...).
EVENT_READS: dict[str, str] = {
    "VehicleRegistered": "GetVehicle",
    "TitleTransferred": "GetVehicle",
    "VehicleSeized": "GetVehicle",
    "SeizureLifted": "GetVehicle",
    "VehicleScrapped": "GetVehicle",
    "LienRequested": "GetLien",
    "LienRecorded": "GetLien",
    "LienRejected": "GetLien",
    "LienReleased": "GetLien",
    "LienAssignmentProposed": "GetLien",
    "LienAssigned": "GetLien",
    "ForeclosureStarted": "GetLien",
    "DisposalCompleted": "GetLien",
    "InsurancePolicyRecorded": "GetInsurancePolicies",
    "InsuranceLapsed": "GetInsurancePolicies",
    "InsuranceClaimFiled": "GetInsurancePolicies",
    "MaintenanceRecorded": "GetMaintenanceRecords",
    "OdometerRecorded": "GetOdometer",
    "OdometerAnomaly": "GetOdometer",
    "ValuationRecorded": "GetLatestValuation",
    "DocumentAnchored": "GetDocument",
    "QrIdentityIssued": "GetQrIdentity",
    "ConfigChanged": "GetConfig",
    "LawConfigChanged": "GetLawConfig",
    "RegistrationChanged": "GetRegistrationChanges",
    "HoldSet": "GetVehicle",
    "HoldLifted": "GetVehicle",
    "VehicleBranded": "GetVehicle",
    "BrandsAcknowledged": "GetLien",
    "LienAmended": "GetLien",
    "LienCorrected": "GetLien",
    "LienExtended": "GetLien",
    "LienMaturitySweep": "GetLien",
    "LienBalanceReported": "GetLienAccount",
    "PayoffRequested": "GetLienAccount",
    "PayoffQuoted": "GetPayoffQuote",
    "EnforcementConsented": "GetEnforcement",
    "SaleOrderRecorded": "GetEnforcement",
    "RiskAlertRecorded": "QueryRiskAlerts",
    "RiskAlertAcknowledged": "QueryRiskAlerts",
    "ModelVersionRegistered": "GetModelVersions",
    "DealerWhitelisted": "GetDealerWhitelist",
    "DealerDelisted": "GetDealerWhitelist",
    "CreditLineOpened": "GetFloorPlanStock",
    "VehicleFinanced": "GetFloorPlanStock",
    "CurtailmentPaid": "GetFloorPlanStock",
    "AdvancePaidOff": "GetFloorPlanStock",
    "RetailSaleCompleted": "GetFloorPlanStock",
    "CurtailmentsOverdue": "GetFloorPlanAlerts",
    "SearchCertificateRecorded": "GetSearchCertificate",
    "FloorCheckOpened": "GetFloorCheck",
    "FloorCheckScanned": "GetFloorCheck",
    "FloorCheckClosed": "GetFloorPlanAlerts",
    "ReceivablePledged": "GetReceivablePledges",
    "ReceivablePledgeReleased": "GetReceivablePledges",
    "OwnerEnrolled": "GetOwnerAccount",
    "OwnerConsentRequested": "GetOwnerConsent",
    "OwnerConsentSigned": "GetOwnerConsent",
}


#: Bank and dealer orgs: their identities read a payoff quote only as one of its parties.
_QUOTE_PARTY_ORGS = BANKS | {DEALER}


def payoff_quote_party(msp_id: str, role: str | None, parties: set[str]) -> bool:
    """Object rule ``payoff_quote_party`` (see :data:`OBJECT_RULES`); ``parties`` are the lienholder,
    the issuer and the requester of the quote."""
    if msp_id not in _QUOTE_PARTY_ORGS or role == "auditor":
        return True
    return msp_id in parties


#: Bank, dealer and core-enterprise orgs: their identities see a floor-plan record only as one of its parties.
_FLOOR_PLAN_PARTY_ORGS = BANKS | {DEALER} | CORE_ENTERPRISES
_FLOOR_PLAN_READS = frozenset(
    {"GetDealerWhitelist", "GetFloorPlanStock", "GetFloorPlanAlerts", "GetFloorCheck", "GetReceivablePledges"}
)
_FLOOR_PLAN_PARTY_FIELDS = ("lender", "pledgee", "dealer_msp_id", "approver_msp_id", "core_msp_id")


def floor_plan_party(msp_id: str, role: str | None, parties: set[str]) -> bool:
    """Object rule ``floor_plan_party`` (see :data:`OBJECT_RULES`); ``parties`` are the line's lender,
    dealer and approving core enterprise."""
    if msp_id not in _FLOOR_PLAN_PARTY_ORGS or role == "auditor":
        return True
    return msp_id in parties


def event_visible(event_name: str, msp_id: str, role: str | None, payload: object | None = None) -> bool:
    """Whether a caller may see a chaincode event: the rule of its read function, and for a payoff
    quote the object rule on the parties the event names (an event without them goes to neutral
    readers only); unknown events are shown only to those who read history (auditors, the
    regulator) — deny by default."""
    function = EVENT_READS.get(event_name)
    rule = ACCESS.get(function) if function else HISTORY_READ
    if rule is None or not rule.allows(msp_id, role or ""):
        return False
    if EVENT_READS.get(event_name) in _FLOOR_PLAN_READS:
        data = payload if isinstance(payload, dict) else {}
        parties = {str(data[f]) for f in _FLOOR_PLAN_PARTY_FIELDS if data.get(f)}
        return floor_plan_party(msp_id, role, parties)
    if event_name == "PayoffQuoted":
        data = payload if isinstance(payload, dict) else {}
        parties = {str(data[f]) for f in ("lienholder", "requester_msp") if data.get(f)}
        return payoff_quote_party(msp_id, role, parties)
    return True


def check_access(function: str, msp_id: str, role: str | None) -> Rule:
    """Return the rule that allows the call, or raise 403 naming the rule that refuses it."""
    rule = ACCESS.get(function)
    if rule is None:
        raise ForbiddenError(f"access denied: function '{function}' has no access rule (deny by default)")
    if not rule.allows(msp_id, role or ""):
        raise ForbiddenError(
            f"access denied by rule '{rule.name}' ({rule.describe()}): caller {msp_id} role={role or '-'}"
        )
    return rule


def object_rule_denied(rule: str, detail: str) -> ForbiddenError:
    """A 403 naming an object-level rule."""
    return ForbiddenError(f"access denied by rule '{rule}': {detail}")


def render_markdown() -> str:
    """docs/access-control.md, generated from the table above."""
    lines = [
        "# Mortgage chaincode access control",
        "",
        "Generated from `chaincode/mortgage/access.py` by `python -m chaincode.mortgage.access`; do not edit",
        "by hand (a test fails when this file and the table differ).",
        "",
        "A caller is its MSP ID (from the creator certificate) and the fabric-ca attribute `role` of its",
        "enrolment certificate. The contract checks the rule before reading any argument; a refused",
        "call is a 403 whose message names the rule. The regulator (RegulatorMSP, role `regulator`) reads",
        "everything and writes nothing; auditors (role `auditor`, any org) read everything including",
        "history; nobody else reads history.",
        "",
        "## Rules",
        "",
        "| rule | who | why |",
        "|---|---|---|",
    ]
    rules = {rule.name: rule for rule in ACCESS.values()}
    for name in sorted(rules):
        lines.append(f"| `{name}` | {rules[name].describe()} | {rules[name].purpose} |")
    lines += ["", "## Functions", "", "| function | rule |", "|---|---|"]
    for function, rule in ACCESS.items():
        lines.append(f"| `{function}` | `{rule.name}` |")
    lines += [
        "",
        "## Matrix (standard identities)",
        "",
        "`✓` allowed by the table, `·` refused with 403.",
        "",
    ]
    principals = STANDARD_PRINCIPALS
    lines.append("| function | " + " | ".join(f"{m.removesuffix('MSP')}/{r}" for m, r in principals) + " |")
    lines.append("|---|" + "---|" * len(principals))
    for function, rule in ACCESS.items():
        cells = ["✓" if rule.allows(m, r) else "·" for m, r in principals]
        lines.append(f"| `{function}` | " + " | ".join(cells) + " |")
    lines += ["", "## Object-level rules", "", "| rule | condition |", "|---|---|"]
    for name, text in OBJECT_RULES.items():
        lines.append(f"| `{name}` | {text} |")
    return "\n".join(lines) + "\n"


#: The enrolled users of the network (preamble), as (MSP ID, role).
STANDARD_PRINCIPALS: tuple[tuple[str, str], ...] = (
    (TRAFFIC, "registrar"),
    (TRAFFIC, "admin"),
    (BANK_A, "loan_officer"),
    (BANK_B, "loan_officer"),
    (INSURER, "underwriter"),
    (DEALER, "dealer"),
    (REGULATOR, "regulator"),
    (BANK_A, "auditor"),
    (BANK_A, "admin"),
    (BANK_A, "model_admin"),
    (BANK_A, "appraiser"),
    (BANK_A, "field_auditor"),
    *((msp, "core_enterprise") for msp in sorted(CORE_ENTERPRISES)),
)


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
