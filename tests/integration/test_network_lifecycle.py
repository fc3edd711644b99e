"""Chaincode lifecycle on the real network: a changed definition is committed as the next sequence,
and the private kubo node is isolated and content-addressed like any kubo."""

from __future__ import annotations

import uuid

import httpx

from network import chaincode as cc
from network import peercli
from network.fixture import FabricNetworkInfo

UPGRADE_CC = "netupgrade"
SLOT = 9  # a port slot no declared chaincode uses


def test_changed_policy_commits_next_sequence_and_transactions_follow_it(
    fabric_network: FabricNetworkInfo,
) -> None:
    s = fabric_network.network.settings
    testcc = next(sp for sp in cc.load_specs() if sp.name == "runtimetest")
    assert not testcc.missing_modules(), "chaincode.testcc.contract is required for this test"
    two = "OutOf(2,'TrafficAuthorityMSP.peer','BankAMSP.peer','BankBMSP.peer','InsurerMSP.peer')"
    three = "OutOf(3,'TrafficAuthorityMSP.peer','BankAMSP.peer','BankBMSP.peer','InsurerMSP.peer')"
    before = cc.query_committed(s, UPGRADE_CC)
    start = int(before["sequence"]) if before else 0
    # flip to the policy the current definition does not have, so each run adds a sequence
    first, second = (
        (three, two) if before and before["version"] == _dep(s, testcc, two).version else (two, three)
    )
    dep1 = _dep(s, testcc, first)
    seq1 = cc.deploy(s, dep1)
    assert seq1 == start + 1 or (before and before["version"] == dep1.version)
    cc.start_server(s, fabric_network.network.procs, dep1)
    try:
        dep2 = _dep(s, testcc, second)
        assert dep2.package_id == dep1.package_id  # same address, same package bytes
        seq2 = cc.deploy(s, dep2)
        assert seq2 == seq1 + 1
        committed = cc.query_committed(s, UPGRADE_CC)
        assert committed is not None and int(committed["sequence"]) == seq2
        assert committed["version"] == dep2.version
        assert cc.deploy(s, dep2) == seq2  # unchanged definition: nothing new
        key = f"up-{uuid.uuid4().hex[:8]}"
        res = peercli.invoke(
            fabric_network,
            UPGRADE_CC,
            ["put", key, "x"],
            org="BankA",
            user="loan1",
            endorsers=["BankA", "BankB"],
        )
        if second == three:
            assert res.status == "ENDORSEMENT_POLICY_FAILURE", res.output
            res = peercli.invoke(
                fabric_network,
                UPGRADE_CC,
                ["put", key, "x"],
                org="BankA",
                user="loan1",
                endorsers=["BankA", "BankB", "Insurer"],
            )
        assert res.ok, res.output
    finally:
        fabric_network.network.procs.stop(dep1.spec.server_name())


def _dep(s, testcc: cc.ChaincodeSpec, policy: str) -> cc.Deployment:  # type: ignore[no-untyped-def]
    spec = cc.ChaincodeSpec(UPGRADE_CC, testcc.contracts, policy, testcc.collections, SLOT)
    return cc.prepare(s, spec)


def test_kubo_is_private_and_content_addressed(fabric_network: FabricNetworkInfo) -> None:
    url = fabric_network.kubo_rpc_url
    assert url.startswith("http://127.0.0.1:")
    cfg = httpx.post(f"{url}/api/v0/config/show", timeout=10).json()
    assert cfg["Bootstrap"] == []
    assert cfg["Routing"]["Type"] == "none"
    assert cfg["Discovery"]["MDNS"]["Enabled"] is False
    assert all("/127.0.0.1/" in a for a in cfg["Addresses"]["Swarm"])
    assert cfg["Addresses"]["API"].startswith("/ip4/127.0.0.1/")
    assert cfg["Addresses"]["Gateway"].startswith("/ip4/127.0.0.1/")
    peers = httpx.post(f"{url}/api/v0/swarm/peers", timeout=10).json()
    assert not peers.get("Peers")
    r = httpx.post(
        f"{url}/api/v0/add",
        params={"cid-version": "0", "pin": "true"},
        files={"file": ("hello.txt", b"hello world\n")},
        timeout=10,
    )
    assert r.json()["Hash"] == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
