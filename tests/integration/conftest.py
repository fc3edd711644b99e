"""Real-network fixtures: every test under tests/integration is marked `fabric` automatically.

`fabric_network` (session scope) brings the native network up once per test run — or reuses one that is
already running and healthy — then (re)starts each chaincode server process whose source under
chaincode/ changed since it started (so the session runs the current source), and upgrades a chaincode
definition (new sequence) when its policy or collections changed. `up` holds a file lock, so several
test sessions can share the one network. If the
network cannot start, the fixture fails the test with the reason (it never skips).

It yields a `network.fixture.FabricNetworkInfo`:
    channel                      "vehicles"
    orgs                         {msp_id: OrgInfo} for every application org (Dealer has no peer)
    org(name)                    OrgInfo by 'BankAMSP' | 'BankA' | 'banka':
                                     .msp_id, .peer_endpoint ('127.0.0.1:<port>' or None),
                                     .peer_tls_ca (Path, PEM), .peer_name, .endorsing, .users
    peers                        [OrgInfo] of the five orgs with a peer
    identity(org, user)          Identity(.cert_path, .key_path, .msp_id, .cert_pem, .key_pem) for the
                                 enrolled users: every org 'admin', 'auditor1'; TrafficAuthority
                                 'officer1'; BankA/BankB 'loan1'; Insurer 'underwriter1';
                                 Dealer 'dealer1'; Regulator 'regulator1'
    orderer_endpoints, orderer_tls_ca
    kubo_rpc_url                 'http://127.0.0.1:<port>' (kubo RPC, every call a POST)
    operations_urls              {node name: 'http://127.0.0.1:<port>'} (/healthz, /metrics)
    chaincodes                   {chaincode name: package id, or why it was skipped}
    stop_node(name) / start_node(name)   e.g. 'orderer1', 'peer0.banka' (crash tests; nodes stopped by a
                                 test are started again at session end)
    height(org)                  the org peer's block height on the channel
    network                      the network.manager.Network itself

The same fixture body is importable for other test trees: network.fixture.open_for_tests() /
close_for_tests(). Transactions through Fabric's own CLI: network.peercli.invoke/query.

Environment: MLEDGER_NETWORK_BASE_PORT, FABRIC_VERSION, MLEDGER_NETWORK_DIR (see docs/network.md).
The network keeps running after the session (fast reruns) unless CI is set or
MLEDGER_NETWORK_STOP_AFTER_TESTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from network.errors import NetworkError
from network.fixture import FabricNetworkInfo, close_for_tests, open_for_tests

HERE = Path(__file__).resolve().parent


# marked tests that change the network for good run after every other network test, in this order:
# `org add` changes the channel's org set and chaincode policies (test_org_add.py); a peer rebuilt from a
# snapshot holds no block before it (test_peer_snapshot.py); so does the peer of a site lost and rebuilt
# (test_dr_drill.py)
LAST_MARKERS = ("adds_org", "rebuilds_peer", "loses_site")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [i for i in items if HERE in Path(str(i.fspath)).resolve().parents]
    for item in ours:
        item.add_marker(pytest.mark.fabric)
    last = [i for m in LAST_MARKERS for i in ours if i.get_closest_marker(m) is not None]
    if last and len(last) < len(ours):
        tail = next(i for i in reversed(ours) if i not in last)
        for item in last:
            items.remove(item)
        at = items.index(tail) + 1
        items[at:at] = last


@pytest.fixture(scope="session")
def fabric_network() -> Iterator[FabricNetworkInfo]:
    try:
        info, was_running = open_for_tests()
    except NetworkError as exc:
        pytest.fail(f"the Fabric network cannot start: {exc}", pytrace=False)
    yield info
    close_for_tests(info, was_running)
