"""The contract's wire interface, pinned: transaction names, kinds, parameters, access rules.

Gateways, the API, the web pages and other orgs' clients call these names; splitting the contract into
modules per aggregate must not add, drop or rename one, change an argument's position or encoding, or
change who may call it. A deliberate interface change updates this table in the same commit.
"""

from __future__ import annotations

from typing import Any

from chaincode.mortgage import access
from chaincode.mortgage.contract import _TRANSACTIONS, MortgageContract
from chaincode.runtime.dispatch import ContractRouter

from .chain import Chain

#: function → (kind, access rule, parameters); ``?`` marks an optional one, ``:json`` a JSON argument.
WIRE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "AcceptLienAssignment": ("submit", "loan_officer", ("lien_id",)),
    "AcknowledgeBrands": ("submit", "loan_officer", ("lien_id", "ack:json")),
    "AcknowledgeRiskAlert": ("submit", "loan_officer", ("alert_id", "note")),
    "AmendLien": ("submit", "loan_officer", ("lien_id", "amendment:json")),
    "AnchorDocument": ("submit", "document_writer", ("document:json",)),
    "ChangeRegistration": ("submit", "registrar", ("vin", "change:json")),
    "CompleteDisposal": ("submit", "loan_officer", ("vin", "disposal:json")),
    "ConsentToEnforcement": ("submit", "loan_officer", ("lien_id", "consent:json")),
    "CorrectLien": ("submit", "registrar", ("lien_id", "correction:json")),
    "CountRiskAlerts": ("evaluate", "credit_read", ()),
    "ExtendLien": ("submit", "loan_officer", ("lien_id", "extension:json")),
    "FileInsuranceClaim": ("submit", "underwriter", ("claim:json",)),
    "GetConfig": ("evaluate", "public_status", ()),
    "GetDocument": ("evaluate", "vehicle_read", ("document_id",)),
    "GetDocuments": ("evaluate", "vehicle_read", ("query:json",)),
    "GetEnforcement": ("evaluate", "credit_read", ("vin",)),
    "GetInsurancePolicies": ("evaluate", "vehicle_read", ("vin",)),
    "GetLatestValuation": ("evaluate", "credit_read", ("vin",)),
    "GetLawConfig": ("evaluate", "public_status", ()),
    "GetLien": ("evaluate", "credit_read", ("lien_id",)),
    "GetLienAccount": ("evaluate", "credit_read", ("lien_id",)),
    "GetLienHistory": ("evaluate", "history_read", ("lien_id",)),
    "GetMaintenanceRecords": ("evaluate", "vehicle_read", ("vin",)),
    "GetModelVersions": ("evaluate", "model_read", ()),
    "GetOdometer": ("evaluate", "vehicle_read", ("vin",)),
    "GetOwner": ("evaluate", "owner_read", ("vin",)),
    "GetPayoffQuote": ("evaluate", "payoff_quote_read", ("lien_id", "quote_id")),
    "GetPayoffQuotes": ("evaluate", "payoff_quote_read", ("lien_id",)),
    "GetQrIdentity": ("evaluate", "public_status", ("vin",)),
    "GetRegistrationChanges": ("evaluate", "vehicle_read", ("vin",)),
    "GetSurpluses": ("evaluate", "credit_read", ("vin",)),
    "GetValuations": ("evaluate", "credit_read", ("vin",)),
    "GetVehicle": ("evaluate", "vehicle_read", ("vin",)),
    "GetVehicleByPlate": ("evaluate", "vehicle_read", ("plate",)),
    "GetVehicleHistory": ("evaluate", "history_read", ("vin",)),
    "GetVehicleStatus": ("evaluate", "public_status", ("vin",)),
    "IssuePayoffQuote": ("submit", "loan_officer", ("lien_id", "quote:json")),
    "IssueQrIdentity": ("submit", "registrar", ("vin", "code:json")),
    "LapseInsurancePolicy": ("submit", "underwriter", ("policy_id", "reason")),
    "LiftHold": ("submit", "registrar", ("vin", "hold:json")),
    "LiftSeizure": ("submit", "registrar", ("vin", "order:json")),
    "ProposeLienAssignment": ("submit", "loan_officer", ("lien_id", "assignee_msp_id")),
    "QueryLiens": ("evaluate", "credit_read", ("query:json", "page_size?:json", "bookmark?")),
    "QueryRiskAlerts": ("evaluate", "credit_read", ("query:json",)),
    "QueryVehicles": ("evaluate", "vehicle_read", ("query:json", "page_size?:json", "bookmark?")),
    "RecordBrand": ("submit", "underwriter", ("vin", "brand:json")),
    "RecordInsurancePolicy": ("submit", "underwriter", ("policy:json",)),
    "RecordLien": ("submit", "registrar", ("lien_id",)),
    "RecordMaintenance": ("submit", "dealer", ("record:json",)),
    "RecordOdometer": ("submit", "dealer", ("reading:json",)),
    "RecordPayoffPayment": ("submit", "loan_officer", ("lien_id", "payment:json")),
    "RecordRiskAlert": ("submit", "loan_officer", ("alert:json",)),
    "RecordSaleOrder": ("submit", "registrar", ("vin", "order:json")),
    "RecordValuation": ("submit", "valuer", ("valuation:json",)),
    "RegisterModelVersion": ("submit", "model_admin", ("model:json",)),
    "RegisterVehicle": ("submit", "registrar", ("vehicle:json",)),
    "RejectLien": ("submit", "registrar", ("lien_id", "reason")),
    "ReleaseLien": ("submit", "loan_officer", ("lien_id",)),
    "ReleaseLienByCourtOrder": ("submit", "registrar", ("lien_id", "court_order_document_id")),
    "ReportLienBalance": ("submit", "loan_officer", ("lien_id", "balance:json")),
    "RequestLien": ("submit", "loan_officer", ("request:json",)),
    "RequestPayoffQuote": ("submit", "payoff_request", ("lien_id", "request:json")),
    "ResolveQrCode": ("evaluate", "public_status", ("code_id",)),
    "ScrapVehicle": ("submit", "registrar", ("vin", "document_id")),
    "SeizeVehicle": ("submit", "registrar", ("vin", "order:json")),
    "SetConfig": ("submit", "config_admin", ("config:json",)),
    "SetHold": ("submit", "registrar", ("vin", "hold:json")),
    "SetLawConfig": ("submit", "config_admin", ("config:json",)),
    "StartForeclosure": ("submit", "loan_officer", ("lien_id", "notice_document_id")),
    "SweepLienMaturities": ("submit", "maturity_sweep", ("sweep:json",)),
    "TransferTitle": ("submit", "registrar", ("vin", "transfer:json")),
    # issue 19: dealer floor-plan finance (a deliberate extension of the interface)
    "CheckCurtailments": ("submit", "loan_officer", ("line_id",)),
    "CloseFloorCheck": ("submit", "floor_check", ("check_id",)),
    "DelistDealer": ("submit", "core_enterprise", ("dealer_id", "reason")),
    "FinanceVehicle": ("submit", "loan_officer", ("advance:json",)),
    "GetDealerWhitelist": ("evaluate", "floor_plan_read", ("core_msp_id",)),
    "GetFloorCheck": ("evaluate", "floor_plan_read", ("check_id",)),
    "GetFloorPlanAlerts": ("evaluate", "floor_plan_alerts", ("line_id",)),
    "GetFloorPlanExposure": ("evaluate", "floor_plan_read", ("query:json",)),
    "GetFloorPlanStock": ("evaluate", "floor_plan_read", ("line_id",)),
    "GetFloorPlanTotals": ("evaluate", "floor_plan_totals", ()),
    "GetReceivablePledges": ("evaluate", "floor_plan_read", ("line_id",)),
    "OpenCreditLine": ("submit", "loan_officer", ("line:json",)),
    "OpenFloorCheck": ("submit", "floor_check", ("check:json",)),
    "PayOffAdvance": ("submit", "loan_officer", ("advance_id", "payment:json")),
    "PledgeReceivable": ("submit", "receivable_pledgor", ("pledge:json",)),
    "RecordCurtailment": ("submit", "loan_officer", ("advance_id", "payment:json")),
    "ReleaseReceivablePledge": ("submit", "loan_officer", ("debtor_msp_id", "receivable_id")),
    "RetailSale": ("submit", "loan_officer", ("vin", "sale:json")),
    "ScanFloorCheck": ("submit", "floor_check", ("check_id", "scan:json")),
    "WhitelistDealer": ("submit", "core_enterprise", ("entry:json",)),
    # issue 16: owners as users, owner-signed consents
    "EnrolOwner": ("submit", "owner_enrol", ("enrolment:json",)),
    "GetOwnerAccount": ("evaluate", "owner_account_read", ("account_id",)),
    "RequestOwnerConsent": ("submit", "owner_consent_request", ("request:json",)),
    "SignOwnerConsent": ("submit", "owner_consent_carry", ("consent_id", "signed:json")),
    "GetOwnerConsent": ("evaluate", "owner_consent_read", ("consent_id",)),
    "GetOwnerConsents": ("evaluate", "owner_account_read", ("account_id",)),
    # issue 16: search certificates
    "GetSearchCertificate": ("evaluate", "public_status", ("certificate_number",)),
    "GetSearchFacts": ("evaluate", "certificate_request", ("vin",)),
    "RecordSearchCertificate": ("submit", "certificate_request", ("certificate:json",)),
}

