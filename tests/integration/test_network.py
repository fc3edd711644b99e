"""The native network against Fabric's own CLI: channel membership, lifecycle, policy, crash recovery."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import policy_pb2

from network import ca, peercli, topology
from network import chaincode as cc
from network.fixture import FabricNetworkInfo

CC = "runtimetest"
ENDORSING = {"TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP"}


def _wait_same_height(net: FabricNetworkInfo, timeout: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    heights: dict[str, int] = {}
    while time.monotonic() < deadline:
        heights = {p.msp_id: net.height(p.msp_id) for p in net.peers}
        if len(set(heights.values())) == 1:
            return heights
        time.sleep(0.5)
    return heights


def _invoke_through_failover(net: FabricNetworkInfo, args: list[str], orderer: int) -> peercli.InvokeResult:
    """Invoke, retrying while the raft cluster elects a new leader (SERVICE_UNAVAILABLE), max 30 s."""
    deadline = time.monotonic() + 30
    while True:
        res = peercli.invoke(
            net, CC, args, org="BankA", user="loan1", endorsers=["BankA", "Insurer"], orderer=orderer
        )
        if res.ok or "SERVICE_UNAVAILABLE" not in res.output or time.monotonic() > deadline:
            return res
        time.sleep(1)


def _require_chaincode(net: FabricNetworkInfo) -> None:
    pid = net.chaincodes.get(CC, "")
    assert pid.startswith(f"{CC}_ccaas:"), f"chaincode {CC} is not running: {pid}"


def test_every_node_is_healthy(fabric_network: FabricNetworkInfo) -> None:
    for name, url in fabric_network.operations_urls.items():
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, name
    r = httpx.post(f"{fabric_network.kubo_rpc_url}/api/v0/id", timeout=5)
    assert r.status_code == 200


def test_every_peer_joined_the_channel_at_the_same_height(fabric_network: FabricNetworkInfo) -> None:
    assert len(fabric_network.peers) == 5
    heights = _wait_same_height(fabric_network)
    assert len(set(heights.values())) == 1, heights
    assert min(heights.values()) >= 1 + 5  # genesis + five anchor peer updates


def test_chaincodes_committed_with_expected_policy(fabric_network: FabricNetworkInfo) -> None:
    defs = {d["name"]: d for d in cc.query_all_committed(fabric_network.network.settings)}
    for spec in cc.load_specs():
        if spec.missing_modules():
            continue
        assert spec.name in defs, f"{spec.name} not committed: {fabric_network.chaincodes.get(spec.name)}"
        dep = cc.prepare(fabric_network.network.settings, spec)
        assert defs[spec.name]["version"] == dep.version  # fingerprint of policy + collections + package
        detail = cc.query_committed(fabric_network.network.settings, spec.name)
        assert detail is not None
        policy = policy_pb2.ApplicationPolicy.FromString(base64.b64decode(detail["validation_parameter"]))
        rule = policy.signature_policy.rule.n_out_of
        assert rule.n == 2 and len(rule.rules) == 4
        identities = policy.signature_policy.identities
        roles = [msp_principal_pb2.MSPRole.FromString(p.principal) for p in identities]
        assert {r.msp_identifier for r in roles} == ENDORSING
        assert all(r.role == msp_principal_pb2.MSPRole.PEER for r in roles)
        names = {c["Payload"]["StaticCollectionConfig"]["name"] for c in detail["collections"]["config"]}
        assert names == {c["name"] for c in json.loads(spec.collections.read_text())}
    detail = cc.query_committed(fabric_network.network.settings, CC)
    assert detail is not None
    approvals = detail.get("approvals", {})
    for msp in ("TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP", "RegulatorMSP"):
        assert approvals.get(msp) is True, approvals


def test_policy_orgs_commit_valid(fabric_network: FabricNetworkInfo) -> None:
    _require_chaincode(fabric_network)
    key = f"net-{uuid.uuid4().hex[:8]}"
    res = peercli.invoke(
        fabric_network,
        CC,
        ["put", key, "v1"],
        org="TrafficAuthority",
        user="officer1",
        endorsers=["TrafficAuthority", "BankA"],
    )
    assert res.ok, res.output
    assert peercli.query(fabric_network, CC, ["get", key], org="BankB", user="loan1") == "v1"


def test_too_few_endorsers_is_refused_and_state_untouched(fabric_network: FabricNetworkInfo) -> None:
    _require_chaincode(fabric_network)
    key = f"net-{uuid.uuid4().hex[:8]}"
    res = peercli.invoke(
        fabric_network, CC, ["put", key, "nope"], org="BankA", user="loan1", endorsers=["BankA"]
    )
    assert not res.ok
    assert res.status == "ENDORSEMENT_POLICY_FAILURE", res.output
    assert peercli.query(fabric_network, CC, ["get", key], org="BankA", user="loan1") == ""


def test_transactions_commit_with_one_orderer_down(fabric_network: FabricNetworkInfo) -> None:
    _require_chaincode(fabric_network)
    fabric_network.stop_node("orderer1")
    try:
        key = f"net-{uuid.uuid4().hex[:8]}"
        res = _invoke_through_failover(fabric_network, ["put", key, "raft"], orderer=0)
        assert res.ok, res.output
        res2 = _invoke_through_failover(fabric_network, ["put", key + "b", "raft"], orderer=2)
        assert res2.ok, res2.output
        assert peercli.query(fabric_network, CC, ["get", key], org="Insurer", user="auditor1") == "raft"
    finally:
        fabric_network.start_node("orderer1")


def test_restarted_peer_catches_up(fabric_network: FabricNetworkInfo) -> None:
    _require_chaincode(fabric_network)
    fabric_network.stop_node("peer0.insurer")
    try:
        for i in range(3):
            res = peercli.invoke(
                fabric_network,
                CC,
                ["put", f"catchup-{uuid.uuid4().hex[:6]}-{i}", "x"],
                org="BankA",
                user="loan1",
                endorsers=["BankA", "BankB"],
            )
            assert res.ok, res.output
    finally:
        fabric_network.start_node("peer0.insurer")
    heights = _wait_same_height(fabric_network, timeout=60)
    assert len(set(heights.values())) == 1, heights


@pytest.mark.parametrize("user", ["admin", "auditor1"])
def test_standard_users_are_enrolled(fabric_network: FabricNetworkInfo, user: str) -> None:
    from cryptography import x509

    for msp in fabric_network.orgs:
        ident = fabric_network.identity(msp, user)
        cert = x509.load_pem_x509_certificate(ident.cert_pem)
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1"))
        assert b'"role":"' in ext.value.value  # type: ignore[attr-defined]
        assert ident.key_path.exists() and ident.msp_id == msp


def test_status_names_the_fabric_release_every_node_runs(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    fab = fabric_network.network.status()["fabric"]
    assert fab["version"] == s.fabric_version and fab["version"] in ("2.5.9", "3.1.1")
    assert fab["module"] == s.fabric_module_version and fab["release"] is True
    # the version the binaries themselves report (operations /version), one entry per peer and orderer
    assert len(fab["running"]) == 8
    assert set(fab["running"].values()) == {s.fabric_version}


def test_ca_registrar_password_is_not_on_any_command_line(fabric_network: FabricNetworkInfo) -> None:
    """/proc/<pid>/cmdline is world-readable: the CA gets its registrar password by environment only."""
    net = fabric_network.network
    checked = 0
    for o in topology.ORGS:
        secret = json.loads(ca.org_crypto(net.settings, o).secrets_file.read_text())["registrar"]
        proc = net.procs.get(topology.ca_name(o))
        assert proc is not None and net.procs.alive(topology.ca_name(o))
        argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert argv[1] == b"start" and b"-b" not in argv and b"--boot" not in argv
        for p in net.procs.load().values():  # no process of the network shows any CA's password
            if net.procs.alive(p.name):
                assert secret.encode() not in Path(f"/proc/{p.pid}/cmdline").read_bytes(), p.name
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")  # owner-only
        assert f"FABRIC_CA_SERVER_BOOT=registrar:{secret}".encode() in environ
        checked += 1
    assert checked == len(topology.ORGS) == 8  # every org runs a CA (the manufacturer too)


def test_committed_policy_and_collections_are_the_consortium_definition(
    fabric_network: FabricNetworkInfo,
) -> None:
    from chaincode import consortium

    assert {o.msp_id for o in consortium.ENDORSING_ORGS} == ENDORSING
    specs = {s.name: s for s in cc.load_specs()}
    assert specs["mortgage"].policy == consortium.ENDORSEMENT_POLICY
    detail = cc.query_committed(fabric_network.network.settings, "mortgage")
    assert detail is not None, fabric_network.chaincodes.get("mortgage")
    committed = {c["Payload"]["StaticCollectionConfig"]["name"] for c in detail["collections"]["config"]}
    assert committed == {c.name for c in consortium.COLLECTIONS}


def test_a_gateway_works_from_its_org_connection_profile_alone(
    fabric_network: FabricNetworkInfo, tmp_path: Path
) -> None:
    """The profile `up` wrote for BankA is all a gateway needs: peers + TLS, its users, its fabric-ca."""
    import asyncio
    import secrets

    from app.ledger.fabric import FabricLedger
    from app.ledger.port import Caller
    from app.users.enrolment import FabricCaEnroller
    from app.users.fabric_profile import configs_from_profile
    from app.users.roles import Role

    _require_chaincode(fabric_network)
    profile = fabric_network.connection_profile("BankA")
    doc = json.loads(profile.read_text())
    assert doc["client"]["organization"] == "BankA" and "x-mledger" in doc
    key = f"ccp-{uuid.uuid4().hex[:8]}"
    res = peercli.invoke(
        fabric_network, CC, ["put", key, "v1"], org="BankA", user="loan1", endorsers=["BankA", "Insurer"]
    )
    assert res.ok, res.output

    wallet = tmp_path / "wallet"
    newcomer = f"ccp{uuid.uuid4().hex[:6]}"
    cas = configs_from_profile(profile)
    assert list(cas) == ["BankAMSP"]
    enrolled = FabricCaEnroller(cas["BankAMSP"], wallet).enroll(
        "BankAMSP", newcomer, Role.loan_officer, secrets.token_urlsafe(18)
    )
    assert enrolled.msp_dir is not None and any((enrolled.msp_dir / "signcerts").glob("*.pem"))

    async def read() -> tuple[bytes, bytes, dict[str, str]]:
        ledger = FabricLedger.from_profile(profile, wallet=wallet, chaincode=CC)
        try:
            standard = await ledger.evaluate(Caller("loan1", "BankAMSP"), "get", [key])  # profile's users
            fresh = await ledger.evaluate(Caller(newcomer, "BankAMSP"), "get", [key])  # the wallet
            return standard, fresh, await ledger.health()
        finally:
            await ledger.close()

    standard, fresh, health = asyncio.run(read())
    assert standard == fresh == b"v1"
    assert health["status"] == "ok", health
