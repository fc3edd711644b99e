"""The running network's org set as data (network.orgset) and what an added org derives from it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from chaincode import consortium
from network import config, onboarding, orgset, topology
from network.errors import NetworkError
from network.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(tmp_path / "network"))
    monkeypatch.setenv("MLEDGER_NETWORK_BASE_PORT", "40000")
    return Settings.from_env()


def test_without_a_topology_file_the_org_set_is_the_consortium(settings: Settings) -> None:
    assert orgset.orgs(settings) == topology.ORGS and orgset.added(settings) == ()
    assert orgset.endorsement_policy(settings) == consortium.ENDORSEMENT_POLICY


def test_an_added_bank_is_recorded_and_every_derivation_sees_it(settings: Settings) -> None:
    bank_c = onboarding.new_org(settings, "BankC", "bank")
    assert (bank_c.msp_id, bank_c.index, bank_c.kind, bank_c.peer, bank_c.endorsing) == (
        "BankCMSP",
        len(topology.ORGS),
        "bank",
        True,
        True,
    )
    assert [u.name for u in bank_c.users] == [u.name for u in topology.org("BankA").users]
    orgset.write(settings, (bank_c,))
    doc = json.loads(orgset.topology_file(settings).read_text())
    assert [o["msp_id"] for o in doc["orgs"] if o["added"]] == ["BankCMSP"]
    assert len(doc["orgs"]) == len(topology.ORGS) + 1

    assert orgset.added(settings) == (bank_c,)
    assert "'BankCMSP.peer'" in orgset.endorsement_policy(settings)
    nodes = {n.name: n for n in topology.nodes(settings.ports, orgs=orgset.orgs(settings))}
    assert nodes["ca.bankc"].ports["listen"] == 40000 + bank_c.index
    assert nodes["peer0.bankc"].ports["listen"] == 40200 + 10 * bank_c.index
    assert topology.org("bankc", orgset.orgs(settings)) == bank_c
    # its peer does not wait 60 s per block for its own implicit collection's old private data
    assert config.peer_env(settings, bank_c)["CORE_PEER_GOSSIP_PVTDATA_PULLRETRYTHRESHOLD"] == "5s"
    assert "CORE_PEER_GOSSIP_PVTDATA_PULLRETRYTHRESHOLD" not in config.peer_env(
        settings, topology.org("BankA")
    )

    # a second add takes the next slot; the port plan has ten
    bank_d = onboarding.new_org(settings, "BankD", "bank")
    assert bank_d.index == bank_c.index + 1
    orgset.write(settings, (bank_d,))
    with pytest.raises(NetworkError, match="no free port slot"):
        onboarding.new_org(settings, "BankE", "bank")
    orgset.write_added(settings, (bank_d,))
    assert orgset.added(settings) == (bank_d,)


@pytest.mark.parametrize(
    ("name", "kind", "error"),
    [
        ("BankB", "bank", "org: BankB (BankBMSP) already exists in this network; nothing changed"),
        ("bankb", "bank", "must be a letter then"),
        ("Insurer2", "insurer", "kind: 'insurer' cannot be added"),
        ("Regulator", "bank", "Regulator (RegulatorMSP) already exists"),
        ("B", "bank", "must be a letter then 1-30 letters or digits"),
    ],
)
def test_a_new_org_is_refused_with_the_field_named(
    settings: Settings, name: str, kind: str, error: str
) -> None:
    with pytest.raises(NetworkError, match=error.replace("(", r"\(").replace(")", r"\)")):
        onboarding.new_org(settings, name, kind)


def test_the_chaincode_knows_added_banks_only_from_its_environment() -> None:
    raw = json.dumps([{"key": "bankc", "name": "BankC", "msp_id": "BankCMSP", "kind": "bank"}])
    (bank_c,) = consortium._added(raw, consortium.ORGS)
    bank_a = consortium.org("banka")
    assert bank_c == replace(bank_a, key="bankc", name="BankC", msp_id="BankCMSP")
    assert "loan_officer" in bank_c.roles
    insurer = json.dumps([{"key": "ins2", "name": "Ins2", "msp_id": "Ins2MSP", "kind": "insurer"}])
    with pytest.raises(ValueError, match="kind insurer; only bank can be added"):
        consortium._added(insurer, consortium.ORGS)
    assert consortium._added("", consortium.ORGS) == ()
    assert "BankCMSP" not in {o.msp_id for o in consortium.ORGS}  # this process has no such variable
