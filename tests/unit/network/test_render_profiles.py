"""The deployment artefacts of a BFT network and of a network with an org `org add` admitted: rendered from
the same ordering profile and org set as the native network, and valid (Compose Specification, Kubernetes
schemas). See test_render.py for the founding Raft consortium."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from compose_pydantic import ComposeSpecification
from typer.testing import CliRunner

from network import chaincode, compose, config, onboarding, orgset, topology
from network.cli import app
from network.render import compose_bundles, kubernetes
from network.render.deployment import DATA, org_services
from network.render.writer import parse_addresses, render_all
from network.settings import Settings

K8S_VERSION = "1.30.0"
BFT_ORGS = {"orderer0": "trafficauthority", "orderer1": "banka", "orderer2": "bankb", "orderer3": "insurer"}


def _settings(data: Path, ordering: str = topology.RAFT, version: str = "2.5.9") -> Settings:
    return Settings(data, data.parent / "bin", 27000, version, "1.5.21", "0.42.0", "250ms", ordering=ordering)


@pytest.fixture
def bft(tmp_path: Path) -> Settings:
    return _settings(tmp_path / "data", topology.BFT, "3.1.1")


@pytest.fixture
def with_bankc(tmp_path: Path) -> tuple[Settings, topology.Org]:
    """A network folder whose topology.json holds BankC, as `org add BankC --kind bank` leaves it."""
    s = _settings(tmp_path / "data")
    bank_c = onboarding.new_org(s, "BankC", "bank")
    orgset.write(s, (bank_c,))
    return s, bank_c


def _load(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _assert_valid(out: Path, org_keys: list[str]) -> None:
    """Every org's bundle conforms to the Compose Specification, every manifest to Kubernetes' schemas."""
    assert sorted(p.name for p in (out / "compose").iterdir()) == sorted(org_keys)
    for key in org_keys:
        ComposeSpecification.model_validate(_load(out / "compose" / key / "docker-compose.yaml")[0])
        docs = _load(out / "kubernetes" / f"{key}.yaml")
        assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == f"mledger-{key}"
        for doc in docs:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


# ------------------------------------------------------------------ BFT


def test_bft_render_runs_four_orderers_one_in_each_endorsing_orgs_bundle(
    bft: Settings, tmp_path: Path
) -> None:
    render_all(bft, tmp_path / "out")
    _assert_valid(tmp_path / "out", [o.key for o in topology.ORGS])
    found = {}
    for org in topology.ORGS:
        services = _load(tmp_path / "out" / "compose" / org.key / "docker-compose.yaml")[0]["services"]
        for name, svc in services.items():
            if svc["labels"]["mledger.kind"] == "orderer":
                found[name] = org.key
                env = svc["environment"]
                assert svc["image"] == "hyperledger/fabric-orderer:3.1.1"
                assert env["ORDERER_GENERAL_LOCALMSPID"] == org.msp_id
                i = int(name.removeprefix("orderer"))
                assert env["ORDERER_GENERAL_LISTENPORT"] == str(bft.ports.orderer(i))
                assert svc["labels"]["mledger.hostname"] == f"{name}.{org.key}.mledger.local"
                # cluster connections come from the other three orgs' orderers: their TLS CAs are trusted
                # and mounted (public certificates, from ./trust), never their crypto
                cas = env["ORDERER_GENERAL_CLUSTER_ROOTCAS"].strip("[]").split(",")
                assert {c.split("/")[4] for c in cas} == set(BFT_ORGS.values())
                mounts = [v.split(":")[1] for v in svc["volumes"]]
                for c in cas:
                    assert any(c == m or c.startswith(m + "/") for m in mounts), c
                assert not [
                    v for v in svc["volumes"] if v.startswith("./crypto/") and f"/{org.key}:" not in v
                ]
            if svc["labels"]["mledger.kind"] == "peer":
                assert svc["image"] == "hyperledger/fabric-peer:3.1.1"
    assert found == BFT_ORGS
    assert "gateway.orderer" not in _load(tmp_path / "out" / "compose" / "orderer" / "docker-compose.yaml")[0]


def test_bft_kubernetes_orderers_mount_every_orderer_orgs_tls_ca(bft: Settings) -> None:
    banka = topology.org("banka")
    docs = kubernetes.manifests(bft, banka)
    sts = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "orderer1")
    pod = sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    cas = env["ORDERER_GENERAL_CLUSTER_ROOTCAS"].strip("[]").split(",")
    mounted = {m["mountPath"]: m.get("subPath") for m in c["volumeMounts"] if m["name"] == "tls-cas"}
    assert sorted(mounted) == sorted(cas) and sorted(mounted.values()) == sorted(BFT_ORGS.values())
    assert {"name": "tls-cas", "configMap": {"name": kubernetes.TLS_CAS}} in pod["volumes"]
    assert c["image"] == "hyperledger/fabric-orderer:3.1.1"


def test_bft_channel_config_is_the_native_generators_with_the_deployments_names(
    bft: Settings, tmp_path: Path
) -> None:
    render_all(bft, tmp_path / "out")
    rendered = _load(tmp_path / "out" / "channel" / "configtx.yaml")[0]["Profiles"][config.PROFILE]
    native = config.configtx(bft)["Profiles"][config.PROFILE]
    assert rendered["Capabilities"] == native["Capabilities"] == {"V3_0": True}
    assert rendered["Orderer"]["OrdererType"] == "BFT"
    assert rendered["Orderer"]["SmartBFT"] == native["Orderer"]["SmartBFT"]
    got, want = rendered["Orderer"]["ConsenterMapping"], native["Orderer"]["ConsenterMapping"]
    assert len(got) == len(want) == 4
    for g, w, (name, key) in zip(got, want, BFT_ORGS.items(), strict=True):
        assert (g["ID"], g["MSPID"], g["Port"]) == (w["ID"], w["MSPID"], w["Port"])
        assert g["Host"] == f"{name}.{key}.mledger.local"
        for field in ("Identity", "ClientTLSCert", "ServerTLSCert"):
            assert g[field] == w[field].replace(str(bft.data_dir), str(DATA)), field
    endpoints = {o["ID"]: o["OrdererEndpoints"] for o in rendered["Orderer"]["Organizations"]}
    assert endpoints == {
        topology.org(key).msp_id: [f"{name}.{key}.mledger.local:{bft.ports.orderer(i)}"]
        for i, (name, key) in enumerate(BFT_ORGS.items())
    }


def test_bft_on_fabric_2_5_is_refused_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"MLEDGER_ORDERING=bft needs Fabric 3 .*FABRIC_VERSION=2\.5\.9"):
        render_all(_settings(tmp_path / "data", topology.BFT, "2.5.9"), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written
    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLEDGER_ORDERING", "bft")
    monkeypatch.setenv("FABRIC_VERSION", "2.5.9")
    for argv in (["render", "--out", str(tmp_path / "out")], ["compose"]):
        res = CliRunner().invoke(app, argv)
        assert res.exit_code == 2 and "FABRIC_VERSION=3.1.1" in res.output, (argv, res.output)


def test_compose_file_renders_the_bft_orderers_in_their_orgs(bft: Settings) -> None:
    doc = yaml.safe_load(compose.render(bft))
    ComposeSpecification.model_validate(doc)
    services = doc["services"]
    orderers = {n: s for n, s in services.items() if s["labels"]["mledger.kind"] == "orderer"}
    assert {n: s["labels"]["mledger.org"] for n, s in orderers.items()} == {
        n: topology.org(k).msp_id for n, k in BFT_ORGS.items()
    }
    assert {s["depends_on"][0] for s in orderers.values()} == {f"ca.{k}" for k in BFT_ORGS.values()}
    assert all(s["image"] == "hyperledger/fabric-orderer:3.1.1" for s in orderers.values())
    assert services["peer0.banka"]["depends_on"] == list(BFT_ORGS)


# ------------------------------------------------------------------ an added org


def _normalise(value: str, data: Path) -> str:
    """A value with its data folder and host names generic: the deployment moves both, nothing else."""
    value = value.replace(str(data), str(DATA))
    return re.sub(r"(127\.0\.0\.1|0\.0\.0\.0|[a-z0-9.-]+\.mledger\.local)(?=:\d)", "HOST", value)


def test_an_added_org_gets_its_bundle_and_namespace_with_the_native_ports_and_environment(
    with_bankc: tuple[Settings, topology.Org], tmp_path: Path
) -> None:
    s, bank_c = with_bankc
    orgs = orgset.orgs(s)
    render_all(s, tmp_path / "out", {"bankc": "10.20.0.30", "banka": "10.20.0.11"})
    _assert_valid(tmp_path / "out", [o.key for o in orgs])
    services = _load(tmp_path / "out" / "compose" / "bankc" / "docker-compose.yaml")[0]["services"]
    specs = chaincode.load_specs()
    assert set(services) == {"ca.bankc", "peer0.bankc", "gateway.bankc"} | {
        f"cc-{c.name}.bankc" for c in specs
    }
    native = {n.name: n for n in topology.nodes(s.ports, s.ordering, orgs)}
    for name in ("ca.bankc", "peer0.bankc"):
        ports = ",".join(f"{k}={v}" for k, v in native[name].ports.items())
        assert services[name]["labels"]["mledger.ports"] == ports, name
    peer = services["peer0.bankc"]
    assert peer["labels"]["mledger.hostname"] == "peer0.bankc.mledger.local"
    native_env = {k: _normalise(v, s.data_dir) for k, v in config.peer_env(s, bank_c).items()}
    rendered_env = {k: _normalise(v, s.data_dir) for k, v in peer["environment"].items()}
    for env in (native_env, rendered_env):
        env.pop("FABRIC_CFG_PATH")  # the image's own config
        env.pop("MLEDGER_CCAAS_ROOT_CERT")  # its own chaincode servers' CA (natively the shared servers')
    assert rendered_env == native_env
    assert rendered_env["CORE_PEER_GOSSIP_PVTDATA_PULLRETRYTHRESHOLD"] == "5s"  # an added org's
    assert services["gateway.bankc"]["environment"]["MLEDGER_ORGS"] == "BankCMSP"
    # the other hosts reach BankC's nodes by its address; BankC's channel membership is in the configtx
    banka = _load(tmp_path / "out" / "compose" / "banka" / "docker-compose.yaml")[0]["services"]
    assert "peer0.bankc.mledger.local:10.20.0.30" in banka["peer0.banka"]["extra_hosts"]
    profile = _load(tmp_path / "out" / "channel" / "configtx.yaml")[0]["Profiles"][config.PROFILE]
    members = [o["ID"] for o in profile["Application"]["Organizations"]]
    assert members == [o.msp_id for o in orgs if not o.orderer_org] and "BankCMSP" in members
    assert "10.20.0.30 peer0.bankc.mledger.local" in (tmp_path / "out" / "hosts").read_text()
    docs = _load(tmp_path / "out" / "kubernetes" / "bankc.yaml")
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "StatefulSet"}
    assert names == {"ca-bankc", "peer0-bankc", "gateway-bankc"}


def test_an_added_org_with_bft_ordering_keeps_the_four_orderers(tmp_path: Path) -> None:
    s = _settings(tmp_path / "data", topology.BFT, "3.1.1")
    orgset.write(s, (onboarding.new_org(s, "BankC", "bank"),))
    orgs = orgset.orgs(s)
    kinds = [svc.kind for svc in org_services(s, topology.org("bankc", orgs), orgs)]
    assert "orderer" not in kinds and "peer" in kinds
    doc = yaml.safe_load(compose_bundles.render(s, topology.org("banka", orgs), None, orgs))
    assert [n for n, v in doc["services"].items() if v["labels"]["mledger.kind"] == "orderer"] == ["orderer1"]


def test_without_a_network_folder_the_render_is_the_founding_consortium(tmp_path: Path) -> None:
    render_all(_settings(tmp_path / "none"), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "compose").iterdir()) == sorted(
        o.key for o in topology.ORGS
    )
    with pytest.raises(ValueError, match="unknown org 'bankc'"):
        parse_addresses(["bankc=10.0.0.1"])


def test_the_render_command_and_compose_read_the_networks_org_set(
    with_bankc: tuple[Settings, topology.Org], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _ = with_bankc
    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(s.data_dir))
    res = CliRunner().invoke(
        app, ["render", "--out", str(tmp_path / "out"), "--address", "BankCMSP=10.0.0.9"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "compose" / "bankc" / "docker-compose.yaml").exists()
    doc = yaml.safe_load(compose.render(s))
    ComposeSpecification.model_validate(doc)
    assert {"ca.bankc", "peer0.bankc"} <= set(doc["services"])
    assert "peer0.bankc" in doc["services"]["gateway"]["depends_on"]
