"""The network writes a Fabric connection profile per org; the gateway reads only that file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.ledger.fabric import NetworkProfile
from app.ledger.port import LedgerError
from app.ledger.profile import adapter_mapping, certificate_authorities, client_msp_id, load_profile
from app.users.fabric_profile import configs_from_profile
from chaincode import consortium
from network import connection_profile as cp
from network import topology
from network.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in ("MLEDGER_NETWORK_BASE_PORT", "MLEDGER_NETWORK_HOSTS"):
        monkeypatch.delenv(var, raising=False)
    return replace(Settings.from_env(), data_dir=tmp_path / "net", base_port=31000)


def test_org_profile_is_a_fabric_common_connection_profile(settings: Settings) -> None:
    doc = cp.connection_profile(settings, "banka")
    assert doc["client"]["organization"] == "BankA"
    assert doc["organizations"]["BankA"] == {
        "mspid": "BankAMSP",
        "peers": ["peer0.banka"],
        "certificateAuthorities": ["ca.banka"],
    }
    assert doc["organizations"]["Dealer"]["peers"] == []  # a client-only org
    assert "Orderer" not in doc["organizations"]
    peer = doc["peers"]["peer0.banka"]
    assert peer["url"] == f"grpcs://127.0.0.1:{settings.ports.peer(topology.org('banka'))}"
    assert peer["tlsCACerts"]["path"].endswith("crypto/banka/msp/tlscacerts/ca.pem")
    assert set(doc["peers"]) == {f"peer0.{o.key}" for o in consortium.ORGS if o.peer}
    assert set(doc["orderers"]) == {"orderer0", "orderer1", "orderer2"}
    assert list(doc["channels"]) == [consortium.CHANNEL]
    assert doc["channels"]["vehicles"]["peers"]["peer0.regulator"]["endorsingPeer"] is False
    # what a per-org gateway may see: its own CA, users and registrar only
    assert list(doc["certificateAuthorities"]) == ["ca.banka"]
    ca = doc["certificateAuthorities"]["ca.banka"]
    assert ca["url"] == "https://127.0.0.1:31001" and ca["tlsCACerts"]["path"][0].endswith(
        "banka/ca/tls-cert.pem"
    )
    extras = doc["x-mledger"]
    assert list(extras["users"]) == ["BankAMSP"] and list(extras["registrars"]) == ["BankAMSP"]
    assert set(extras["users"]["BankAMSP"]) == {u.name for u in consortium.org("banka").network_users}
    assert extras["serviceIdentity"] == {"mspid": "BankAMSP", "user": "auditor1"}
    assert extras["gatewayOrganization"] == consortium.GATEWAY_ORG


def test_orderer_org_has_no_gateway_profile(settings: Settings) -> None:
    with pytest.raises(KeyError, match="ordering org"):
        cp.connection_profile(settings, "orderer")


def test_write_profiles_and_the_gateway_reads_them(settings: Settings) -> None:
    paths = cp.write_profiles(settings)
    keys = [o.key for o in consortium.APPLICATION_ORGS] + ["consortium"]
    assert [p.name for p in paths] == [f"connection-{k}.json" for k in keys]
    bank = cp.profile_path(settings, "banka")
    json.loads(bank.read_text())  # plain JSON, as Fabric SDKs read it

    profile = NetworkProfile.load(bank)
    assert profile.channel == "vehicles" and profile.chaincode == "mortgage"
    assert profile.peers["BankAMSP"].endpoint == f"127.0.0.1:{31000 + 200 + 10}"
    assert profile.peers["BankAMSP"].tls_ca == settings.crypto_dir / "banka" / "msp" / "tlscacerts" / "ca.pem"
    assert "DealerMSP" not in profile.peers and "DealerMSP" in profile.orgs
    assert profile.gateway_org == "TrafficAuthorityMSP"
    assert profile.service_identity == ("BankAMSP", "auditor1")
    assert profile.users[("BankAMSP", "loan1")] == settings.crypto_dir / "banka" / "users" / "loan1" / "msp"
    assert not any(msp != "BankAMSP" for msp, _ in profile.users)
    assert client_msp_id(load_profile(bank)) == "BankAMSP"

    cas = configs_from_profile(bank)
    assert list(cas) == ["BankAMSP"]
    assert cas["BankAMSP"].url == "https://127.0.0.1:31001"
    assert cas["BankAMSP"].registrar_msp_dir == settings.crypto_dir / "banka" / "registrar" / "msp"

    dev = NetworkProfile.load(cp.profile_path(settings, "consortium"))
    assert dev.service_identity == consortium.SERVICE_IDENTITY
    assert {msp for msp, _ in dev.users} == {o.msp_id for o in consortium.APPLICATION_ORGS}
    assert set(configs_from_profile(cp.profile_path(settings, "consortium"))) == {
        o.msp_id for o in consortium.APPLICATION_ORGS
    }


def test_a_test_network_style_profile_is_read(tmp_path: Path) -> None:
    """A profile as fabric-samples writes it (relative paths, no x-mledger extras) still connects."""
    path = tmp_path / "connection-org1.json"
    path.write_text(
        json.dumps(
            {
                "name": "test-network-org1",
                "version": "1.0.0",
                "client": {"organization": "Org1"},
                "organizations": {
                    "Org1": {
                        "mspid": "Org1MSP",
                        "peers": ["peer0.org1.example.com"],
                        "certificateAuthorities": ["ca.org1"],
                    }
                },
                "peers": {
                    "peer0.org1.example.com": {
                        "url": "grpcs://localhost:7051",
                        "tlsCACerts": {"path": "tls/ca.pem"},
                        "grpcOptions": {"ssl-target-name-override": "peer0.org1.example.com"},
                    }
                },
                "certificateAuthorities": {
                    "ca.org1": {"url": "https://localhost:7054", "tlsCACerts": {"pem": ["x"]}}
                },
            }
        )
    )
    profile = NetworkProfile.load(path)
    assert profile.peers["Org1MSP"].endpoint == "localhost:7051"
    assert profile.peers["Org1MSP"].tls_ca == tmp_path / "tls" / "ca.pem"
    assert profile.peers["Org1MSP"].server_name == "peer0.org1.example.com"
    assert profile.gateway_org == "Org1MSP"
    assert certificate_authorities(load_profile(path)) == {}  # no registrar: the gateway cannot enrol there


def test_a_bad_profile_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"client": {"organization": "A"}, "organizations": {"A": {}}, "peers": {}}))
    with pytest.raises(LedgerError, match=r"organizations\.A\.mspid: missing"):
        NetworkProfile.load(path)
    raw = {
        "client": {"organization": "A"},
        "organizations": {"A": {"mspid": "AMSP", "peers": ["p"]}},
        "peers": {"p": {"url": "grpcs://h:1", "tlsCACerts": {"pem": "-----BEGIN"}}},
    }
    with pytest.raises(ValueError, match=r"peers\.p\.tlsCACerts\.path: missing"):
        adapter_mapping(raw)
