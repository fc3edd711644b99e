"""Issue 19 on real Fabric peers with fabric-ca identities: the manufacturer's officer whitelists the
dealer, BankA finances two cars; the floor check (BankA's field auditor scanning a QR code) closes with a
sold-out-of-trust alert for the car not seen; the retail sale of that car is one transaction that needs
the lender's peer (ENDORSEMENT_POLICY_FAILURE without it, VALID with TrafficAuthority and BankA among the
endorsers) and pays off, releases, moves the title and requests BankB's consumer lien; a consumer lien
asked for on the other, still financed, car raises another alert and its transfer is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.fabric_gateway import CommitError, EndorseError
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration.test_mortgage_lifecycle import (
    BANKA,
    BANKB,
    CC,
    TA,
    Actors,
    Committer,
    contract,
    endorsers,
    error_text,
    owner,
)

CORE = "ManufacturerMSP"


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    pid = fabric_network.chaincodes.get(CC, "")
    assert pid.startswith(CC), f"chaincode {CC} is not deployed: {pid}"
    return fabric_network


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _payment(amount: str, ref: str) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY", "paid_on": _today(), "payment_reference": ref}


def test_floor_check_alert_and_retail_sale_on_fabric(net: FabricNetworkInfo) -> None:
    actors = Actors(net)
    commit = Committer(net)
    run = actors.run
    sold, kept = (with_check_digit(f"LFP{run.upper()}00001{i}") for i in (7, 8))
    dealer_id, line_id = f"D-{run}", f"FL-{run}"
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "Manufacturer", "oem1", via="TrafficAuthority") as oem,
        contract(net, "BankA", "loan1") as bank_a,
        contract(net, "BankA", "checker1") as checker,
        contract(net, "BankB", "loan1") as bank_b,
        contract(net, "Dealer", "dealer1", via="TrafficAuthority") as dealer,
        contract(net, "Regulator", "regulator1") as regulator,
    ):
        for i, v in enumerate((sold, kept)):
            transient, _ = owner(f"dealer-stock-{run}-{i}")
            vehicle = {
                "vin": v,
                "plate": f"沪F{i}{run[:4].upper()}",
                "make": "BYD",
                "model": "Seal",
                "year": 2026,
                "registration_date": _today(),
            }
            commit(officer, "RegisterVehicle", json.dumps(vehicle), transient=transient)
        commit(
            oem,
            "WhitelistDealer",
            json.dumps({"dealer_id": dealer_id, "dealer_msp_id": "DealerMSP", "name": "Pudong Motors"}),
        )
        line = {
            "line_id": line_id,
            "dealer_id": dealer_id,
            "approver_msp_id": CORE,
            "limit": "300000",
            "currency": "CNY",
            "rate": "0.058",
        }
        commit(bank_a, "OpenCreditLine", json.dumps(line))
        for i, v in enumerate((sold, kept)):
            advance = {
                "advance_id": f"A{i}-{run}",
                "line_id": line_id,
                "vin": v,
                "amount": "120000",
                "odometer_km": 8,
            }
            financed = commit(bank_a, "FinanceVehicle", json.dumps(advance))
            assert json.loads(financed.result)["floor_plan_lien_id"] == f"FP:A{i}-{run}"
        assert json.loads(officer.evaluate_transaction("GetVehicle", sold))["status"] == "FLOOR_PLAN"

        # the floor check: the kept car is scanned by its QR code, the sold one is not on the lot
        commit(
            officer,
            "IssueQrIdentity",
            kept,
            json.dumps({"code_id": f"QR-{run}", "payload_sha256": "5e" * 32}),
        )
        check_id = f"FC-{run}"
        commit(
            checker,
            "OpenFloorCheck",
            json.dumps({"check_id": check_id, "line_id": line_id, "location": "Pudong lot"}),
        )
        scan = {"code_id": f"QR-{run}", "place": "row A", "latitude": "31.2222", "longitude": "121.5438"}
        scanned = json.loads(commit(checker, "ScanFloorCheck", check_id, json.dumps(scan)).result)
        assert (scanned["vin"], scanned["advance_id"]) == (kept, f"A1-{run}")
        closed = json.loads(commit(checker, "CloseFloorCheck", check_id).result)
        assert (closed["seen"], closed["not_seen"]) == ([kept], [sold])
        alerts = json.loads(bank_a.evaluate_transaction("GetFloorPlanAlerts", line_id))
        assert [(a["rule"], a["vin"]) for a in alerts] == [("sold_out_of_trust:not_seen", sold)]
        assert any(
            a["alert_id"] == alerts[0]["alert_id"]
            for a in json.loads(
                bank_a.evaluate_transaction("QueryRiskAlerts", json.dumps({"lienholder": BANKA}))
            )
        )

        # the retail sale of the car not seen: payoff, release, title and BankB's consumer lien at once
        sale_doc = actors.doc(dealer, "sale_contract", sold)
        consent = actors.doc(bank_b, "owner_consent", sold)
        buyer, buyer_hash = owner(f"buyer-{run}")
        sale = {
            "advance_id": f"A0-{run}",
            "sale_price": "168000",
            "currency": "CNY",
            "buyer_owner_hash": buyer_hash,
            "sale_document_id": sale_doc,
            "payoff": _payment("120000", f"SWIFT-{run}"),
            "consumer_lien": {
                "lien_id": f"CL-{run}",
                "lienholder": BANKB,
                "loan_number": f"LN-{run}",
                "mortgage_contract_number": f"MC-{run}",
                "secured_amount": "100000",
                "maturity_date": (datetime.now(UTC).date() + timedelta(days=1095)).isoformat(),
                "consent_document_id": consent,
            },
        }
        short = dict(sale, payoff=_payment("119999.99", f"SWIFT-{run}"))
        with pytest.raises(EndorseError) as refused:
            commit(bank_a, "RetailSale", sold, json.dumps(short), transient=buyer)
        assert "rule 'payoff_amount'" in error_text(refused.value)
        # the vehicle key carries TrafficAuthority AND BankA: without BankA's peer the ledger refuses it
        with pytest.raises(CommitError) as sbe:
            commit(
                bank_a,
                "RetailSale",
                sold,
                json.dumps(sale),
                transient=buyer,
                endorsing_organizations=[TA, BANKB],
            )
        assert sbe.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
        assert json.loads(officer.evaluate_transaction("GetVehicle", sold))["status"] == "FLOOR_PLAN"
        done = commit(bank_a, "RetailSale", sold, json.dumps(sale), transient=buyer)
        orgs, code = endorsers(net, done.status.block_number, done.transaction_id)
        assert code == 0 and {TA, BANKA} <= set(orgs)
        result = json.loads(done.result)
        assert (result["payoff_amount"], result["floor_plan_lien_status"]) == ("120000", "RELEASED")
        vehicle = json.loads(officer.evaluate_transaction("GetVehicle", sold))
        assert (vehicle["status"], vehicle["owner_hash"]) == ("REGISTERED", buyer_hash)
        assert json.loads(officer.evaluate_transaction("GetLien", f"CL-{run}"))["status"] == "REQUESTED"

        # the kept car: BankB asks for a consumer lien on it while its advance is unpaid — sold out of trust
        bank_b_consent = actors.doc(bank_b, "owner_consent", kept)
        request = {
            "lien_id": f"CK-{run}",
            "vin": kept,
            "loan_number": f"LK-{run}",
            "mortgage_contract_number": f"MK-{run}",
            "secured_amount": "90000",
            "currency": "CNY",
            "maturity_date": (datetime.now(UTC).date() + timedelta(days=1095)).isoformat(),
            "consent_document_id": bank_b_consent,
        }
        commit(bank_b, "RequestLien", json.dumps(request))
        rules = sorted(
            a["rule"] for a in json.loads(bank_a.evaluate_transaction("GetFloorPlanAlerts", line_id))
        )
        assert rules == ["sold_out_of_trust:consumer_lien", "sold_out_of_trust:not_seen"]
        with pytest.raises(EndorseError) as no_record:
            commit(officer, "RecordLien", f"CK-{run}")
        assert "rule 'floor_plan'" in error_text(no_record.value)
        transient, digest = owner(f"grey-buyer-{run}")
        with pytest.raises(EndorseError) as no_transfer:
            commit(
                officer,
                "TransferTitle",
                kept,
                json.dumps({"new_owner_hash": digest, "reason": "sale"}),
                transient=transient,
            )
        assert "rule 'floor_plan'" in error_text(no_transfer.value)

        # the regulator's totals and BankA's exposure come from the same ledger
        totals = json.loads(regulator.evaluate_transaction("GetFloorPlanTotals"))
        assert totals["alerts_by_rule"]["sold_out_of_trust:not_seen"] >= 1
        exposure = json.loads(
            bank_a.evaluate_transaction("GetFloorPlanExposure", json.dumps({"dealer_id": dealer_id}))
        )
        assert [(d["outstanding"], d["open_advances"]) for d in exposure["dealers"]] == [("120000", 1)]
