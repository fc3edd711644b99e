"""The SmartBFT ordering profile as configuration: four orderers, one per endorsing org, each with its own
org's crypto; refused on Fabric 2.5 (no BFT orderer, no V3_0 capability). The running network is tested in
tests/integration/bft."""

from __future__ import annotations

from pathlib import Path

import pytest

from network import config, connection_profile, topology
from network.settings import Settings


def _settings(tmp_path: Path, ordering: str, version: str = "3.1.1") -> Settings:
    return Settings(
        tmp_path / "data", tmp_path / "bin", 30000, version, "1.5.21", "0.42.0", "250ms", ordering=ordering
    )


def test_bft_orderers_are_one_per_endorsing_org() -> None:
    got = [(name, org.name) for name, org in topology.orderers(topology.BFT)]
    assert got == [
        ("orderer0", "TrafficAuthority"),
        ("orderer1", "BankA"),
        ("orderer2", "BankB"),
        ("orderer3", "Insurer"),
    ]
    assert {o.name for _, o in topology.orderers(topology.RAFT)} == {"Orderer"}
    nodes = [n for n in topology.nodes(topology.Ports(30000), topology.BFT) if n.kind == "orderer"]
    assert [n.ports["listen"] for n in nodes] == [30100, 30110, 30120, 30130]
    with pytest.raises(ValueError, match="ordering"):
        topology.orderers("kafka")


def test_bft_genesis_profile_maps_each_consenter_to_its_own_org(tmp_path: Path) -> None:
    s = _settings(tmp_path, topology.BFT)
    profile = config.configtx(s)["Profiles"][config.PROFILE]
    orderer = profile["Orderer"]
    assert orderer["OrdererType"] == "BFT" and "EtcdRaft" not in orderer
    assert profile["Capabilities"] == {"V3_0": True}
    mapping = orderer["ConsenterMapping"]
    assert [c["ID"] for c in mapping] == [1, 2, 3, 4]
    for c, (name, org) in zip(mapping, topology.orderers(topology.BFT), strict=True):
        assert c["MSPID"] == org.msp_id and c["Port"] == s.ports.orderer(int(name[-1]))
        assert c["Identity"].endswith(f"crypto/{org.key}/nodes/{name}/msp/signcerts/cert.pem")
        assert c["ClientTLSCert"].endswith(f"crypto/{org.key}/nodes/{name}/tls/cert.pem")
    assert [o["ID"] for o in orderer["Organizations"]] == [o.msp_id for o in topology.bft_orderer_orgs()]
    assert "OrdererMSP" not in {o["ID"] for o in orderer["Organizations"]}
    for o in orderer["Organizations"]:
        assert len(o["OrdererEndpoints"]) == 1
    env = config.orderer_env(s, 2)
    assert env["ORDERER_GENERAL_LOCALMSPID"] == "BankBMSP"
    assert env["ORDERER_GENERAL_CLUSTER_ROOTCAS"].count("tlscacerts") == 4


def test_raft_profile_is_unchanged_by_the_bft_option(tmp_path: Path) -> None:
    profile = config.configtx(_settings(tmp_path, topology.RAFT, "2.5.9"))["Profiles"][config.PROFILE]
    assert profile["Orderer"]["OrdererType"] == "etcdraft"
    assert len(profile["Orderer"]["EtcdRaft"]["Consenters"]) == 3
    assert [o["ID"] for o in profile["Orderer"]["Organizations"]] == ["OrdererMSP"]
    assert profile["Capabilities"] == {"V2_0": True}


def test_bft_needs_fabric_3_and_a_known_profile(tmp_path: Path) -> None:
    problem = _settings(tmp_path, topology.BFT, "2.5.9").ordering_problem()
    assert problem is not None and "needs Fabric 3" in problem and "FABRIC_VERSION=3.1.1" in problem
    assert "not an ordering profile" in str(_settings(tmp_path, "kafka").ordering_problem())
    assert _settings(tmp_path, topology.BFT).ordering_problem() is None


def test_bft_connection_profile_lists_four_orderers_with_their_orgs_tls_ca(tmp_path: Path) -> None:
    s = _settings(tmp_path, topology.BFT)
    doc = connection_profile.connection_profile(s, "banka")
    cas = {name: o["tlsCACerts"] for name, o in doc["orderers"].items()}
    assert list(cas) == ["orderer0", "orderer1", "orderer2", "orderer3"]
    assert len({str(v) for v in cas.values()}) == 4
