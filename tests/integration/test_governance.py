"""Governance commands on the real network: pending chaincode approvals, user revocation."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography import x509

from network import ca, chaincode, channel, gossip_view, governance, peercli, topology
from network.errors import NetworkError
from network.fixture import FabricNetworkInfo
from tests.integration.network_cli import network_cli

CC = "runtimetest"
PVT_WITH_REGULATOR = "bankAInsurerRegulator"  # chaincode/testcc/collections_config.json


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return network_cli(*args, timeout=180)


def test_approvals_show_which_orgs_approved_a_pending_definition(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    before = {o.msp_id: o for o in governance.approvals(s, CC).orgs}
    committed = chaincode.query_committed(s, CC)
    assert committed is not None
    seq = int(committed["sequence"]) + 1
    spec = next(x for x in chaincode.load_specs() if x.name == CC)
    pkg = fabric_network.chaincodes[CC]
    proposal = f"v-proposal-{uuid.uuid4().hex[:8]}"
    mine = chaincode.definition_args(CC, proposal, seq, spec.policy, spec.collections)
    rival = chaincode.definition_args(CC, proposal + "-rival", seq, spec.policy, spec.collections)
    for org in ("banka", "insurer"):
        chaincode.approve_for_org(s, topology.org(org), mine, pkg)
    chaincode.approve_for_org(s, topology.org("trafficauthority"), rival, pkg)

    res = _cli("chaincode", "approvals", CC, "--json")
    assert res.returncode == 0, res.stderr + res.stdout
    doc = json.loads(res.stdout)
    by = {o["msp_id"]: o for o in doc["orgs"]}
    assert doc["committed_sequence"] == seq - 1 and doc["pending_sequence"] == seq
    assert by["BankAMSP"]["approved"] and by["BankAMSP"]["version"] == proposal
    assert by["InsurerMSP"]["version"] == proposal and by["InsurerMSP"]["package_id"] == pkg
    assert by["BankAMSP"]["definition"] == by["InsurerMSP"]["definition"]
    assert by["TrafficAuthorityMSP"]["version"] == proposal + "-rival"
    assert by["TrafficAuthorityMSP"]["definition"] != by["BankAMSP"]["definition"]
    assert by["BankBMSP"]["approved"] == before["BankBMSP"].approved  # untouched
    assert by["DealerMSP"]["approved"] is False  # no peer: cannot approve
    assert sorted(doc["definitions"][by["BankAMSP"]["definition"]]) == ["BankAMSP", "InsurerMSP"]
    # MAJORITY Endorsement over the application orgs (seven with the manufacturer): 4 of one definition
    orgs = len([o for o in topology.ORGS if not o.orderer_org])
    assert orgs == 7 and doc["needed"] == orgs // 2 + 1 == 4 and doc["application_orgs"] == orgs
    assert doc["pending"] is True and doc["ready"] is False

    text = _cli("chaincode", "approvals", CC)
    assert text.returncode == 0 and f"pending sequence {seq}: not ready (needs 4 of 7" in text.stdout


def test_approvals_of_an_unknown_chaincode_is_a_clear_error(fabric_network: FabricNetworkInfo) -> None:
    res = _cli("chaincode", "approvals", "nosuchcc")
    assert res.returncode == 1
    assert "unknown chaincode 'nosuchcc'" in res.stdout


def _fresh_user(net: FabricNetworkInfo, org: str) -> tuple[str, Path, str]:
    """Register and enroll a throw-away loan officer (revoking a shared user would break other tests)."""
    s = net.network.settings
    o = topology.org(org)
    name = f"revoketest{uuid.uuid4().hex[:8]}"
    enroller = ca.Enroller(s, o)
    secret = enroller.register(name, "client", attrs="role=loan_officer:ecert")
    dest = ca.org_crypto(s, o).user(name)
    enroller.enroll(name, secret, dest, ["127.0.0.1"], tls=False)
    cert = x509.load_pem_x509_certificate((dest / "msp" / "signcerts" / "cert.pem").read_bytes())
    return name, dest / "msp", format(cert.serial_number, "x")


def test_revoked_user_is_refused_while_others_still_commit(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    name, msp, serial = _fresh_user(fabric_network, "BankA")
    key = f"revoke-{uuid.uuid4().hex[:8]}"

    def put(value: str, msp_dir: Path | None = None) -> peercli.InvokeResult:
        return peercli.invoke(
            fabric_network,
            CC,
            ["put", key, value],
            org="BankA",
            user="loan1",
            endorsers=["BankA", "Insurer"],
            msp_dir=msp_dir,
        )

    assert put("before", msp_dir=msp).ok
    res = _cli("user", "revoke", "BankA", name, "--reason", "keycompromise")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"revoked BankAMSP {name}" in res.stdout and serial in res.stdout
    assert serial in governance.channel_crl_serials(s, "BankA")

    refused = put("after", msp_dir=msp)
    assert not refused.ok
    assert "access denied" in refused.output or "revoked" in refused.output, refused.output
    assert peercli.query(fabric_network, CC, ["get", key], org="BankA", user="loan1") == "before"
    assert put("by-loan1").ok  # the org's other users carry on
    assert peercli.query(fabric_network, CC, ["get", key], org="BankA", user="loan1") == "by-loan1"


def test_revoking_an_unknown_user_or_org_changes_nothing(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    before = governance.channel_crl_serials(s, "BankB")
    res = _cli("user", "revoke", "BankB", "nosuchuser")
    assert res.returncode == 1 and "BankB's CA has no identity 'nosuchuser'; nothing revoked" in res.stdout
    res = _cli("user", "revoke", "BankZ", "loan1")
    assert res.returncode == 1 and "unknown org 'BankZ'" in res.stdout
    res = _cli("user", "revoke", "BankB", "loan1", "--reason", "boredom")
    assert res.returncode == 1 and "reason: 'boredom' is not a revocation reason" in res.stdout
    assert governance.channel_crl_serials(s, "BankB") == before
    assert ca.Enroller(s, topology.org("BankB")).identity_exists("loan1")
    assert peercli.invoke(
        fabric_network,
        CC,
        ["put", f"k-{uuid.uuid4().hex[:6]}", "v"],
        org="BankB",
        user="loan1",
        endorsers=["BankB", "Insurer"],
    ).ok


def test_config_update_without_the_needed_signatures_is_refused_naming_the_policy(
    fabric_network: FabricNetworkInfo,
) -> None:
    """BankA's admin alone may not change BankB's MSP: the orderer refuses, the error names the policy."""
    s = fabric_network.network.settings

    def tamper(config: dict) -> None:
        msp = config["channel_group"]["groups"]["Application"]["groups"]["BankBMSP"]["values"]["MSP"]
        msp["value"]["config"]["revocation_list"] = ["bm90IGEgQ1JM"]

    before = governance.channel_crl_serials(s, "BankB")
    with pytest.raises(NetworkError) as err:
        governance.update_config(s, tamper, [topology.org("BankA")], "tamper with BankB's MSP")
    msg = str(err.value)
    assert (
        "the orderer refused the config update: the mod_policy of Value /Channel/Application/BankBMSP/MSP"
        in msg
    )
    assert "BankAMSP admin" in msg and "more admins must sign" in msg
    assert governance.channel_crl_serials(s, "BankB") == before


def test_renewed_user_certificate_has_new_keys_and_keeps_transacting(
    fabric_network: FabricNetworkInfo,
) -> None:
    s = fabric_network.network.settings
    name, msp, serial = _fresh_user(fabric_network, "BankB")
    old_key = ca.key_file(msp).read_bytes()
    res = _cli("cert", "renew", "BankB", name)
    assert res.returncode == 0, res.stdout + res.stderr
    cert = x509.load_pem_x509_certificate((msp / "signcerts" / "cert.pem").read_bytes())
    new_serial = format(cert.serial_number, "x")
    assert new_serial != serial and f"serial {serial} -> {new_serial}" in res.stdout
    assert ca.key_file(msp).read_bytes() != old_key and len(list((msp / "keystore").iterdir())) == 1
    attrs = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")).value
    assert isinstance(attrs, x509.UnrecognizedExtension)  # fabric-ca's own extension: raw JSON bytes
    assert json.loads(attrs.value)["attrs"]["role"] == "loan_officer"  # the ecert attributes are kept
    ok = peercli.invoke(
        fabric_network,
        CC,
        ["put", f"renew-{uuid.uuid4().hex[:6]}", "v"],
        org="BankB",
        user="loan1",
        endorsers=["BankB", "Insurer"],
        msp_dir=msp,
    )
    assert ok.ok, ok.output
    assert not (ca.org_crypto(s, topology.org("BankB")).user(name) / ".renew").exists()


def test_renewed_peer_restarts_alone_and_catches_up(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    node = ca.org_crypto(s, topology.org("Regulator")).node("peer0.regulator")
    old_tls = (node / "tls" / "cert.pem").read_bytes()
    old = x509.load_pem_x509_certificate((node / "msp" / "signcerts" / "cert.pem").read_bytes())
    res = _cli("cert", "renew", "Regulator", "peer0.regulator")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "peer restarted and caught up" in " ".join(res.stdout.split())
    assert (node / "tls" / "cert.pem").read_bytes() != old_tls
    # the superseded enrolment certificate is revoked on the channel: the peers' gossip drops its PKI-ID
    assert format(old.serial_number, "x") in governance.channel_crl_serials(s, "Regulator")
    # the command returns once every other peer's gossip knows the renewed peer by its new certificate
    # only: the first private write whose endorsers must each hand the data to the Regulator's peer
    # (requiredPeerCount 2 of BankA, Insurer, Regulator) commits. No client retry here: before the fix
    # the first attempt failed ("Failed disseminating 1 out of 2 private dissemination plans": the
    # endorsers still picked the old PKI-ID) and a retry a few seconds later hid it on an idle machine.
    new_cert = (node / "msp" / "signcerts" / "cert.pem").read_text().strip()
    for other in ("BankA", "Insurer", "TrafficAuthority", "BankB"):
        assert gossip_view.channel_peers(s, topology.org(other))["RegulatorMSP"] == [new_cert]
    key = f"renew-pvt-{uuid.uuid4().hex[:6]}"
    pvt = peercli.invoke(
        fabric_network,
        CC,
        ["put_private", PVT_WITH_REGULATOR, key],
        org="BankA",
        user="loan1",
        endorsers=["BankA", "Insurer"],
        transient={"value": "for-the-regulator"},
    )
    assert pvt.ok, pvt.output
    channel.wait_for_height(s, topology.org("Regulator"), fabric_network.height("BankA"))
    got = peercli.query(
        fabric_network, CC, ["get_private", PVT_WITH_REGULATOR, key], org="Regulator", user="regulator1"
    )
    assert got == "for-the-regulator"
    # its chaincode connections (mutual TLS) use the new key pair too, once it launches the chaincode
    peercli.query(fabric_network, CC, ["count_range", "probe-a", "probe-b"], org="Regulator", user="admin")
    builds = s.nodes_dir / "peer0.regulator" / "ledger" / "externalbuilder" / "builds"
    conn = builds / fabric_network.chaincodes[CC].replace(":", "-") / "release" / "chaincode" / "server"
    assert (
        json.loads((conn / "connection.json").read_text())["client_cert"]
        == (node / "tls" / "cert.pem").read_text()
    )
    # it serves TLS with the new certificate, and the channel moves on with it
    assert peercli.invoke(
        fabric_network,
        CC,
        ["put", f"renew-{uuid.uuid4().hex[:6]}", "v"],
        org="BankA",
        user="loan1",
        endorsers=["BankA", "Insurer"],
    ).ok
    heights = {p.msp_id: fabric_network.height(p.msp_id) for p in fabric_network.peers}
    assert fabric_network.height("Regulator") >= max(heights.values()) - 1


def test_renewed_orderer_is_the_raft_consenter_and_the_channel_goes_on(
    fabric_network: FabricNetworkInfo,
) -> None:
    """The renewed orderer's new TLS certificate replaces the old one among the etcdraft consenters (a
    config update by the Orderer org's admin, ordered through another orderer); restarted with it, it
    rejoins the cluster and catches up, and the channel never stops."""
    import base64
    import tempfile
    import time

    s = fabric_network.network.settings
    node = ca.org_crypto(s, topology.orderer_org()).node("orderer1")
    old_tls = (node / "tls" / "cert.pem").read_bytes()
    t0 = time.monotonic()
    res = _cli("cert", "renew", "Orderer", "orderer1")
    assert res.returncode == 0, res.stdout + res.stderr
    print(f"orderer1 renewed and back in {time.monotonic() - t0:.1f} s")
    out = " ".join(res.stdout.split())
    assert "renewed orderer OrdererMSP orderer1" in out and "orderer restarted and caught up" in out
    new_tls = (node / "tls" / "cert.pem").read_bytes()
    assert new_tls != old_tls
    with tempfile.TemporaryDirectory() as tmp:
        config = governance.fetch_config(s, topology.org("BankA"), Path(tmp))
    meta = config["channel_group"]["groups"]["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]
    certs = [base64.b64decode(c["client_tls_cert"]) for c in meta["consenters"]]
    assert new_tls in certs and old_tls not in certs and len(certs) == 3
    key = f"renew-{uuid.uuid4().hex[:6]}"
    # caught up in height, the restarted orderer may not know the Raft leader yet for a moment: it answers
    # SERVICE_UNAVAILABLE "no Raft leader" then, which a client retries
    deadline = time.monotonic() + 30
    while True:
        res2 = peercli.invoke(
            fabric_network,
            CC,
            ["put", key, "v"],
            org="BankA",
            user="loan1",
            endorsers=["BankA", "Insurer"],
            orderer=1,
        )
        waiting = "no Raft leader" in res2.output or "SERVICE_UNAVAILABLE" in res2.output
        if res2.ok or not waiting or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert res2.ok, res2.output
    deadline = time.monotonic() + 30
    heights = governance.orderer_heights(s)
    while len(set(heights.values())) != 1 and time.monotonic() < deadline:
        time.sleep(1)
        heights = governance.orderer_heights(s)
    assert len(set(heights.values())) == 1, f"orderer heights {heights}"


def test_renewing_an_unknown_name_or_another_orgs_orderer_is_refused(
    fabric_network: FabricNetworkInfo,
) -> None:
    res = _cli("cert", "renew", "BankA", "orderer0")
    assert res.returncode == 1 and "BankA has no enrolled user or peer 'orderer0'" in res.stdout
    res = _cli("cert", "renew", "BankA", "nobody")
    assert res.returncode == 1 and "BankA has no enrolled user or peer 'nobody'" in res.stdout


def test_suspended_org_is_refused_until_resumed(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings

    def put(org: str, user: str) -> peercli.InvokeResult:
        return peercli.invoke(
            fabric_network,
            CC,
            ["put", f"susp-{uuid.uuid4().hex[:6]}", "v"],
            org=org,
            user=user,
            endorsers=["BankA", "Insurer"],
        )

    assert put("Regulator", "regulator1").ok
    res = _cli("org", "suspend", "Regulator")
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        assert "signed by TrafficAuthorityMSP, BankAMSP, BankBMSP, InsurerMSP" in " ".join(res.stdout.split())
        assert "RegulatorMSP" not in governance.channel_orgs(s)
        refused = put("Regulator", "regulator1")
        assert not refused.ok and "access denied" in refused.output, refused.output
        assert put("BankA", "loan1").ok  # everyone else carries on
        again = _cli("org", "suspend", "Regulator")
        assert again.returncode == 1 and "Regulator is already suspended" in again.stdout
    finally:
        back = _cli("org", "resume", "Regulator")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "RegulatorMSP" in governance.channel_orgs(s)
    assert put("Regulator", "regulator1").ok
    heights = {p.msp_id: fabric_network.height(p.msp_id) for p in fabric_network.peers}
    assert heights["RegulatorMSP"] >= max(heights.values()) - 1
    res = _cli("org", "resume", "Regulator")
    assert res.returncode == 1 and "Regulator is not suspended; nothing changed" in res.stdout