#: rule → every "MSP/role" it admits (``*``: any role).
GRANTS: dict[str, list[str]] = {
    "certificate_request": [
        "BankAMSP/admin",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/loan_officer",
        "DealerMSP/admin",
        "DealerMSP/dealer",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/owner",
        "TrafficAuthorityMSP/registrar",
    ],
    "config_admin": ["TrafficAuthorityMSP/admin"],
    "credit_read": [
        "BankAMSP/admin",
        "BankAMSP/auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/auditor",
        "BankBMSP/loan_officer",
        "DealerMSP/auditor",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/registrar",
    ],
    "dealer": ["DealerMSP/dealer"],
    "document_writer": [
        "BankAMSP/appraiser",
        "BankAMSP/loan_officer",
        "BankAMSP/model_admin",
        "BankBMSP/appraiser",
        "BankBMSP/loan_officer",
        "BankBMSP/model_admin",
        "DealerMSP/dealer",
        "InsurerMSP/underwriter",
        "TrafficAuthorityMSP/registrar",
    ],
    "history_read": [
        "BankAMSP/auditor",
        "BankBMSP/auditor",
        "DealerMSP/auditor",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/auditor",
    ],
    "loan_officer": ["BankAMSP/loan_officer", "BankBMSP/loan_officer"],
    "maturity_sweep": [
        "BankAMSP/admin",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/loan_officer",
        "DealerMSP/admin",
        "DealerMSP/dealer",
        "InsurerMSP/admin",
        "InsurerMSP/underwriter",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/registrar",
    ],
    "model_admin": ["BankAMSP/model_admin", "BankBMSP/model_admin"],
    "model_read": [
        "BankAMSP/admin",
        "BankAMSP/appraiser",
        "BankAMSP/auditor",
        "BankAMSP/loan_officer",
        "BankAMSP/model_admin",
        "BankBMSP/admin",
        "BankBMSP/appraiser",
        "BankBMSP/auditor",
        "BankBMSP/loan_officer",
        "BankBMSP/model_admin",
        "DealerMSP/auditor",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/registrar",
    ],
    "owner_read": [
        "BankAMSP/loan_officer",
        "BankBMSP/loan_officer",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/owner",
        "TrafficAuthorityMSP/registrar",
    ],
    "payoff_quote_read": [
        "BankAMSP/admin",
        "BankAMSP/auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/auditor",
        "BankBMSP/loan_officer",
        "DealerMSP/admin",
        "DealerMSP/auditor",
        "DealerMSP/dealer",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/registrar",
    ],
    "payoff_request": ["BankAMSP/loan_officer", "BankBMSP/loan_officer", "DealerMSP/dealer"],
    "public_status": [
        "BankAMSP/*",
        "BankBMSP/*",
        "DealerMSP/*",
        "InsurerMSP/*",
        "ManufacturerMSP/*",
        "RegulatorMSP/*",
        "TrafficAuthorityMSP/*",
    ],
    "registrar": ["TrafficAuthorityMSP/registrar"],
    "underwriter": ["InsurerMSP/underwriter"],
    "valuer": [
        "BankAMSP/appraiser",
        "BankAMSP/loan_officer",
        "BankBMSP/appraiser",
        "BankBMSP/loan_officer",
        "TrafficAuthorityMSP/registrar",
    ],
    "vehicle_read": [
        "BankAMSP/admin",
        "BankAMSP/auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/auditor",
        "BankBMSP/loan_officer",
        "DealerMSP/admin",
        "DealerMSP/auditor",
        "DealerMSP/dealer",
        "InsurerMSP/admin",
        "InsurerMSP/auditor",
        "InsurerMSP/underwriter",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/registrar",
    ],
    # issue 19: dealer floor-plan finance (a deliberate extension of the interface)
    "core_enterprise": [
        "ManufacturerMSP/core_enterprise",
    ],
    "floor_check": [
        "BankAMSP/field_auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/field_auditor",
        "BankBMSP/loan_officer",
    ],
    "floor_plan_alerts": [
        "BankAMSP/admin",
        "BankAMSP/auditor",
        "BankAMSP/field_auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/auditor",
        "BankBMSP/field_auditor",
        "BankBMSP/loan_officer",
        "DealerMSP/auditor",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/auditor",
    ],
    "floor_plan_read": [
        "BankAMSP/admin",
        "BankAMSP/auditor",
        "BankAMSP/field_auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/auditor",
        "BankBMSP/field_auditor",
        "BankBMSP/loan_officer",
        "DealerMSP/admin",
        "DealerMSP/auditor",
        "DealerMSP/dealer",
        "InsurerMSP/auditor",
        "ManufacturerMSP/admin",
        "ManufacturerMSP/auditor",
        "ManufacturerMSP/core_enterprise",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/registrar",
    ],
    "floor_plan_totals": [
        "BankAMSP/auditor",
        "BankBMSP/auditor",
        "DealerMSP/auditor",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/auditor",
    ],
    "receivable_pledgor": [
        "DealerMSP/dealer",
    ],
    # issue 16: owners as users
    "owner_enrol": ["TrafficAuthorityMSP/registrar"],
    "owner_account_read": [
        "BankAMSP/auditor",
        "BankBMSP/auditor",
        "DealerMSP/auditor",
        "InsurerMSP/auditor",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/owner",
        "TrafficAuthorityMSP/registrar",
    ],
    "owner_consent_request": [
        "BankAMSP/loan_officer",
        "BankBMSP/loan_officer",
        "DealerMSP/dealer",
        "TrafficAuthorityMSP/registrar",
    ],
    "owner_consent_carry": [
        "BankAMSP/loan_officer",
        "BankBMSP/loan_officer",
        "DealerMSP/dealer",
        "TrafficAuthorityMSP/owner",
        "TrafficAuthorityMSP/registrar",
    ],
    "owner_consent_read": [
        "BankAMSP/admin",
        "BankAMSP/auditor",
        "BankAMSP/loan_officer",
        "BankBMSP/admin",
        "BankBMSP/auditor",
        "BankBMSP/loan_officer",
        "DealerMSP/admin",
        "DealerMSP/auditor",
        "DealerMSP/dealer",
        "InsurerMSP/admin",
        "InsurerMSP/auditor",
        "InsurerMSP/underwriter",
        "ManufacturerMSP/auditor",
        "RegulatorMSP/admin",
        "RegulatorMSP/auditor",
        "RegulatorMSP/regulator",
        "TrafficAuthorityMSP/admin",
        "TrafficAuthorityMSP/auditor",
        "TrafficAuthorityMSP/owner",
        "TrafficAuthorityMSP/registrar",
    ],
}

