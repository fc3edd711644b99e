"""Benchmark commit latency across hosts with added link delay (Toxiproxy), e.g. 0 / 50 / 200 ms.

Brings up the network with each org host in its own network namespace (network.multihost; needs root
and scripts/install-binaries toxiproxy), then for each delay adds it to both directions of every
node-to-node link and sends sequential transactions from BankA's host with Fabric's `peer chaincode
invoke --waitForEvent` (endorsed by BankA, on the same host, and Insurer, across a link), timing each
from start to the commit event. Each invoke is a fresh CLI process, so every figure includes new TLS
handshakes to Insurer's peer and the orderer over the delayed links, as a short-lived client would pay.
Then the same number of transactions through the project's Gateway client (app.fabric_gateway) with one
long-lived connection to BankA's peer, whose Gateway service endorses, orders and reports the commit
status over the (already open) links: the latency an application on BankA's host sees.
The network is removed at the end (also on failure) unless --keep.

Usage: sudo .venv/bin/python scripts/bench/multihost_latency.py [--delays 0,50,200] [--txs 5] [--keep]
Env: MLEDGER_NETWORK_BASE_PORT, MLEDGER_NETWORK_DIR (the bench uses <dir>-multihost-bench),
MLEDGER_BIN_DIR, FABRIC_VERSION. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from network.hosts import LOOPBACK_PLAN
from network.multihost import MultiHostNetwork
from network.settings import Settings

CC = "runtimetest"


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def gateway_client(target: str, tls_ca: str, msp_dir: str, msp_id: str, txs: int) -> None:
    """Run on an org's host (inside its namespace): one long-lived Gateway connection to the org's own
    peer, `txs` sequential submits (endorse, order, commit status), JSON list of seconds on stdout.
    The peer's Gateway endorses on another org's peer and reaches the orderer over the links."""
    import json

    from app.fabric_gateway import connect, create_channel, load_msp_folder

    identity, signer = load_msp_folder(msp_dir, msp_id)
    with create_channel(target, tls_root_certificates=Path(tls_ca)) as channel:
        contract = connect(identity, signer, channel).get_network("vehicles").get_contract(CC)
        contract.submit("put", "gw-warmup", "x")  # connections and discovery before timing
        times = []
        for _ in range(txs):
            t = time.monotonic()
            contract.submit("put", f"gw-{uuid.uuid4().hex[:8]}", "x")
            times.append(time.monotonic() - t)
    print(json.dumps(times))


def _gateway_times(net: MultiHostNetwork, txs: int) -> list[float]:
    """Start gateway_client on BankA's host and read its figures."""
    import json
    import subprocess

    from network import ca, topology

    s = net.network.settings
    banka = topology.org("banka")
    peer = topology.peer_name(banka)
    argv = [
        *net.on_host(peer),
        sys.executable,
        __file__,
        "--gateway-client",
        f"{s.hosts.advertise(peer)}:{s.ports.peer(banka)}",
        str(ca.org_crypto(s, banka).tls_ca),
        str(ca.org_crypto(s, banka).user("loan1") / "msp"),
        banka.msp_id,
        str(txs),
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True)
    return [float(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]


def _row(label: str, delay: int, times: list[float]) -> None:
    med, p90, lo, hi = statistics.median(times), _pct(times, 0.9), min(times), max(times)
    print(f"{label:>8} {delay:>7} ms {len(times):>4} {med:>9.3f} {p90:>7.3f} {lo:>7.3f} {hi:>7.3f}")


def main() -> None:
    if len(sys.argv) == 7 and sys.argv[1] == "--gateway-client":
        target, tls_ca, msp_dir, msp_id = sys.argv[2:6]
        gateway_client(target, tls_ca, msp_dir, msp_id, int(sys.argv[6]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--delays", default="0,50,200", help="added delay per link direction, ms")
    ap.add_argument("--txs", type=int, default=5, help="sequential transactions per delay")
    ap.add_argument("--keep", action="store_true", help="leave the network up afterwards")
    args = ap.parse_args()
    base = Settings.from_env()
    data = base.data_dir.with_name(base.data_dir.name + "-multihost-bench")
    net = MultiHostNetwork(replace(base, data_dir=data, hosts=LOOPBACK_PLAN))
    print(f"machine: {os.cpu_count()} cpus; load {os.getloadavg()}; Fabric {base.fabric_version}")
    net.down()  # leftovers of a killed run (recorded in its data dir)
    reused = (data / "crypto").exists()
    try:
        t0 = time.monotonic()
        net.up()
        kind = "existing crypto and ledgers" if reused else "fresh: identities, channel, chaincodes"
        print(f"multi-host up: {time.monotonic() - t0:.1f} s ({len(net.layout.host_list)} hosts; {kind})")
        net.invoke(CC, ["put", "warmup", "x"], org="BankA", user="loan1", endorsers=["BankA", "Insurer"])
        procs = net.network.procs.load()
        rss = sum(_rss_kib(p.pid) for p in procs.values()) / 1024
        print(f"resident memory at rest: {rss:.0f} MiB over {len(procs)} processes (Toxiproxy included)")
        heads = ("client", "delay/link", "txs", "median s", "p90 s", "min s", "max s")
        print(" ".join(f"{h:>{w}}" for h, w in zip(heads, (8, 10, 4, 9, 7, 7, 7), strict=True)))
        for delay in (int(d) for d in args.delays.split(",")):
            net.add_latency(delay)
            times: list[float] = []
            for _ in range(args.txs):
                t = time.monotonic()
                res = net.invoke(
                    CC,
                    ["put", f"bench-{uuid.uuid4().hex[:8]}", "x"],
                    org="BankA",
                    user="loan1",
                    endorsers=["BankA", "Insurer"],
                )
                if not res.ok:
                    print(f"  delay {delay} ms: transaction failed: {res.status} {res.output[-300:]}")
                    continue
                times.append(time.monotonic() - t)
            if times:
                _row("peer CLI", delay, times)
            _row("gateway", delay, _gateway_times(net, args.txs))
        net.add_latency(0)
        print(f"load after: {os.getloadavg()}")
    finally:
        if not args.keep:
            net.down()


if __name__ == "__main__":
    main()
