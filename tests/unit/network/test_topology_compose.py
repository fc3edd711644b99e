"""docker-compose.yaml and the native network derive from one topology: check they still agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from network import chaincode, compose, topology
from network.topology import Ports

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_committed_compose_file_is_the_rendered_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    # The committed file is rendered for the default ports, whatever this shell's overrides are.
    for var in ("MLEDGER_NETWORK_BASE_PORT", "MLEDGER_NETWORK_DIR", "MLEDGER_BIN_DIR", "FABRIC_VERSION"):
        monkeypatch.delenv(var, raising=False)
    assert (ROOT / "docker-compose.yaml").read_text() == compose.render(), (
        "docker-compose.yaml is stale: run `python -m network compose > docker-compose.yaml`"
    )


def test_compose_names_the_same_orgs_nodes_channel_and_chaincodes() -> None:
    services = _compose()["services"]
    native = {n.name for n in topology.nodes(Ports()) if n.kind != "kubo"} | {"kubo"}
    assert native <= set(services)
    peers = {k: v for k, v in services.items() if v["labels"].get("mledger.kind") == "peer"}
    assert {v["labels"]["mledger.org"] for v in peers.values()} == {o.msp_id for o in topology.peer_orgs()}
    assert {v["labels"]["mledger.channel"] for v in peers.values()} == {topology.CHANNEL}
    cas = {v["labels"]["mledger.org"] for v in services.values() if v["labels"].get("mledger.kind") == "ca"}
    assert cas == {o.msp_id for o in topology.ORGS}
    orderers = [k for k, v in services.items() if v["labels"].get("mledger.kind") == "orderer"]
    assert len(orderers) == topology.ORDERER_COUNT == 3
    ccs = {
        v["labels"]["mledger.chaincode"]
        for v in services.values()
        if v["labels"].get("mledger.kind") == "chaincode"
    }
    assert ccs == {s.name for s in chaincode.load_specs()} == {"mortgage", "runtimetest"}
    assert "gateway" in services


def test_compose_uses_official_images_and_loopback_only() -> None:
    services = _compose()["services"]
    assert services["peer0.banka"]["image"].startswith("hyperledger/fabric-peer:2.5.")
    assert services["orderer0"]["image"].startswith("hyperledger/fabric-orderer:2.5.")
    assert services["ca.banka"]["image"].startswith("hyperledger/fabric-ca:")
    text = (ROOT / "docker-compose.yaml").read_text()
    assert "0.0.0.0" not in text


def test_topology_orgs_and_roles() -> None:
    msps = {o.msp_id for o in topology.ORGS}
    assert msps == {
        "TrafficAuthorityMSP",
        "BankAMSP",
        "BankBMSP",
        "InsurerMSP",
        "RegulatorMSP",
        "DealerMSP",
        "OrdererMSP",
        "ManufacturerMSP",
    }
    assert {o.msp_id for o in topology.ORGS if o.endorsing} == {
        "TrafficAuthorityMSP",
        "BankAMSP",
        "BankBMSP",
        "InsurerMSP",
    }
    assert topology.org("regulator").peer and not topology.org("regulator").endorsing
    assert not topology.org("DealerMSP").peer
    users = {(o.name, u.name): u.role for o in topology.ORGS for u in o.users}
    assert users[("TrafficAuthority", "officer1")] == "registrar"
    assert users[("BankA", "loan1")] == users[("BankB", "loan1")] == "loan_officer"
    assert users[("Insurer", "underwriter1")] == "underwriter"
    assert users[("Dealer", "dealer1")] == "dealer"
    assert users[("Regulator", "regulator1")] == "regulator"
    assert all(
        users[(o.name, "admin")] == "admin" and users[(o.name, "auditor1")] == "auditor"
        for o in topology.ORGS
    )


def test_ports_are_unique_and_move_with_the_base() -> None:
    for base in (27000, 31000):
        nodes = topology.nodes(Ports(base))
        ports = [p for n in nodes for p in n.ports.values()]
        ports += [Ports(base).chaincode(s.slot) for s in chaincode.load_specs()]
        assert len(ports) == len(set(ports))
        assert min(ports) == base
        assert max(ports) < base + 500
