"""Governance commands on the real network: pending chaincode approvals, user revocation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from network import chaincode, governance, topology
from network.fixture import FabricNetworkInfo
from network.settings import REPO_ROOT

CC = "runtimetest"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "network", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=180,
        check=False,
    )


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
    # MAJORITY Endorsement over the six application orgs: 4 approvals of one definition
    assert doc["needed"] == 4 and doc["application_orgs"] == 6
    assert doc["pending"] is True and doc["ready"] is False

    text = _cli("chaincode", "approvals", CC)
    assert text.returncode == 0 and f"pending sequence {seq}: not ready (needs 4 of 6" in text.stdout


def test_approvals_of_an_unknown_chaincode_is_a_clear_error(fabric_network: FabricNetworkInfo) -> None:
    res = _cli("chaincode", "approvals", "nosuchcc")
    assert res.returncode == 1
    assert "unknown chaincode 'nosuchcc'" in res.stdout
