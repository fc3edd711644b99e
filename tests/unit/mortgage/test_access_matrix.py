"""Every function called as every principal: allowed or refused exactly as the access table says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chaincode.mortgage import access
from chaincode.mortgage.contract import _TRANSACTIONS, MortgageContract
from chaincode.runtime.dispatch import ContractRouter

from .chain import PRINCIPALS, Chain, identity, owner, vin
from .floorplan_chain import advance_body, finance, open_line, payment, sale_args, whitelist
from .owner_keys import owner_identity, sign, signed_document

DOC = Path(__file__).resolve().parents[3] / "docs" / "access-control.md"
V = vin(7)
V2 = vin(8)
V3 = vin(10)  # floor-plan financed (advance ADV1 on line FL1)
V4 = vin(11)  # dealer stock, not yet financed
MATRIX_OWNER = "owner-matrix001"


@pytest.fixture(scope="module")
def chain() -> Chain:
    """A ledger holding one of everything, so that each call has a real object to act on."""
    c = Chain()
    c.register(V)
    c.register(V2)
    c.value(V, "200000")
    c.lien("bank_a", "L1", V, "50000")
    c.request_lien("bank_b", "L2", V, "20000")
    c.ok(
        "insurer",
        "RecordInsurancePolicy",
        {
            "policy_id": "P1",
            "vin": V,
            "coverage": {"type": "comprehensive", "amount": "80000", "currency": "CNY"},
            "valid_from": "2025-12-01",
            "valid_to": "2026-12-01",
        },
    )
    c.ok("ta", "IssueQrIdentity", V, {"code_id": "Q1", "payload_sha256": "cd" * 32})
    c.docs = {  # type: ignore[attr-defined]
        "court": c.document("ta", "court_order", V),
        "seizure": c.document("ta", "seizure_order", V),
        "scrap": c.document("ta", "scrap_certificate", V2),
        "notice": c.document("bank_a", "foreclosure_notice", V, "L1"),
        "consent": c.document("ta", "lienholder_consent", V),
        "police": c.document("ta", "police_report", V2),
        "regchange": c.document("ta", "registration_change", V),
        "loss": c.document("insurer", "loss_report", V2),
        "owner_consent": c.document("dealer", "owner_consent", V),
        "evidence": c.document("ta", "correction_evidence", V, "L1"),
        "sale_order": c.document("ta", "court_order", V),
        # BankA's own, unspent consent for a second lien on V (a consent is bound to its bank and VIN)
        "bank_a_consent": c.document("bank_a", "owner_consent", V),
    }
    c.ok("bank_a", "RequestPayoffQuote", "L1", {"request_id": "PR1", "requested_by": "owner"})
    c.ok(
        "bank_a",
        "IssuePayoffQuote",
        "L1",
        {
            "quote_id": "Q1",
            "request_id": "PR1",
            "amount": "100",
            "currency": "CNY",
            "good_through": "2030-01-01",
        },
    )
    c.ok(
        "bank_a",
        "RecordRiskAlert",
        {
            "alert_id": "A1",
            "lien_id": "L1",
            "rule": "ltv_breach",
            "severity": "high",
            "alert_sha256": "ef" * 32,
        },
    )
    # floor-plan finance: a whitelisted dealer's line, one financed car with its QR code, an open floor
    # check, a pledged receivable
    c.register(V3)
    c.register(V4)
    c.ok("ta", "IssueQrIdentity", V3, {"code_id": "Q3", "payload_sha256": "ce" * 32})
    whitelist(c)
    open_line(c)
    finance(c, "ADV1", V3)
    c.ok("bank_a", "OpenFloorCheck", {"check_id": "FC1", "line_id": "FL1", "location": "main lot"})
    c.ok("dealer", "PledgeReceivable", _receivable("R1"))
    c.docs["fp_sale"] = c.document("dealer", "sale_contract", V3)  # type: ignore[attr-defined]
    # owners as users (issue 16): V's owner enrolled, a consent asked of them and signed on their device
    c.ok("ta", "EnrolOwner", {"certificate_pem": owner_identity(MATRIX_OWNER).cert_pem.decode(), "vins": [V]})
    terms = {"lien_id": "L9", "secured_amount": "1000", "currency": "CNY", "maturity_date": "2030-01-01"}
    c.ok(
        "bank_a",
        "RequestOwnerConsent",
        {"consent_id": "OC1", "vin": V, "kind": "lien_request", "terms": terms},
    )
    document = signed_document(c.ok("ta", "GetOwnerConsent", "OC1"))
    c.docs["owner_signature"] = sign(owner_identity(MATRIX_OWNER), document)  # type: ignore[attr-defined]
    return c


def _receivable(receivable_id: str) -> dict[str, Any]:
    return {
        "receivable_id": receivable_id,
        "debtor_msp_id": "ManufacturerMSP",
        "line_id": "FL1",
        "kind": "rebate",
        "amount": "500",
        "currency": "CNY",
        "due_date": "2030-01-01",
    }


def args_for(c: Chain, function: str) -> tuple[list[Any], dict[str, bytes] | None]:
    docs: dict[str, str] = c.docs  # type: ignore[attr-defined]
    new_owner, new_hash = owner("buyer")
    h = hashlib.sha256(b"x").hexdigest()
    fp_sale = sale_args(c, V3, "ADV1", "20000", sale_document_id=docs["fp_sale"])
    table: dict[str, tuple[list[Any], dict[str, bytes] | None]] = {
        "RegisterVehicle": (
            [
                {
                    "vin": vin(9),
                    "plate": "B12345",
                    "make": "BYD",
                    "model": "Han",
                    "year": 2025,
                    "registration_date": "2025-10-01",
                }
            ],
            owner("new")[0],
        ),
        "GetVehicle": ([V], None),
        "GetVehicleByPlate": ([f"A{V[-6:]}"], None),
        "GetVehicleStatus": ([V], None),
        "QueryVehicles": ([{"status": "MORTGAGED"}, 10, ""], None),
        "GetOwner": ([V], None),
        "TransferTitle": (
            [
                V,
                {
                    "new_owner_hash": new_hash,
                    "reason": "sale",
                    "lienholder_consent_document_id": docs["consent"],
                },
            ],
            new_owner,
        ),
        "SeizeVehicle": (
            [V, {"document_id": docs["seizure"], "authority": "court", "reason": "fraud"}],
            None,
        ),
        "LiftSeizure": (
            [V, {"document_id": docs["seizure"], "authority": "court", "reason": "lifted"}],
            None,
        ),
        "ScrapVehicle": ([V2, docs["scrap"]], None),
        "RequestLien": (
            [
                {
                    "lien_id": "L9",
                    "vin": V,
                    "loan_number": "LN9",
                    "mortgage_contract_number": "MC9",
                    "secured_amount": "1000",
                    "currency": "CNY",
                    "maturity_date": "2030-01-01",
                    "consent_document_id": docs["bank_a_consent"],
                }
            ],
            None,
        ),
        "RecordLien": (["L2"], None),
        "RejectLien": (["L2", "incomplete file"], None),
        "ReleaseLien": (["L1"], None),
        "ReleaseLienByCourtOrder": (["L1", docs["court"]], None),
        "ProposeLienAssignment": (["L1", "BankBMSP"], None),
        "AcceptLienAssignment": (["L1"], None),
        "StartForeclosure": (["L1", docs["notice"]], None),
        "CompleteDisposal": (
            [
                V,
                {
                    "sale_price": "60000",
                    "currency": "CNY",
                    "buyer_owner_hash": new_hash,
                    "sale_document_id": "X",
                },
            ],
            new_owner,
        ),
        "GetLien": (["L1"], None),
        "QueryLiens": ([{"vin": V}, 10, ""], None),
        "RecordInsurancePolicy": (
            [
                {
                    "policy_id": "P9",
                    "vin": V,
                    "coverage": {"type": "theft", "amount": "1000", "currency": "CNY"},
                    "valid_from": "2025-12-01",
                    "valid_to": "2026-12-01",
                }
            ],
            None,
        ),
        "LapseInsurancePolicy": (["P1", "unpaid premium"], None),
        "FileInsuranceClaim": (
            [
                {
                    "claim_id": "C1",
                    "policy_id": "P1",
                    "incident_date": "2025-12-24",
                    "amount": "100",
                    "description": "x",
                }
            ],
            None,
        ),
        "GetInsurancePolicies": ([V], None),
        "RecordMaintenance": (
            [
                {
                    "record_id": "M1",
                    "vin": V,
                    "date": "2025-12-20",
                    "odometer_km": 1200,
                    "cost": "300",
                    "currency": "CNY",
                    "kind": "service",
                    "description": "oil change",
                }
            ],
            None,
        ),
        "RecordOdometer": ([{"vin": V, "odometer_km": 1500, "source": "inspection"}], None),
        "GetMaintenanceRecords": ([V], None),
        "GetOdometer": ([V], None),
        "RecordValuation": (
            [
                {
                    "valuation_id": "VX",
                    "vin": V,
                    "value": "100",
                    "currency": "CNY",
                    "interval_low": "90",
                    "interval_high": "110",
                    "coverage": "0.9",
                    "model_id": "residual-lgbm",
                    "model_version": "1.0.0",
                    "inputs_hash": h,
                    "valuer": "svc",
                }
            ],
            None,
        ),
        "GetValuations": ([V], None),
        "GetLatestValuation": ([V], None),
        "AnchorDocument": (
            [
                {
                    "document_id": "DX",
                    "doc_type": "other",
                    "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
                    "sha256": h,
                    "size": 1,
                    "encryption_key_ref": "k",
                }
            ],
            None,
        ),
        "GetDocument": ([docs["court"]], None),
        "GetDocuments": ([{"vin": V}], None),
        "IssueQrIdentity": ([V, {"code_id": "Q2", "payload_sha256": h}], None),
        "ResolveQrCode": (["Q1"], None),
        "GetQrIdentity": ([V], None),
        "GetVehicleHistory": ([V], None),
        "GetLienHistory": (["L1"], None),
        "SetConfig": ([{"ltv_cap": "0.7", "valuation_max_age_days": 60}], None),
        "GetConfig": ([], None),
        "SetLawConfig": ([{"reserve_share": "0.7", "lapse_grace_days": 10, "notice_days": [30]}], None),
        "GetLawConfig": ([], None),
        "ConsentToEnforcement": (["L1", {"foreclosing_lien_id": "L2"}], None),
        "RecordSaleOrder": ([V, {"document_id": docs["sale_order"], "court": "Haidian court"}], None),
        "GetEnforcement": ([V], None),
        "GetSurpluses": ([V], None),
        "ReportLienBalance": (["L1", {"outstanding": "100", "currency": "CNY", "as_of": "2026-01-01"}], None),
        "RequestPayoffQuote": (
            [
                "L1",
                {
                    "request_id": "PR2",
                    "requested_by": "dealer",
                    "owner_consent_document_id": docs["owner_consent"],
                },
            ],
            None,
        ),
        "IssuePayoffQuote": (
            [
                "L1",
                {
                    "quote_id": "Q2",
                    "request_id": "PR1",
                    "amount": "100",
                    "currency": "CNY",
                    "good_through": "2030-01-01",
                },
            ],
            None,
        ),
        "RecordPayoffPayment": (
            [
                "L1",
                {
                    "quote_id": "Q1",
                    "amount": "100",
                    "currency": "CNY",
                    "paid_on": "2026-01-01",
                    "payment_reference": "wire 1",
                },
            ],
            None,
        ),
        "GetLienAccount": (["L1"], None),
        "GetPayoffQuote": (["L1", "Q1"], None),
        "GetPayoffQuotes": (["L1"], None),
        "AmendLien": (["L1", {"loan_number": "LN-NEW", "reason": "renumbered"}], None),
        "ExtendLien": (["L1", {"maturity_date": "2035-01-01"}], None),
        "CorrectLien": (
            ["L1", {"evidence_document_id": docs["evidence"], "reason": "typo", "loan_number": "LN-FIX"}],
            None,
        ),
        "SweepLienMaturities": ([{"page_size": 10}], None),
        "AcknowledgeBrands": (["L2", {"brands": ["flood"]}], None),
        "SetHold": (
            [
                V2,
                {"kind": "stolen", "document_id": docs["police"], "authority": "police", "reason": "stolen"},
            ],
            None,
        ),
        "LiftHold": (
            [V2, {"kind": "stolen", "document_id": docs["police"], "authority": "police", "reason": "found"}],
            None,
        ),
        "ChangeRegistration": (
            [V, {"change_id": "RC1", "document_id": docs["regchange"], "colour": "red"}],
            None,
        ),
        "GetRegistrationChanges": ([V], None),
        "RecordBrand": ([V2, {"kind": "flood", "document_id": docs["loss"]}], None),
        "RegisterModelVersion": (
            [{"model_id": "m2", "model_version": "2", "model_card_sha256": h}],
            None,
        ),
        "GetModelVersions": ([], None),
        "RecordRiskAlert": (
            [{"alert_id": "A2", "lien_id": "L1", "rule": "r", "severity": "low", "alert_sha256": h}],
            None,
        ),
        "AcknowledgeRiskAlert": (["A1", "seen, borrower called"], None),
        "QueryRiskAlerts": ([{"lien_id": "L1"}], None),
        "CountRiskAlerts": ([], None),
        # floor-plan finance
        "WhitelistDealer": ([{"dealer_id": "D2", "dealer_msp_id": "DealerMSP", "name": "Dealer Two"}], None),
        "DelistDealer": (["D1", "dealer audit failed"], None),
        "GetDealerWhitelist": (["ManufacturerMSP"], None),
        "OpenCreditLine": (
            [
                {
                    "line_id": "FL2",
                    "dealer_id": "D1",
                    "approver_msp_id": "ManufacturerMSP",
                    "limit": "50000",
                    "currency": "CNY",
                    "rate": "0.06",
                }
            ],
            None,
        ),
        "FinanceVehicle": ([advance_body("ADV2", V4, "10000")], None),
        "RecordCurtailment": (["ADV1", payment(c, "100")], None),
        "PayOffAdvance": (["ADV1", payment(c, "20000")], None),
        "RetailSale": fp_sale,
        "CheckCurtailments": (["FL1"], None),
        "GetFloorPlanStock": (["FL1"], None),
        "OpenFloorCheck": ([{"check_id": "FC2", "line_id": "FL1", "location": "lot"}], None),
        "ScanFloorCheck": (["FC1", {"code_id": "Q3", "place": "row 1"}], None),
        "CloseFloorCheck": (["FC1"], None),
        "GetFloorCheck": (["FC1"], None),
        "GetFloorPlanAlerts": (["FL1"], None),
        "PledgeReceivable": ([_receivable("R2")], None),
        "ReleaseReceivablePledge": (["ManufacturerMSP", "R1"], None),
        "GetReceivablePledges": (["FL1"], None),
        "GetFloorPlanExposure": ([{}], None),
        "GetFloorPlanTotals": ([], None),
        "EnrolOwner": (
            [{"certificate_pem": owner_identity("owner-matrix002").cert_pem.decode(), "vins": [V2]}],
            None,
        ),
        "GetOwnerAccount": ([MATRIX_OWNER], None),
        "RequestOwnerConsent": (
            [{"consent_id": "OC2", "vin": V, "kind": "certificate_release", "terms": {}}],
            None,
        ),
        "SignOwnerConsent": (["OC1", {"signature": docs["owner_signature"]}], None),
        "GetOwnerConsent": (["OC1"], None),
        "GetOwnerConsents": ([MATRIX_OWNER], None),
        "GetSearchFacts": ([V], None),
        "RecordSearchCertificate": (
            [{"certificate_number": "SC-A", "vin": V, "sha256": h, "as_of_block": 3, "issuer": "DealerMSP"}],
            None,
        ),
        "GetSearchCertificate": (["SC-A"], None),
    }
    return table[function]


def test_table_covers_exactly_the_contract_functions() -> None:
    assert set(access.ACCESS) == set(_TRANSACTIONS)
    router = ContractRouter([MortgageContract])
    assert set(router.transactions()) == set(_TRANSACTIONS)


def test_args_cover_every_function(chain: Chain) -> None:
    for function in access.ACCESS:
        args_for(chain, function)


CASES = [(f, p) for f in access.ACCESS for p in PRINCIPALS]


@pytest.mark.parametrize(("function", "principal"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_every_function_as_every_principal(chain: Chain, function: str, principal: str) -> None:
    msp, role = PRINCIPALS[principal]
    args, transient = args_for(chain, function)
    raw = [a if isinstance(a, str) else json.dumps(a) for a in args]
    result = chain.ledger.simulate(identity(principal), function, *raw, transient=transient)
    rule = access.ACCESS[function]
    if rule.allows(msp, role or ""):
        assert f"access denied by rule '{rule.name}'" not in result.response.message, result.response.message
        if result.response.status == 403:  # only object-level rules may still refuse
            assert any(f"rule '{name}'" in result.response.message for name in access.OBJECT_RULES)
    else:
        assert result.response.status == 403, (result.response.status, result.response.message)
        assert f"access denied by rule '{rule.name}'" in result.response.message
        assert not result.rwset.writes and result.event is None


@pytest.mark.parametrize(
    ("function", "principal"),
    [
        ("RegisterVehicle", "ta"),
        ("GetOwner", "ta"),
        ("GetOwner", "regulator"),
        ("GetOwner", "bank_a"),
        ("TransferTitle", "ta"),
        ("SeizeVehicle", "ta"),
        ("ScrapVehicle", "ta"),
        ("RequestLien", "bank_a"),
        ("RecordLien", "ta"),
        ("RejectLien", "ta"),
        ("ReleaseLien", "bank_a"),
        ("ReleaseLienByCourtOrder", "ta"),
        ("ProposeLienAssignment", "bank_a"),
        ("StartForeclosure", "bank_a"),
        ("RecordInsurancePolicy", "insurer"),
        ("LapseInsurancePolicy", "insurer"),
        ("FileInsuranceClaim", "insurer"),
        ("RecordMaintenance", "dealer"),
        ("RecordOdometer", "dealer"),
        ("RecordValuation", "bank_b"),
        ("SetLawConfig", "ta_admin"),
        ("RecordSaleOrder", "ta"),
        ("ReportLienBalance", "bank_a"),
        ("RequestPayoffQuote", "dealer"),
        ("GetPayoffQuote", "bank_a"),
        ("GetPayoffQuote", "ta"),
        ("GetPayoffQuote", "dealer_auditor"),
        ("GetPayoffQuotes", "dealer"),
        ("IssuePayoffQuote", "bank_a"),
        ("RecordPayoffPayment", "bank_a"),
        ("AmendLien", "bank_a"),
        ("ExtendLien", "bank_a"),
        ("CorrectLien", "ta"),
        ("SweepLienMaturities", "insurer"),
        ("SetHold", "ta"),
        ("ChangeRegistration", "ta"),
        ("RecordBrand", "insurer"),
        ("RegisterModelVersion", "bank_a_model_admin"),
        ("RecordRiskAlert", "bank_a"),
        ("AcknowledgeRiskAlert", "bank_a"),
        ("CountRiskAlerts", "regulator"),
        ("AnchorDocument", "dealer"),
        ("IssueQrIdentity", "ta"),
        ("GetVehicleHistory", "regulator"),
        ("GetLienHistory", "bank_a_auditor"),
        ("SetConfig", "ta_admin"),
        ("GetVehicleStatus", "ta_norole"),
        ("WhitelistDealer", "oem"),
        ("DelistDealer", "oem"),
        ("OpenCreditLine", "bank_a"),
        ("FinanceVehicle", "bank_a"),
        ("RecordCurtailment", "bank_a"),
        ("PayOffAdvance", "bank_a"),
        ("RetailSale", "bank_a"),
        ("OpenFloorCheck", "bank_a_checker"),
        ("ScanFloorCheck", "bank_a_checker"),
        ("CloseFloorCheck", "bank_a"),
        ("GetFloorCheck", "bank_a_checker"),
        ("GetFloorPlanStock", "dealer"),
        ("GetFloorPlanStock", "oem"),
        ("GetFloorPlanAlerts", "bank_a"),
        ("PledgeReceivable", "dealer"),
        ("ReleaseReceivablePledge", "bank_a"),
        ("GetFloorPlanExposure", "oem"),
        ("GetFloorPlanTotals", "regulator"),
        ("EnrolOwner", "ta"),
        ("RequestOwnerConsent", "dealer"),
        ("SignOwnerConsent", "bank_b"),
        ("GetOwnerConsent", "insurer"),
        ("GetOwnerConsents", "regulator"),
        ("GetSearchFacts", "dealer"),
        ("RecordSearchCertificate", "bank_a"),
    ],
)
def test_allowed_principal_really_succeeds(chain: Chain, function: str, principal: str) -> None:
    """The matrix above only proves 'not refused by the table'; these calls must go through."""
    args, transient = args_for(chain, function)
    raw = [a if isinstance(a, str) else json.dumps(a) for a in args]
    result = chain.ledger.simulate(identity(principal), function, *raw, transient=transient)
    assert result.ok, (result.response.status, result.response.message)


def test_refusal_comes_before_argument_parsing(chain: Chain) -> None:
    result = chain.ledger.simulate(identity("dealer"), "RegisterVehicle", "{not json")
    assert result.response.status == 403
    assert "access denied by rule 'registrar'" in result.response.message


def test_regulator_and_auditors_write_nothing() -> None:
    router = ContractRouter([MortgageContract])
    writes = [name for name, tx in router.transactions().items() if tx.kind == "submit"]
    assert len(writes) >= 20
    for function in writes:
        assert not access.ACCESS[function].allows("RegulatorMSP", "regulator"), function
        for msp in access.CONSORTIUM:
            assert not access.ACCESS[function].allows(msp, "auditor"), function


def test_history_is_for_auditors_and_the_regulator_only() -> None:
    for function in ("GetVehicleHistory", "GetLienHistory"):
        rule = access.ACCESS[function]
        assert rule.allows("RegulatorMSP", "regulator")
        for msp in access.CONSORTIUM:
            assert rule.allows(msp, "auditor")
            for role in access.ROLES:
                if role not in ("auditor", "regulator"):
                    assert not rule.allows(msp, role), (function, msp, role)


def test_access_doc_is_rendered_from_the_table() -> None:
    assert DOC.read_text(encoding="utf-8") == access.render_markdown(), (
        "docs/access-control.md is stale: run python -m chaincode.mortgage.access > docs/access-control.md"
    )
