"""A short soak under faults on the real network (the full one is scripts/bench/soak.py): two gateway
processes under load while Bank A's peer restarts and the Traffic Authority's gateway is killed with
SIGKILL and restarted; every acknowledged write must be on the ledger exactly once, and no 5xx may come
outside the gateway's restart window."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.demo.soak import USERS, SoakNetwork, gateway_crash, run_soak, start_gateways, stop_gateways
from app.demo.soak_load import BANK, TA, Fault
from network import faults


def test_soak_with_gateway_crash_and_peer_restart(fabric_network: Any, tmp_path: Path) -> None:
    info = fabric_network
    net = SoakNetwork(
        {msp: info.connection_profile(msp) for msp in USERS},
        info.kubo_rpc_url,
        {msp: info.identities(msp, users) for msp, users in USERS.items()},
    )
    peer = info.org(BANK).peer_name
    gateways = start_gateways(net, tmp_path)
    try:
        schedule = [
            Fault(10, f"restart {peer}", lambda: faults.restart_node(info.network, peer)),
            gateway_crash(gateways[TA], 25),
        ]
        result = asyncio.run(run_soak(gateways, seconds=45, concurrency=8, faults=schedule, bucket=15))
    finally:
        stop_gateways(gateways)
    report = "\n".join(result.lines)
    record, verdict = result.record, result.verdict
    # the faults happened, and the load went on through them
    assert [w.name for w in record.faults] == [f"restart {peer}", f"kill -9 gateway {TA}"], report
    assert all(w.end is not None for w in record.faults), report
    back = record.faults[1].end or 0.0
    assert any(a.t0 > back for a in record.attempts if a.gateway == TA and a.error is None), report
    assert record.lifecycles > 0 and verdict.acknowledged > 0, report
    assert {a.op for a in record.acks} >= {
        "registration",
        "valuation",
        "document",
        "lien_request",
        "lien_record",
    }
    # exactly once, nothing left hanging, no 5xx outside the restart
    assert verdict.lost == [] and verdict.duplicates == [], report
    assert record.unresolved == [] and record.refused == [], report
    assert result.figures.fivexx_outside == [], report
