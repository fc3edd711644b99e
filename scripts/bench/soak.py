#!/usr/bin/env python3
"""Soak under faults (issue 18.5): the gateway API on the real network, a realistic mix, crashes.

    .venv/bin/python scripts/bench/soak.py [--seconds 600] [--concurrency 50] [--bucket 30]
                                           [--down-after]

Brings the native network up (Raft profile, FABRIC_VERSION 2.5.9 by default) or reuses the running one,
starts two gateway processes (`mledger serve`, Fabric backend: Traffic Authority and Bank A, each its own
data dir), and drives them with ``--concurrency`` requests in flight for ``--seconds``: vehicle
registrations, valuations, consent uploads, lien requests and recordings, QR issues, QR scans and reads
(app/demo/soak_load.py). Faults on a schedule: at 20 % of the run the Raft leader orderer (read from
its operations /metrics) is killed with SIGKILL and started again 30 s later; at 45 % Bank A's peer is
restarted; at 70 % the Traffic Authority's gateway is killed with SIGKILL and restarted on the same
data dir (clients retry with the same Idempotency-Key). At the end every acknowledged write is checked on
the ledger. Prints a 30 s timeline and the figures; exits 1 if a write was lost or ran twice, or a 5xx
came outside the gateway's restart window, or a write stayed unresolved.

Stops the gateways it started (by pid). The network stays up (as the test fixture leaves it) unless
``--down-after`` and this run started it. Environment: MLEDGER_NETWORK_BASE_PORT, MLEDGER_NETWORK_DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.demo.soak import USERS, SoakNetwork, gateway_crash, run_soak, start_gateways, stop_gateways  # noqa: E402
from app.demo.soak_load import BANK, TA, Fault  # noqa: E402
from network import faults as network_faults  # noqa: E402
from network.fixture import FabricNetworkInfo, close_for_tests, open_for_tests  # noqa: E402


def soak_network(info: FabricNetworkInfo) -> SoakNetwork:
    return SoakNetwork(
        {msp: info.connection_profile(msp) for msp in USERS},
        info.kubo_rpc_url,
        {msp: info.identities(msp, users) for msp, users in USERS.items()},
    )


def leader_crash(info: FabricNetworkInfo, at: float, down_for: float) -> Fault:
    def crash() -> None:
        leader = network_faults.raft_leader(info.network)
        print(f"  [{time.strftime('%H:%M:%S')}] kill -9 Raft leader {leader}", flush=True)
        network_faults.kill_node(info.network, leader)
        time.sleep(down_for)
        info.start_node(leader)
        now = network_faults.raft_leader(info.network)
        print(f"  [{time.strftime('%H:%M:%S')}] {leader} back; the leader is now {now}", flush=True)

    return Fault(at, "kill -9 Raft leader orderer", crash)


def peer_restart(info: FabricNetworkInfo, at: float, org: str) -> Fault:
    peer = info.org(org).peer_name
    assert peer is not None

    def restart() -> None:
        network_faults.restart_node(info.network, peer)

    return Fault(at, f"restart {peer}", restart)


async def soak(args: argparse.Namespace, info: FabricNetworkInfo, root: Path) -> int:
    gateways = start_gateways(soak_network(info), root)
    try:
        s = args.seconds
        faults = [
            leader_crash(info, 0.20 * s, args.orderer_down),
            peer_restart(info, 0.45 * s, BANK),
            gateway_crash(gateways[TA], 0.70 * s),
        ]
        load = os.getloadavg()
        urls = ", ".join(g.url for g in gateways.values())
        print(f"soak: {s:.0f} s, {args.concurrency} in flight, gateways {urls}", flush=True)
        result = await run_soak(
            gateways, seconds=s, concurrency=args.concurrency, faults=faults, bucket=args.bucket
        )
    finally:
        stop_gateways(gateways)
    print("\n".join(result.lines))
    for gw in gateways.values():
        print(
            f"gateway {gw.msp_id}: ready after "
            + ", ".join(f"{t:.1f} s" for t in gw.starts)
            + " (start, restarts)"
        )
    end = os.getloadavg()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpu(s); load average (1/5/15 min) at start "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, at end {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}; "
        f"Fabric {info.network.settings.fabric_version}, {info.network.settings.ordering}"
    )
    print("PASS" if result.passed else "FAIL")
    return 0 if result.passed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--bucket", type=float, default=30.0, help="timeline window (s)")
    parser.add_argument("--orderer-down", type=float, default=30.0, help="s the leader stays down")
    parser.add_argument("--work-dir", type=Path, help="the gateways' data dirs (kept); default: a temp dir")
    parser.add_argument("--down-after", action="store_true", help="stop the network if this run started it")
    args = parser.parse_args()
    info, was_running = open_for_tests()
    try:
        if args.work_dir is not None:
            args.work_dir.mkdir(parents=True, exist_ok=True)
            return asyncio.run(soak(args, info, args.work_dir.resolve()))
        with tempfile.TemporaryDirectory(prefix="mledger-soak-") as tmp:
            return asyncio.run(soak(args, info, Path(tmp)))
    finally:
        if args.down_after:
            os.environ["MLEDGER_NETWORK_STOP_AFTER_TESTS"] = "1"
        close_for_tests(info, was_running if args.down_after else True)


if __name__ == "__main__":
    sys.exit(main())
