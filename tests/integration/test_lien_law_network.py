"""Issue 15 on real Fabric peers: a junior's foreclosure sale is refused by the chaincode without the
senior's consent, is ENDORSEMENT_POLICY_FAILURE without the senior's peer, and VALID with it (the senior
org among the endorsements); amendment; payoff quote → payment → release; a correction and the lapse
sweep.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from app.fabric_gateway import CommitError, EndorseError
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration import payloads
from tests.integration.test_mortgage_lifecycle import (
    BANKA,
    BANKB,
    CC,
    TA,
    Actors,
    Committer,
    contract,
    endorsers,
    ensure_models,
    error_text,
    owner,
)


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    pid = fabric_network.chaincodes.get(CC, "")
    assert pid.startswith(CC), f"chaincode {CC} is not deployed: {pid}"
    ensure_models(fabric_network)
    return fabric_network


def register(actors: Actors, commit: Committer, officer: Any, bank: Any, vin: str, label: str) -> None:
    transient, _ = owner(f"{label}-{actors.run}")
    plate = f"粤B{label[:2].upper()}{actors.run[:4].upper()}"
    vehicle = payloads.vehicle(vin, plate, model="Seal", year=2025, registration_date="2025-05-01")
    commit(officer, "RegisterVehicle", vehicle, transient=transient)
    valuation = payloads.valuation(f"V-{label}-{actors.run}", vin, 150000, inputs_hash="3c" * 32)
    commit(officer, "RecordValuation", valuation)  # the office values any vehicle


def lien(
    actors: Actors, commit: Committer, officer: Any, bank: Any, lien_id: str, vin: str, amount: str
) -> None:
    consent = actors.doc(bank, "owner_consent", vin)
    maturity = (date.today() + timedelta(days=1000)).isoformat()
    commit(bank, "RequestLien", payloads.lien_request(lien_id, vin, amount, consent, maturity=maturity))
    commit(officer, "RecordLien", lien_id)


def test_seniority_payoff_amend_and_lapse_on_fabric(net: FabricNetworkInfo) -> None:
    actors = Actors(net)
    commit = Committer(net)
    run = actors.run
    vin = with_check_digit(f"LFV{run.upper()}000015")
    vin2 = with_check_digit(f"LFV{run.upper()}000016")
    senior, junior, solo = f"LS-{run}", f"LJ-{run}", f"LP-{run}"
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "BankA", "loan1") as bank_a,
        contract(net, "BankB", "loan1") as bank_b,
        contract(net, "Insurer", "underwriter1") as insurer,
        contract(net, "BankA", "auditor1", via="TrafficAuthority") as auditor,
    ):
        register(actors, commit, officer, bank_a, vin, "sen")
        lien(actors, commit, officer, bank_a, senior, vin, "70000")
        lien(actors, commit, officer, bank_b, junior, vin, "40000")

        # amend: a new version of the lien; the vehicle key is rewritten, so every lienholder endorses
        amended = commit(
            bank_a,
            "AmendLien",
            senior,
            json.dumps({"mortgage_contract_number": f"MC2-{run}", "reason": "renumbered"}),
        )
        assert json.loads(amended.result)["version"] == 2
        orgs, code = endorsers(net, amended.status.block_number, amended.transaction_id)
        assert code == 0 and {TA, BANKA, BANKB} <= set(orgs)

        # the senior reports its outstanding balance: the sale pays that, not the original amount
        balance = {"outstanding": "30000", "currency": "CNY", "as_of": date.today().isoformat()}
        commit(bank_a, "ReportLienBalance", senior, json.dumps(balance))

        notice = actors.doc(bank_b, "foreclosure_notice", vin, junior)
        commit(bank_b, "StartForeclosure", junior, notice)
        sale = actors.doc(bank_b, "sale_contract", vin)
        buyer, buyer_hash = owner(f"buyer-{run}")
        disposal = json.dumps(
            {
                "sale_price": "140000",
                "currency": "CNY",
                "buyer_owner_hash": buyer_hash,
                "sale_document_id": sale,
            }
        )
        # 1. the chaincode refuses: the senior has not consented and there is no court order
        with pytest.raises(EndorseError) as refused:
            commit(bank_b, "CompleteDisposal", vin, disposal, transient=buyer)
        assert "rule 'senior_consent'" in error_text(refused.value)
        assert f"{senior} held by {BANKA} (priority 1, claim 30000.00 CNY)" in error_text(refused.value)

        # 2. the senior consents with its own identity
        commit(bank_a, "ConsentToEnforcement", senior, json.dumps({"foreclosing_lien_id": junior}))
        # 3. without the senior's peer the ledger refuses it: the vehicle key needs BankA's endorsement
        with pytest.raises(CommitError) as sbe:
            commit(
                bank_b,
                "CompleteDisposal",
                vin,
                disposal,
                transient=buyer,
                endorsing_organizations=[TA, BANKB],
            )
        assert sbe.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
        assert json.loads(auditor.evaluate_transaction("GetLien", senior))["status"] == "RECORDED"
        # 4. with it (the Gateway adds the lienholders the key policy names) it is VALID
        sold = commit(bank_b, "CompleteDisposal", vin, disposal, transient=buyer)
        orgs, code = endorsers(net, sold.status.block_number, sold.transaction_id)
        assert code == 0 and BANKA in orgs and TA in orgs and BANKB in orgs
        result = json.loads(sold.result)
        assert [(p["lien_id"], p["paid"]) for p in result["distribution"]] == [
            (senior, "30000"),
            (junior, "40000"),
        ]
        assert result["surplus"] == "70000" and result["authority"] == [f"consent:{senior}"]
        assert json.loads(auditor.evaluate_transaction("GetLien", senior))["status"] == "DISCHARGED"

        # payoff: quote on the owner's request, payment in time, the lien is released
        register(actors, commit, officer, bank_a, vin2, "pay")
        lien(actors, commit, officer, bank_a, solo, vin2, "50000")
        commit(bank_a, "RequestPayoffQuote", solo, json.dumps({"request_id": "R1", "requested_by": "owner"}))
        good_through = (date.today() + timedelta(days=10)).isoformat()
        quote = {
            "quote_id": "Q1",
            "request_id": "R1",
            "amount": "48000",
            "currency": "CNY",
            "good_through": good_through,
        }
        commit(bank_a, "IssuePayoffQuote", solo, json.dumps(quote))
        short = {
            "quote_id": "Q1",
            "amount": "47000",
            "currency": "CNY",
            "paid_on": date.today().isoformat(),
            "payment_reference": "W-1",
        }
        with pytest.raises(EndorseError) as underpaid:
            commit(bank_a, "RecordPayoffPayment", solo, json.dumps(short))
        assert "short by 1000.00" in error_text(underpaid.value)
        paid = commit(bank_a, "RecordPayoffPayment", solo, json.dumps({**short, "amount": "48000"}))
        assert (json.loads(paid.result)["status"], json.loads(paid.result)["end_reason"]) == (
            "RELEASED",
            "payoff",
        )

        # lapse: a second lien on vin2 whose true maturity (corrected on evidence) is long past is lapsed
        # by the sweep any consortium member may run
        lapsing = f"LL-{run}"
        lien(actors, commit, officer, bank_b, lapsing, vin2, "20000")
        evidence = actors.doc(officer, "correction_evidence", vin2, lapsing)
        correction = {
            "evidence_document_id": evidence,
            "reason": "maturity keyed wrongly",
            "maturity_date": "2024-01-31",
        }
        corrected = commit(officer, "CorrectLien", lapsing, json.dumps(correction))
        orgs, code = endorsers(net, corrected.status.block_number, corrected.transaction_id)
        assert code == 0 and BANKB in orgs  # the affected lienholder endorsed the correction
        swept = json.loads(commit(insurer, "SweepLienMaturities", json.dumps({"page_size": 200})).result)
        assert lapsing in [x["lien_id"] for x in swept["lapsed"]]
        assert json.loads(auditor.evaluate_transaction("GetLien", lapsing))["status"] == "LAPSED"
        versions = [
            h["value"]["status"] for h in json.loads(auditor.evaluate_transaction("GetLienHistory", lapsing))
        ]
        assert versions[:2] == ["LAPSED", "RECORDED"]
        assert json.loads(auditor.evaluate_transaction("GetVehicle", vin2))["status"] == "REGISTERED"