#: (function, JSON argument) → the fields its request object takes.
FIELDS: dict[tuple[str, str], list[str]] = {
    ("AcknowledgeBrands", "ack"): ["brands"],
    ("AmendLien", "amendment"): [
        "loan_number",
        "maturity_date",
        "mortgage_contract_number",
        "owner_consent_document_id",
        "owner_consent_id",
        "reason",
        "secured_amount",
    ],
    ("AnchorDocument", "document"): [
        "cid",
        "doc_type",
        "document_id",
        "encryption_key_ref",
        "lien_id",
        "parties",
        "sha256",
        "size",
        "vin",
    ],
    ("ChangeRegistration", "change"): [
        "change_id",
        "colour",
        "document_id",
        "engine_number",
        "owner_contact",
        "plate",
    ],
    ("CompleteDisposal", "disposal"): [
        "buyer_owner_hash",
        "costs",
        "costs_document_id",
        "currency",
        "mode",
        "sale_document_id",
        "sale_price",
    ],
    ("ConsentToEnforcement", "consent"): ["below_reserve", "document_id", "foreclosing_lien_id"],
    ("CorrectLien", "correction"): [
        "cancel",
        "evidence_document_id",
        "loan_number",
        "maturity_date",
        "mortgage_contract_number",
        "reason",
        "secured_amount",
    ],
    ("ExtendLien", "extension"): ["document_id", "maturity_date"],
    ("FileInsuranceClaim", "claim"): ["amount", "claim_id", "description", "incident_date", "policy_id"],
    ("GetDocuments", "query"): ["lien_id", "vin"],
    ("IssuePayoffQuote", "quote"): ["amount", "currency", "good_through", "quote_id", "request_id"],
    ("IssueQrIdentity", "code"): ["code_id", "payload_sha256"],
    ("LiftHold", "hold"): ["authority", "document_id", "kind", "reason"],
    ("LiftSeizure", "order"): ["authority", "document_id", "reason"],
    ("QueryLiens", "query"): ["lienholder", "status", "vin"],
    ("QueryRiskAlerts", "query"): ["lien_id", "lienholder", "unacknowledged"],
    ("QueryVehicles", "query"): ["lienholder", "make", "owner_hash", "status"],
    ("RecordBrand", "brand"): ["claim_id", "document_id", "kind"],
    ("RecordInsurancePolicy", "policy"): [
        "coverage",
        "document_id",
        "policy_id",
        "valid_from",
        "valid_to",
        "vin",
    ],
    ("RecordMaintenance", "record"): [
        "cost",
        "currency",
        "date",
        "description",
        "kind",
        "odometer_km",
        "record_id",
        "vin",
    ],
    ("RecordOdometer", "reading"): ["odometer_km", "recorded_at", "source", "vin"],
    ("RecordPayoffPayment", "payment"): [
        "amount",
        "currency",
        "paid_on",
        "payment_reference",
        "quote_id",
        "receipt_document_id",
    ],
    ("RecordRiskAlert", "alert"): ["alert_id", "alert_sha256", "lien_id", "rule", "severity"],
    ("RecordSaleOrder", "order"): ["below_reserve", "court", "document_id", "minimum_price"],
    ("RecordValuation", "valuation"): [
        "appraisal_document_id",
        "coverage",
        "currency",
        "inputs_hash",
        "interval_high",
        "interval_low",
        "model_id",
        "model_version",
        "valuation_id",
        "value",
        "valuer",
        "vin",
    ],
    ("RegisterModelVersion", "model"): ["document_id", "model_card_sha256", "model_id", "model_version"],
    ("RegisterVehicle", "vehicle"): [
        "configuration",
        "currency",
        "make",
        "model",
        "new_price",
        "plate",
        "region",
        "registration_date",
        "trim",
        "vin",
        "year",
    ],
    ("ReportLienBalance", "balance"): ["as_of", "currency", "outstanding"],
    ("RequestLien", "request"): [
        "consent_document_id",
        "currency",
        "lien_id",
        "loan_number",
        "maturity_date",
        "mortgage_contract_number",
        "owner_consent_id",
        "secured_amount",
        "vin",
    ],
    ("RequestPayoffQuote", "request"): [
        "owner_consent_document_id",
        "owner_consent_id",
        "request_id",
        "requested_by",
    ],
    ("SeizeVehicle", "order"): ["authority", "document_id", "reason"],
    ("SetConfig", "config"): ["ltv_cap", "valuation_max_age_days"],
    ("SetHold", "hold"): ["authority", "document_id", "kind", "reason"],
    ("SetLawConfig", "config"): ["lapse_grace_days", "notice_days", "reserve_share"],
    ("SweepLienMaturities", "sweep"): ["page_size"],
    ("TransferTitle", "transfer"): [
        "document_id",
        "lienholder_consent_document_id",
        "new_owner_hash",
        "owner_consent_id",
        "reason",
    ],
    # issue 19: dealer floor-plan finance (a deliberate extension of the interface)
    ("FinanceVehicle", "advance"): ["advance_id", "amount", "line_id", "odometer_km", "stock_number", "vin"],
    ("GetFloorPlanExposure", "query"): ["dealer_id", "lender"],
    ("OpenCreditLine", "line"): [
        "approver_msp_id",
        "currency",
        "curtailment",
        "dealer_id",
        "limit",
        "line_id",
        "maturity_date",
        "odometer_threshold_km",
        "rate",
    ],
    ("OpenFloorCheck", "check"): ["check_id", "line_id", "location"],
    ("PayOffAdvance", "payment"): ["amount", "currency", "paid_on", "payment_reference"],
    ("PledgeReceivable", "pledge"): [
        "amount",
        "currency",
        "debtor_msp_id",
        "document_id",
        "due_date",
        "kind",
        "line_id",
        "receivable_id",
    ],
    ("RecordCurtailment", "payment"): ["amount", "currency", "paid_on", "payment_reference"],
    ("RetailSale", "sale"): [
        "advance_id",
        "buyer_owner_hash",
        "consumer_lien",
        "currency",
        "payoff",
        "sale_document_id",
        "sale_price",
    ],
    ("ScanFloorCheck", "scan"): ["code_id", "latitude", "longitude", "odometer_km", "place", "vin"],
    ("RecordSearchCertificate", "certificate"): [
        "as_of_block",
        "certificate_number",
        "issuer",
        "owner_consent_id",
        "sha256",
        "vin",
    ],
    ("WhitelistDealer", "entry"): ["dealer_id", "dealer_msp_id", "name", "valid_to"],
    # issue 16: owners as users
    ("EnrolOwner", "enrolment"): ["certificate_pem", "vins"],
    ("RequestOwnerConsent", "request"): ["consent_id", "kind", "terms", "valid_days", "vin"],
    ("SignOwnerConsent", "signed"): ["signature", "signed_terms", "signer_certificate_pem"],
}


