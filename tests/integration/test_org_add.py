"""`mledger network org add` on the real network: a third bank joins the running channel and transacts.

It changes the channel (a ninth org, new chaincode definitions), so its tests run after every other
network test (marker `adds_org`, see conftest.py), and it takes the added bank out again at the end
(`org remove`), so a rerun on the same network starts from the founding consortium.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest

from chaincode.mortgage.vin import with_check_digit
from network import ca, chaincode, governance, onboarding, orgset, topology
from network.errors import NetworkError
from network.fixture import FabricNetworkInfo
from tests.integration.network_cli import network_cli
from tests.integration.test_lien_law_network import lien, register
from tests.integration.test_mortgage_lifecycle import CC, Actors, Committer, contract, ensure_models

pytestmark = pytest.mark.adds_org

NEW = "BankC"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return network_cli(*args)


def _policy_names(net: FabricNetworkInfo, name: str, msp_id: str) -> bool:
    """Whether the committed definition's endorsement policy names `msp_id`."""
    committed = chaincode.query_committed(net.network.settings, name)
    assert committed is not None
    return msp_id.encode() in base64.b64decode(committed["validation_parameter"])


def test_refused_admissions_change_nothing(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    channel_before = governance.channel_orgs(s)
    file_before = orgset.topology_file(s).read_text()

    res = _cli("org", "add", "BankB")
    assert (
        res.returncode == 1
        and "BankB (BankBMSP) already exists in this network; nothing changed" in " ".join(res.stdout.split())
    )
    res = _cli("org", "add", "InsurerTwo", "--kind", "insurer")
    assert res.returncode == 1 and "kind: 'insurer' cannot be added" in " ".join(res.stdout.split())

    # BankA's admin alone does not satisfy the Application group's Admins policy (MAJORITY Admins)
    with pytest.raises(NetworkError) as err:
        onboarding.add_org(s, "BankD", signers=[topology.org("BankA")])
    msg = str(err.value)
    assert "admission of BankD: the orderer refused the config update" in msg
    assert "4 of the 'Admins' sub-policies" in msg and "signatures of BankAMSP admin" in msg, msg
    others = "TrafficAuthorityMSP, BankBMSP, InsurerMSP, RegulatorMSP, DealerMSP, ManufacturerMSP"
    assert f"missing signatures: 3 more Admins of {others}" in msg, msg

    assert governance.channel_orgs(s) == channel_before
    assert orgset.topology_file(s).read_text() == file_before
    assert not (s.crypto_dir / "bankd").exists()
    assert not fabric_network.network.procs.alive("ca.bankd")


def test_added_bank_joins_and_its_loan_officer_requests_a_lien(fabric_network: FabricNetworkInfo) -> None:
    net = fabric_network
    s = net.network.settings
    ensure_models(net)
    t0 = time.monotonic()
    res = _cli("org", "add", NEW)
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        out = " ".join(res.stdout.split())
        assert "added BankCMSP: signed by TrafficAuthorityMSP, BankAMSP, BankBMSP, InsurerMSP;" in out
        assert "BankCMSP" in governance.channel_orgs(s)

        # the org set is the network's data: status, profiles and the chaincode definitions include it
        status = json.loads(_cli("status", "--json").stdout)
        nodes = {n["name"]: n for n in status["nodes"]}
        assert nodes["peer0.bankc"]["healthy"] and nodes["ca.bankc"]["healthy"]
        assert status["heights"]["peer0.bankc"] is not None
        profile = json.loads((s.data_dir / "connection-bankc.json").read_text())
        assert profile["client"]["organization"] == NEW and "peer0.bankc" in profile["peers"]
        assert "BankC" in json.loads((s.data_dir / "connection-consortium.json").read_text())["organizations"]
        assert _policy_names(net, CC, "BankCMSP") and _policy_names(net, "runtimetest", "BankCMSP")
        approvals = governance.approvals(s, CC)
        assert approvals.application_orgs == 8 and approvals.needed == 5

        # its loan officer requests a lien through the Gateway (BankC's own peer), the office records it
        actors, commit = Actors(net), Committer(net)
        vin = with_check_digit(f"LFV{actors.run.upper()}000031")
        lien_id = f"LC-{actors.run}"
        with (
            contract(net, "TrafficAuthority", "officer1") as officer,
            contract(net, NEW, "loan1") as bank_c,
        ):
            register(actors, commit, officer, bank_c, vin, "bankc")
            lien(actors, commit, officer, bank_c, lien_id, vin, "50000")
            held = json.loads(bank_c.evaluate_transaction("GetLien", lien_id))
        print(
            f"\n{NEW} admitted, its first lien recorded {time.monotonic() - t0:.1f} s after `org add` began"
        )
        assert held["lienholder"] == "BankCMSP" and held["status"] == "RECORDED", held
    finally:
        removed = _cli("org", "remove", NEW)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "BankCMSP" not in governance.channel_orgs(s)
    assert not _policy_names(net, CC, "BankCMSP")
    assert (
        NEW not in [o.name for o in orgset.orgs(s)]
        and not ca.org_crypto(s, topology.org("BankA")).root.with_name("bankc").exists()
    )
