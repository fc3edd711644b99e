"""Per-org compose bundles and Kubernetes manifests: rendered from the topology, checked against it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import kubernetes_validate
import pydantic
import pytest
import yaml
from compose_pydantic import ComposeSpecification
from typer.testing import CliRunner

from network import chaincode, topology
from network.cli import app
from network.hosts import fqdn
from network.render import compose_bundles, kubernetes
from network.render.deployment import DATA, gateway_port
from network.render.writer import parse_addresses, render_all
from network.settings import Settings

ADDRESSES = {o.key: f"10.20.0.{10 + o.index}" for o in topology.ORGS}
K8S_VERSION = "1.30.0"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "data", tmp_path / "bin", 27000, "2.5.9", "1.5.21", "0.42.0", "250ms")


def _bundle(settings: Settings, org: topology.Org) -> dict:
    return yaml.safe_load(compose_bundles.render(settings, org, ADDRESSES))


def _expected_nodes(org: topology.Org) -> set[str]:
    names = {topology.ca_name(org)}
    if org.orderer_org:
        names |= {topology.orderer_name(i) for i in range(topology.ORDERER_COUNT)}
    if org.peer:
        names.add(topology.peer_name(org))
        names |= {f"cc-{s.name}.{org.key}" for s in chaincode.load_specs()}
    if not org.orderer_org:
        names.add(f"gateway.{org.key}")
    return names


def test_one_bundle_per_org_holds_exactly_its_nodes(settings: Settings) -> None:
    all_services: set[str] = set()
    for org in topology.ORGS:
        services = _bundle(settings, org)["services"]
        assert set(services) == _expected_nodes(org), org.name
        assert {s["labels"]["mledger.org"] for s in services.values()} == {org.msp_id}
        assert not all_services & set(services), "a node is in two bundles"
        all_services |= set(services)
    native = {n.name for n in topology.nodes(settings.ports) if n.kind != "kubo"}
    assert native <= all_services


def test_bundles_conform_to_the_compose_specification(settings: Settings) -> None:
    # compose-pydantic is generated from the Compose Specification's JSON schema (unknown keys forbidden)
    for org in topology.ORGS:
        spec = ComposeSpecification.model_validate(_bundle(settings, org))
        assert set(spec.services) == _expected_nodes(org)
    broken = _bundle(settings, topology.org("banka"))
    broken["services"]["peer0.banka"]["restart_policy"] = "always"  # not a compose key
    with pytest.raises(pydantic.ValidationError, match="restart_policy"):
        ComposeSpecification.model_validate(broken)


def test_bundle_ports_hostnames_and_tls_names_match_the_native_topology(settings: Settings) -> None:
    ports = settings.ports
    for org in topology.peer_orgs():
        peer = _bundle(settings, org)["services"][topology.peer_name(org)]
        env = peer["environment"]
        name = fqdn(topology.peer_name(org))
        assert name == f"peer0.{org.key}.mledger.local"
        assert (
            env["CORE_PEER_ADDRESS"]
            == env["CORE_PEER_GOSSIP_EXTERNALENDPOINT"]
            == f"{name}:{ports.peer(org)}"
        )
        assert env["CORE_PEER_LISTENADDRESS"] == f"0.0.0.0:{ports.peer(org)}"
        assert env["CORE_OPERATIONS_LISTENADDRESS"].endswith(f":{ports.peer_operations(org)}")
        assert env["CORE_PEER_LOCALMSPID"] == org.msp_id
        assert peer["labels"]["mledger.hostname"] == name
        assert name in peer["labels"]["mledger.tls.sans"].split(",")
        assert "0.0.0.0" not in peer["labels"]["mledger.tls.sans"].split(",")
        assert peer["labels"]["mledger.ports"] == (
            f"listen={ports.peer(org)},chaincode={ports.peer_chaincode(org)},operations={ports.peer_operations(org)}"
        )
    orderers = _bundle(settings, topology.orderer_org())["services"]
    for i in range(topology.ORDERER_COUNT):
        env = orderers[topology.orderer_name(i)]["environment"]
        assert env["ORDERER_GENERAL_LISTENPORT"] == str(ports.orderer(i))
        assert env["ORDERER_ADMIN_LISTENADDRESS"] == f"0.0.0.0:{ports.orderer_admin(i)}"
        assert (
            fqdn(topology.orderer_name(i)) in orderers[topology.orderer_name(i)]["labels"]["mledger.tls.sans"]
        )
    ca = _bundle(settings, topology.org("banka"))["services"]["ca.banka"]
    argv = ca["command"][-1]
    assert (
        f"--port {ports.ca(topology.org('banka'))}" in argv and "--csr.hosts ca.banka.mledger.local" in argv
    )


def test_every_path_in_the_environment_is_on_a_mounted_volume(settings: Settings) -> None:
    for org in topology.ORGS:
        doc = _bundle(settings, org)
        for name, svc in doc["services"].items():
            mounts = [v.split(":")[1] for v in svc["volumes"]]
            for key, value in svc["environment"].items():
                for part in value.strip("[]").split(","):
                    if part.startswith(str(DATA)):
                        assert any(part == m or part.startswith(m + "/") for m in mounts), (name, key, part)
            for v in svc["volumes"]:
                src = v.split(":")[0]
                assert src.startswith(("./", "${")) or src in doc["volumes"], (name, v)
            crypto = [v for v in svc["volumes"] if v.startswith("./crypto/")]
            assert all(v.startswith(f"./crypto/{org.key}:") and v.endswith(":ro") for v in crypto), name


def test_chaincode_servers_carry_the_package_id_of_their_own_address(settings: Settings) -> None:
    for org in topology.peer_orgs():
        services = _bundle(settings, org)["services"]
        for spec in chaincode.load_specs():
            svc = services[f"cc-{spec.name}.{org.key}"]
            address = svc["environment"]["CHAINCODE_SERVER_ADDRESS"]
            host, port = address.rsplit(":", 1)
            assert host == f"cc-{spec.name}.{org.key}.mledger.local"
            assert int(port) == settings.ports.chaincode(spec.slot)
            label = f"{spec.name}_ccaas"
            assert svc["environment"]["CHAINCODE_ID"] == chaincode.package_id(
                label, chaincode.package_ccaas(label, address)
            )
            assert svc["labels"]["mledger.chaincode"] == spec.name


def test_other_hosts_are_named_by_address_and_no_secret_is_rendered(settings: Settings) -> None:
    banka = _bundle(settings, topology.org("banka"))
    extra = banka["services"]["peer0.banka"]["extra_hosts"]
    assert f"orderer1.orderer.mledger.local:{ADDRESSES['orderer']}" in extra
    assert f"peer0.bankb.mledger.local:{ADDRESSES['bankb']}" in extra
    assert not any(e.endswith(ADDRESSES["banka"]) for e in extra), "own names are local"
    assert banka["secrets"]["ca_registrar"]["file"] == "./secrets/ca-registrar"
    text = compose_bundles.render(settings, topology.org("banka"), ADDRESSES)
    assert "BEGIN" not in text and "PRIVATE" not in text
    command = banka["services"]["ca.banka"]["command"][-1]
    assert command.startswith(
        'export FABRIC_CA_SERVER_BOOT="registrar:$$(cat /run/secrets/ca_registrar)" && exec '
    )
    assert " -b " not in command  # the password never goes on a command line


def test_kubernetes_manifests_validate_against_the_kubernetes_schemas(settings: Settings) -> None:
    for org in topology.ORGS:
        docs = list(yaml.safe_load_all(kubernetes.render(settings, org, ADDRESSES)))
        assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == f"mledger-{org.key}"
        for doc in docs:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        workloads = {d["metadata"]["name"]: d for d in docs if d["kind"] in ("StatefulSet", "Deployment")}
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        assert set(workloads) == set(services) == {kubernetes.k8s_name(n) for n in _expected_nodes(org)}


def test_kubernetes_and_compose_run_the_same_nodes_with_the_same_environment(settings: Settings) -> None:
    for org in topology.ORGS:
        compose = _bundle(settings, org)["services"]
        docs = list(yaml.safe_load_all(kubernetes.render(settings, org, ADDRESSES)))
        for name, svc in compose.items():
            k8s = next(
                d
                for d in docs
                if d["kind"] in ("StatefulSet", "Deployment")
                and d["metadata"]["name"] == kubernetes.k8s_name(name)
            )
            c = k8s["spec"]["template"]["spec"]["containers"][0]
            plain = {e["name"]: e["value"] for e in c["env"] if "value" in e}
            plain.pop("FABRIC_CA_SERVER_BOOT", None)  # from a Secret (compose: from its secret file)
            assert plain == svc["environment"], name
            service = next(
                d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == k8s["metadata"]["name"]
            )
            assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
                p["name"]: p["containerPort"] for p in c["ports"]
            }
            assert k8s["metadata"]["annotations"]["mledger.io/hostname"] == svc["labels"]["mledger.hostname"]


def test_kubernetes_ca_takes_its_registrar_secret_from_a_secret_by_environment(settings: Settings) -> None:
    docs = list(yaml.safe_load_all(kubernetes.render(settings, topology.org("banka"))))
    ca = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "ca-banka")
    c = ca["spec"]["template"]["spec"]["containers"][0]
    names = [e["name"] for e in c["env"]]
    ref = c["env"][names.index("FABRIC_CA_REGISTRAR_SECRET")]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "ca-banka-registrar", "key": "secret"}
    boot = names.index("FABRIC_CA_SERVER_BOOT")
    assert boot > names.index("FABRIC_CA_REGISTRAR_SECRET")  # $(VAR) expands only earlier variables
    assert c["env"][boot]["value"] == "registrar:$(FABRIC_CA_REGISTRAR_SECRET)"
    assert "-b" not in c["command"]


def test_an_invalid_manifest_is_refused_by_the_validator(settings: Settings) -> None:
    # the validator is real: a port given as text and an unknown field are rejected
    docs = list(yaml.safe_load_all(kubernetes.render(settings, topology.org("banka"))))
    svc = next(d for d in docs if d["kind"] == "Service")
    svc["spec"]["ports"][0]["port"] = "not-a-port"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(svc, K8S_VERSION, strict=True)
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    sts["spec"]["replicaz"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, K8S_VERSION, strict=True)


def test_gateway_serves_its_org_on_its_port(settings: Settings) -> None:
    for org in topology.ORGS:
        if org.orderer_org:
            continue
        gw = _bundle(settings, org)["services"][f"gateway.{org.key}"]
        assert gw["environment"]["MLEDGER_ORGS"] == org.msp_id
        assert f"--port {gateway_port(settings, org)}" in gw["command"][-1]


def test_render_command_writes_every_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(tmp_path / "data"))
    res = CliRunner().invoke(app, ["render", "--out", str(tmp_path / "out"), "--address", "banka=10.20.0.11"])
    assert res.exit_code == 0, res.output
    for org in topology.ORGS:
        assert yaml.safe_load((tmp_path / "out" / "compose" / org.key / "docker-compose.yaml").read_text())
        assert list(yaml.safe_load_all((tmp_path / "out" / "kubernetes" / f"{org.key}.yaml").read_text()))
    assert "10.20.0.11 peer0.banka.mledger.local" in (tmp_path / "out" / "hosts").read_text()
    bad = CliRunner().invoke(app, ["render", "--out", str(tmp_path / "o2"), "--address", "nobank=10.0.0.1"])
    assert bad.exit_code == 2 and "unknown org" in bad.output


def test_address_pairs_are_checked() -> None:
    assert parse_addresses(["BankAMSP=10.0.0.5"]) == {"banka": "10.0.0.5"}
    with pytest.raises(ValueError, match="not an IP address"):
        parse_addresses(["banka=host.example"])
    with pytest.raises(ValueError, match="expected ORG=IP"):
        parse_addresses(["banka"])


def test_render_all_is_deterministic(settings: Settings, tmp_path: Path) -> None:
    a = render_all(settings, tmp_path / "a", ADDRESSES)
    b = render_all(replace(settings), tmp_path / "b", ADDRESSES)
    assert [p.read_text() for p in a] == [p.read_text() for p in b]