def _router() -> ContractRouter:
    return ContractRouter([MortgageContract])


def test_contract_is_registered_under_its_name() -> None:
    router = _router()
    assert router.default_contract == "MortgageContract" == MortgageContract.contract_name()


def test_transaction_names_kinds_and_parameters_are_pinned() -> None:
    found = {
        name: (
            tx.kind,
            access.ACCESS[name].name if name in access.ACCESS else "<no rule>",
            tuple(
                p.name + ("" if p.required else "?") + ("" if p.mode == "str" else ":" + p.mode)
                for p in tx.parameters
            ),
        )
        for name, tx in _router().transactions().items()
    }
    assert found == WIRE
    assert set(_TRANSACTIONS) == set(WIRE)


def test_every_transaction_has_an_access_rule_and_every_rule_a_transaction() -> None:
    assert set(access.ACCESS) == set(WIRE)
    for name, (_, rule, _) in WIRE.items():
        assert access.ACCESS[name].name == rule, name


def test_who_may_call_what_is_pinned() -> None:
    rules = {rule.name: rule for rule in access.ACCESS.values()}
    found = {
        name: sorted({f"{msp}/{role}" for grant in rule.grants for msp in grant.msps for role in grant.roles})
        for name, rule in rules.items()
    }
    assert found == GRANTS


def test_request_objects_take_the_pinned_fields() -> None:
    found: dict[tuple[str, str], list[str]] = {}
    for name, tx in _router().transactions().items():
        for p in tx.parameters:
            if p.mode != "json" or p.adapter is None:
                continue
            schema: dict[str, Any] = p.adapter.json_schema()
            if "$ref" in schema:
                schema = schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
            if "properties" in schema:
                found[(name, p.name)] = sorted(schema["properties"])
    assert found == FIELDS


def test_metadata_on_the_wire_lists_the_pinned_names() -> None:
    meta = Chain().ok("regulator", "org.hyperledger.fabric:GetMetadata")
    assert list(meta["contracts"]) == ["MortgageContract"]
    names = {tx["name"] for tx in meta["contracts"]["MortgageContract"]["transactions"]}
    assert names == set(WIRE)
