"""What ships beside the contract: collections config, CouchDB indexes, metadata, unknown functions."""

from __future__ import annotations

import json
from pathlib import Path

from chaincode.mortgage import access
from chaincode.mortgage.models import Lien, Vehicle

from .chain import Chain

PKG = Path(__file__).resolve().parents[3] / "chaincode" / "mortgage"


def test_collections_config_is_fabric_format() -> None:
    config = json.loads((PKG / "collections_config.json").read_text())
    assert [c["name"] for c in config] == ["ownerPrivate"]
    owner = config[0]
    assert owner["policy"] == (
        "OR('TrafficAuthorityMSP.member','BankAMSP.member','BankBMSP.member','RegulatorMSP.member')"
    )
    assert owner["memberOnlyRead"] is True and owner["memberOnlyWrite"] is True
    assert owner["blockToLive"] == 0
    assert 0 <= owner["requiredPeerCount"] <= owner["maxPeerCount"] <= 3  # 4 member peers, minus the endorser
    assert set(owner) <= {
        "name",
        "policy",
        "requiredPeerCount",
        "maxPeerCount",
        "blockToLive",
        "memberOnlyRead",
        "memberOnlyWrite",
        "endorsementPolicy",
    }


def test_couchdb_indexes_name_stored_fields() -> None:
    files = sorted((PKG / "META-INF" / "statedb" / "couchdb" / "indexes").glob("*.json"))
    assert len(files) >= 6
    record_fields = set(Vehicle.model_fields) | set(Lien.model_fields)
    for path in files:
        index = json.loads(path.read_text())
        assert index["type"] == "json" and index["ddoc"] and index["name"]
        assert set(index["index"]["fields"]) <= record_fields, path.name


def test_metadata_lists_every_transaction() -> None:
    c = Chain()
    meta = c.ok("regulator", "org.hyperledger.fabric:GetMetadata")
    contract = next(iter(meta["contracts"].values()))
    names = {tx["name"] for tx in contract["transactions"]}
    assert names == set(access.ACCESS)


def test_unknown_function_is_a_400_naming_it() -> None:
    c = Chain()
    assert "function 'Teleport' not found" in c.fail("ta", "Teleport", status=400)
    assert "Teleport' not found in contract 'MortgageContract'" in c.fail(
        "ta", "MortgageContract:Teleport", status=400
    )
    assert c.ok("ta", "MortgageContract:GetConfig")["valuation_max_age_days"] == 90
