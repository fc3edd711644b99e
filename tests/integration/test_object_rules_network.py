"""Issue 12 findings 1 and 3 through real Fabric peers, signed by each org's own fabric-ca identities.

- owner personal data: a bank whose lien is only requested reads nothing; a consent anchored by another
  bank or with no VIN backs no lien; the lienholder reads the owner once the vehicle office records it;
- valuations: a bank with no lien on the vehicle cannot overwrite its latest value; the requesting
  bank and the vehicle office can.
Every refusal comes from the chaincode on the peer (endorsement or evaluation error naming the rule) and
leaves the ledger as it was.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from app.fabric_gateway import EndorseError, EvaluateError
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration.test_mortgage_lifecycle import Actors, contract, ensure_models, error_text, net, owner

__all__ = ["net"]  # the module fixture, shared with the lifecycle tests


def _valuation(vin: str, valuation_id: str, value: str) -> str:
    amount = float(value)
    return json.dumps(
        {
            "valuation_id": valuation_id,
            "vin": vin,
            "value": value,
            "currency": "CNY",
            "interval_low": f"{amount * 0.9:.2f}",
            "interval_high": f"{amount * 1.1:.2f}",
            "coverage": "0.9",
            "model_id": "residual-lgbm",
            "model_version": "1.0.0",
            "inputs_hash": "ab" * 32,
            "valuer": "valuation-service",
        }
    )


def _lien(lien_id: str, vin: str, consent: str, amount: str = "50000") -> str:
    return json.dumps(
        {
            "lien_id": lien_id,
            "vin": vin,
            "loan_number": f"LN-{lien_id}",
            "mortgage_contract_number": f"MC-{lien_id}",
            "secured_amount": amount,
            "currency": "CNY",
            "maturity_date": "2030-01-01",
            "consent_document_id": consent,
        }
    )


def _doc_without_vin(actors: Actors, who: Any, doc_type: str) -> str:
    doc_id = f"D-{actors.run}-{uuid.uuid4().hex[:6]}"
    body = f"{doc_type}:{doc_id}".encode()
    document = {
        "document_id": doc_id,
        "doc_type": doc_type,
        "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "encryption_key_ref": f"kms://it/{doc_id}",
    }
    actors.commit(who, "AnchorDocument", json.dumps(document))
    return doc_id


def test_owner_data_and_valuations_follow_the_lien_on_fabric(net: FabricNetworkInfo) -> None:
    ensure_models(net)  # valuations name a model version registered on chain
    actors = Actors(net)
    commit = actors.commit
    run = actors.run
    vin = with_check_digit(f"LSR{run.upper()}000000")
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "BankA", "loan1") as bank_a,
        contract(net, "BankB", "loan1") as bank_b,
        contract(net, "Insurer", "underwriter1") as insurer,
    ):
        transient, _ = owner(f"rules-{run}")
        vehicle = {
            "vin": vin,
            "plate": f"粤B{run[:5].upper()}",
            "make": "BYD",
            "model": "Seal",
            "year": 2024,
            "registration_date": "2024-05-01",
        }
        commit(officer, "RegisterVehicle", json.dumps(vehicle), transient=transient)
        commit(officer, "RecordValuation", _valuation(vin, f"V0-{run}", "200000"))

        # BankA: its own consent for this VIN, a request, the office records it -> the owner's data
        consent_a = actors.doc(bank_a, "owner_consent", vin)
        commit(bank_a, "RequestLien", _lien(f"LA-{run}", vin, consent_a))
        with pytest.raises(EvaluateError) as requested_only:
            bank_a.evaluate_transaction("GetOwner", vin)
        assert "owner_read_lienholder" in error_text(requested_only.value)
        commit(officer, "RecordLien", f"LA-{run}")
        assert json.loads(bank_a.evaluate_transaction("GetOwner", vin))["name"] == f"Owner rules-{run}"

        # BankB, no lien: no owner data, and it cannot lower BankA's collateral value
        with pytest.raises(EvaluateError) as no_lien:
            bank_b.evaluate_transaction("GetOwner", vin)
        assert "owner_read_lienholder" in error_text(no_lien.value)
        with pytest.raises(EndorseError) as low:
            bank_b.submit("RecordValuation", _valuation(vin, f"V-LOW-{run}", "1.00"))
        assert "valuer_lien" in error_text(low.value) and "BankBMSP" in error_text(low.value)
        latest = json.loads(bank_a.evaluate_transaction("GetLatestValuation", vin))
        assert latest["valuation_id"] == f"V0-{run}" and latest["value"] == "200000"
        with pytest.raises(EndorseError) as insurer_value:
            insurer.submit("RecordValuation", _valuation(vin, f"V-INS-{run}", "1.00"))
        assert "rule 'valuer'" in error_text(insurer_value.value)

        # BankB's lien request on another bank's consent, or on a consent naming no vehicle: refused
        with pytest.raises(EndorseError) as borrowed:
            bank_b.submit("RequestLien", _lien(f"LB-{run}", vin, consent_a))
        assert "anchored by BankAMSP" in error_text(borrowed.value)
        blank = _doc_without_vin(actors, bank_b, "owner_consent")
        with pytest.raises(EndorseError) as unbound:
            bank_b.submit("RequestLien", _lien(f"LB-{run}", vin, blank))
        assert "names no vehicle" in error_text(unbound.value)
        with pytest.raises(EvaluateError):
            bank_b.evaluate_transaction("GetLien", f"LB-{run}")  # nothing was written

        # with its own consent for this VIN BankB may request, then value; the owner stays closed to it
        consent_b = actors.doc(bank_b, "owner_consent", vin)
        commit(bank_b, "RequestLien", _lien(f"LB-{run}", vin, consent_b, "20000"))
        commit(bank_b, "RecordValuation", _valuation(vin, f"V-B-{run}", "190000"))
        assert json.loads(bank_a.evaluate_transaction("GetLatestValuation", vin))["value"] == "190000"
        with pytest.raises(EvaluateError) as still_requested:
            bank_b.evaluate_transaction("GetOwner", vin)
        assert "owner_read_lienholder" in error_text(still_requested.value)
