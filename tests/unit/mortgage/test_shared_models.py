"""One set of input models: the API edge validates with the contract's own request models.

Each body the API forwards as a chaincode argument is the contract's class itself; the bodies that take
an owner's personal data instead of its hash build on the contract's terms, and differ from the
contract's request by exactly that field. A body the edge accepts is one the contract accepts.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

import app.api.models as api
import chaincode.mortgage.models as cc
from chaincode.mortgage.rules import owner_hash

SHARED = {
    "VehicleIn": cc.VehicleIn,
    "LienRequestIn": cc.LienRequestIn,
    "InsurancePolicyIn": cc.InsurancePolicyIn,
    "Coverage": cc.CoverageIn,
    "ClaimIn": cc.ClaimIn,
    "MaintenanceIn": cc.MaintenanceIn,
    "OdometerIn": cc.OdometerIn,
    "ValuationIn": cc.ValuationIn,
    "ConfigIn": cc.ConfigIn,
    "CourtOrder": cc.OrderIn,
    "DocType": cc.DocType,
    "VehicleStatus": cc.VehicleStatus,
    "LienStatus": cc.LienStatus,
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_api_body_is_the_contract_model(name: str) -> None:
    assert getattr(api, name) is SHARED[name]


def _fields(model: type[BaseModel]) -> dict[str, str]:
    """Each field with its full validation (type, constraints, default), for a field-by-field comparison."""
    return {name: repr(info) for name, info in model.model_fields.items()}


@pytest.mark.parametrize(
    ("edge", "contract", "edge_only", "contract_only"),
    [
        (api.OwnerData, cc.OwnerIn, set(), set()),
        (api.TitleTransferIn, cc.TransferIn, {"new_owner"}, {"new_owner_hash"}),
        (api.DisposalIn, cc.DisposalIn, {"buyer"}, {"buyer_owner_hash"}),
    ],
)
def test_edge_bodies_differ_from_the_contract_only_by_the_owner(
    edge: type[BaseModel], contract: type[BaseModel], edge_only: set[str], contract_only: set[str]
) -> None:
    edge_fields, contract_fields = _fields(edge), _fields(contract)
    assert set(edge_fields) - set(contract_fields) == edge_only
    assert set(contract_fields) - set(edge_fields) == contract_only
    for name in set(edge_fields) & set(contract_fields):
        assert edge_fields[name] == contract_fields[name], name
    assert edge.model_config.get("extra") == contract.model_config.get("extra") == "forbid"


def test_api_disposal_becomes_an_argument_the_contract_accepts() -> None:
    body = api.DisposalIn.model_validate(
        {
            "sale_price": "98000.00",
            "currency": "CNY",
            "buyer": {"name": "Wang Fang", "id_number": "110101198805051234"},
            "sale_document_id": "DOC-SALE",
            "costs": "1200.50",
            "costs_document_id": "DOC-COSTS",
        }
    )
    transient, digest = body.buyer.transient()
    assert digest == owner_hash(transient["owner_salt"], body.buyer.id_number)
    terms = body.model_dump(mode="json", exclude={"buyer"}, exclude_none=True)
    argument = cc.DisposalIn.model_validate({**terms, "buyer_owner_hash": digest})
    assert argument.costs == Decimal("1200.50") and argument.mode is cc.SaleMode.FREE_AND_CLEAR


def test_edge_refuses_what_the_contract_refuses() -> None:
    """The contract's cross-field rules hold at the edge too (they are the same validators)."""
    with pytest.raises(ValidationError, match="costs_document_id is required"):
        api.DisposalIn.model_validate(
            {
                "sale_price": "100",
                "currency": "CNY",
                "buyer": {"name": "A", "id_number": "ID-1234"},
                "sale_document_id": "D1",
                "costs": "5",
            }
        )
    with pytest.raises(ValidationError, match="currency is required when new_price is given"):
        api.VehicleIn.model_validate(
            {
                "vin": "1M8GDM9AXKP042788",
                "plate": "京A12345",
                "make": "BYD",
                "model": "Han",
                "year": 2024,
                "registration_date": "2024-03-01",
                "new_price": "259800.00",
            }
        )


def test_chaincode_json_is_the_argument_the_contract_parses() -> None:
    policy = api.InsurancePolicyIn.model_validate(
        {
            "policy_id": "P-1",
            "vin": "1M8GDM9AXKP042788",
            "coverage": {"type": "theft", "amount": "50000.00", "currency": "CNY"},
            "valid_from": "2026-01-01",
            "valid_to": "2027-01-01",
        }
    )
    assert cc.InsurancePolicyIn.model_validate_json(policy.chaincode_json()) == policy
    assert '"document_id"' not in policy.chaincode_json()
