"""SmartBFT ordering on Fabric 3.1.1: four orderers, one run by each endorsing org with an identity from
the org's own CA, on a network of its own (own data folder, base port = MLEDGER_NETWORK_BASE_PORT + 500).

One orderer down: transactions still commit (f = 1 of 3f+1 = 4). Restarted: it catches up to the others'
height. The channel configuration holds the four BFT consenters, one per org. Our own Gateway client
(through the peers' Gateway service, which broadcasts to the BFT orderers) submits and reads.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509

from network import channel, governance, peercli, topology
from network.fixture import FabricNetworkInfo, close_for_tests
from network.manager import Network
from network.settings import Settings

CC = "runtimetest"
BFT_PORT_OFFSET = 500


def bft_settings() -> Settings:
    s = Settings.from_env()
    data = Path(os.environ.get("MLEDGER_BFT_NETWORK_DIR") or f"{s.data_dir}-bft")
    return replace(s, data_dir=data, base_port=s.base_port + BFT_PORT_OFFSET, ordering=topology.BFT)


@pytest.fixture(scope="module")
def bft_network() -> Iterator[FabricNetworkInfo]:
    net = Network(bft_settings())
    was_running = all(net.node_healthy(n) for n in net.nodes())
    report = net.up(chaincodes=True, restart_servers=True)
    print(f"\nBFT network up in {report.seconds:.1f} s (started {len(report.started)} processes)")
    info = FabricNetworkInfo(network=net, chaincodes=dict(report.chaincodes))
    yield info
    close_for_tests(info, was_running)


def _invoke(net: FabricNetworkInfo, args: list[str], orderer: int) -> peercli.InvokeResult:
    return peercli.invoke(
        net, CC, args, org="BankA", user="loan1", endorsers=["BankA", "Insurer"], orderer=orderer
    )


def _heights(net: FabricNetworkInfo) -> dict[str, int]:
    return {p.msp_id: net.height(p.msp_id) for p in net.peers}


def _orderer_height(net: FabricNetworkInfo, i: int) -> int:
    """The orderer's own ledger height on the channel, from its admin API (0 while it does not answer:
    a restarted orderer reports healthy a moment before its admin endpoint listens)."""
    return governance.orderer_heights(net.network.settings)[topology.orderer_name(i)] or 0


def test_channel_config_names_four_bft_consenters_one_per_org(bft_network: FabricNetworkInfo) -> None:
    s = bft_network.network.settings
    with tempfile.TemporaryDirectory() as tmp:
        config = governance.fetch_config(s, topology.org("BankA"), Path(tmp))
    orderer = config["channel_group"]["groups"]["Orderer"]
    assert orderer["values"]["ConsensusType"]["value"]["type"] == "BFT"
    consenters = orderer["values"]["Orderers"]["value"]["consenter_mapping"]
    assert len(consenters) == 4
    by_msp = {c["msp_id"]: c for c in consenters}
    assert set(by_msp) == {"TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP"}
    # each consenter's identity is issued by its own org's CA, not by a shared ordering org
    for c in consenters:
        cert = x509.load_pem_x509_certificate(base64.b64decode(c["identity"]))
        org = topology.org(c["msp_id"])
        ca_cert = x509.load_pem_x509_certificate(
            (s.crypto_dir / org.key / "msp" / "cacerts" / "ca.pem").read_bytes()
        )
        assert cert.issuer == ca_cert.subject, c["msp_id"]
        ou = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
        assert "orderer" in {a.value for a in ou}
    assert set(orderer["groups"]) == set(by_msp), "the orderer side is the four orgs, no ordering org"
    assert "V3_0" in config["channel_group"]["values"]["Capabilities"]["value"]["capabilities"]


def test_commits_continue_with_one_orderer_down_and_it_catches_up(bft_network: FabricNetworkInfo) -> None:
    pid = bft_network.chaincodes.get(CC, "")
    assert pid.startswith(f"{CC}_ccaas:"), f"chaincode {CC} is not running: {pid}"
    key = f"bft-{uuid.uuid4().hex[:8]}"
    assert _invoke(bft_network, ["put", key, "before"], orderer=0).ok
    bft_network.stop_node("orderer2")  # BankB's orderer
    try:
        t0 = time.monotonic()
        for n in range(3):
            res = _invoke(bft_network, ["put", f"{key}-{n}", "down"], orderer=n % 2)  # TA's and BankA's
            assert res.ok, res.output
        print(f"3 commits with orderer2 down in {time.monotonic() - t0:.1f} s")
        assert peercli.query(bft_network, CC, ["get", f"{key}-2"], org="Insurer", user="auditor1") == "down"
        stopped_at = _orderer_height(bft_network, 0)
    finally:
        bft_network.start_node("orderer2")
    deadline = time.monotonic() + 90
    heights: list[int] = []
    while time.monotonic() < deadline:
        heights = [_orderer_height(bft_network, i) for i in range(4)]
        if len(set(heights)) == 1 and heights[0] >= stopped_at:
            break
        time.sleep(1)
    assert len(set(heights)) == 1 and heights[0] >= stopped_at, f"orderer heights {heights}"
    # and the restarted orderer takes part again: one more commit through it
    res = _invoke(bft_network, ["put", key, "after"], orderer=2)
    assert res.ok, res.output
    for org in topology.peer_orgs():
        channel.wait_for_height(bft_network.network.settings, org, heights[0] + 1, timeout=30)


def test_our_gateway_client_submits_through_bft_ordering(bft_network: FabricNetworkInfo) -> None:
    from app.ledger.fabric import FabricLedger
    from app.ledger.port import Caller

    profile = bft_network.connection_profile("BankA")
    doc = json.loads(profile.read_text())
    assert len(doc["orderers"]) == 4
    key = f"gw-{uuid.uuid4().hex[:8]}"

    async def roundtrip() -> bytes:
        ledger = FabricLedger.from_profile(profile, chaincode=CC)
        try:
            await ledger.submit(Caller("loan1", "BankAMSP"), "put", [key, "via-gateway"])
            return await ledger.evaluate(Caller("loan1", "BankAMSP"), "get", [key])
        finally:
            await ledger.close()

    assert asyncio.run(roundtrip()) == b"via-gateway"
    assert peercli.query(bft_network, CC, ["get", key], org="BankB", user="auditor1") == "via-gateway"


def test_orderer_certificate_renewal_updates_the_consenter_and_keeps_the_channel(
    bft_network: FabricNetworkInfo,
) -> None:
    s = bft_network.network.settings
    node = s.crypto_dir / "insurer" / "nodes" / "orderer3"
    old_tls = (node / "tls" / "cert.pem").read_bytes()
    t0 = time.monotonic()
    r = governance.renew_cert(s, "Insurer", "orderer3")
    print(f"orderer3 renewed, config updated, restarted and caught up in {time.monotonic() - t0:.1f} s")
    assert r.kind == "orderer" and r.restarted and r.old_serial != r.new_serial
    new_tls = (node / "tls" / "cert.pem").read_bytes()
    assert new_tls != old_tls
    with tempfile.TemporaryDirectory() as tmp:
        config = governance.fetch_config(s, topology.org("BankA"), Path(tmp))
    mapping = config["channel_group"]["groups"]["Orderer"]["values"]["Orderers"]["value"]["consenter_mapping"]
    entry = next(c for c in mapping if c["msp_id"] == "InsurerMSP")
    assert base64.b64decode(entry["client_tls_cert"]) == new_tls
    ident = x509.load_pem_x509_certificate(base64.b64decode(entry["identity"]))
    assert format(ident.serial_number, "x") == r.new_serial
    # the renewed orderer orders again (a transaction broadcast to it commits) and is at the others' height
    key = f"renew-{uuid.uuid4().hex[:8]}"
    res = _invoke(bft_network, ["put", key, "renewed"], orderer=3)
    assert res.ok, res.output
    # a restarted BFT follower fetches blocks it missed when it syncs (view change / heartbeat): under a
    # loaded machine that took ~40 s
    deadline = time.monotonic() + 90
    heights: list[int] = []
    while time.monotonic() < deadline:
        heights = [_orderer_height(bft_network, i) for i in range(4)]
        if len(set(heights)) == 1:
            break
        time.sleep(1)
    assert len(set(heights)) == 1, f"orderer heights {heights}"
