#!/usr/bin/env python3
"""What one chaincode invocation costs: the project's runtime next to its transport's floor and Go.

Protocol mode (default). A fake peer written in Go (scripts/bench/go/ccdriver) keeps C transactions in
flight on each stream and answers state requests at once; it drives, interleaved in one run:
  runtime  the project's chaincode server (chaincode.runtime.server) with the test contract;
  bare     scripts/bench/bare_chaincode.py, a bare grpcio Connect loop with no contract layer (the floor);
  go       scripts/bench/go/gocc, the same Put/Get on fabric-chaincode-go/v2 v2.3.0 (CCaaS).
It prints invocations/s and CPU per invocation (utime+stime of the chaincode process from /proc over the
measurement window) for get and put at 1, 10 and 50 in flight, and the ratios runtime/bare, runtime/go.
``--workers N --streams S`` also runs the runtime with N worker processes behind one address (SO_REUSEPORT)
with S peers (streams) connected, next to one process with the same S streams.
``--batch`` makes the fake peer offer Fabric 3.x write batches and multi-key reads in READY.

Network mode (``--network``): see scripts/bench/chaincode_network.py.

Needs Go (the two Go programs are built into .cache/bench on first use).
Usage: .venv/bin/python scripts/bench/chaincode_cost.py [--duration 3] [--levels 1,10,50] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GO_DIR = ROOT / "scripts" / "bench" / "go"
BIN_DIR = ROOT / ".cache" / "bench"
PACKAGE_ID = "bench_ccaas:" + "0" * 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_go() -> Path:
    """Build ccdriver and gocc (module pinned by go.mod/go.sum) unless they are newer than their source."""
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    sources = [p for p in GO_DIR.rglob("*") if p.is_file()]
    newest = max(p.stat().st_mtime for p in sources)
    targets = [BIN_DIR / "ccdriver", BIN_DIR / "gocc"]
    if all(t.exists() and t.stat().st_mtime >= newest for t in targets):
        return BIN_DIR
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = {**os.environ, "GOFLAGS": "-mod=mod -buildvcs=false", "CGO_ENABLED": "0"}
    subprocess.run(
        [go, "build", "-o", str(BIN_DIR) + "/", "./ccdriver", "./gocc"], cwd=GO_DIR, env=env, check=True
    )
    return BIN_DIR


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int

    def pids(self) -> list[int]:
        """The server's process and its worker processes (children), whose CPU is counted."""
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        return pids

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_server(name: str, bins: Path, workers: int = 1) -> Server:
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHAINCODE_LOG_LEVEL": "WARNING"}
    if name.startswith("runtime"):
        argv = [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            address,
            "--contract",
            "chaincode.testcc.contract:TestContract",
        ]
        if workers > 1:
            argv += ["--workers", str(workers)]
    elif name == "bare":
        argv = [
            sys.executable,
            str(ROOT / "scripts/bench/bare_chaincode.py"),
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            address,
        ]
    else:
        argv = [str(bins / "gocc")]
        env.update(CHAINCODE_ID=PACKAGE_ID, CHAINCODE_SERVER_ADDRESS=address)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wait_port(port, proc, name)
    if workers > 1:
        time.sleep(1.0)  # every worker bound (the parent's port check sees the first one)
    return Server(name, proc, port)


def drive(bins: Path, server: Server, fn: str, inflight: int, streams: int, args: argparse.Namespace) -> dict:
    pids = ",".join(str(p) for p in server.pids())
    argv = [
        str(bins / "ccdriver"),
        "-addr",
        f"127.0.0.1:{server.port}",
        "-fn",
        fn,
        "-inflight",
        str(inflight),
        "-streams",
        str(streams),
        "-duration",
        f"{args.duration}s",
        "-warmup",
        f"{args.warmup}s",
        "-pids",
        pids,
    ]
    if args.batch:
        argv.append("-batch")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + args.warmup + 60)
    if out.returncode != 0:
        raise RuntimeError(f"ccdriver against {server.name}: {out.stderr.strip()}")
    result = json.loads(out.stdout)
    result["cpu_total"] = sum(v for v in result["cpu"].values() if v >= 0)
    return result


def row(name: str, fn: str, inflight: int, streams: int, r: dict) -> tuple[float, float]:
    rate = r["completed"] / r["seconds"] if r["seconds"] else 0.0
    driver_ms = r["driver_cpu"] / max(r["completed"], 1) * 1e3
    cpu_ms = r["cpu_total"] / r["completed"] * 1e3 if r["completed"] else float("nan")
    note = f" errors={r['errors']}" if r["errors"] else ""
    if len(r["cpu"]) > 1:  # a supervisor and its workers: where the CPU went
        note += " per process CPU s: " + " ".join(f"{v:.2f}" for v in r["cpu"].values())
    if r.get("stream_error"):
        note += f" stream_error={r['stream_error']}"
    print(
        f"  {name:<12} {fn:<4} {inflight:>3} in flight x{streams}: {rate:8.0f} inv/s  "
        f"CPU {cpu_ms:6.3f} ms/inv  (driver {driver_ms:.3f} ms/inv){note}"
    )
    return rate, cpu_ms


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=3.0, help="measurement window per point, seconds")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--levels", default="1,10,50", help="transactions in flight per stream")
    p.add_argument("--functions", default="get,put")
    p.add_argument("--rounds", type=int, default=1, help="interleaved repetitions of every point")
    p.add_argument("--batch", action="store_true", help="offer Fabric 3.x batching in READY")
    p.add_argument("--workers", type=int, default=0, help="also measure N runtime workers (SO_REUSEPORT)")
    p.add_argument("--streams", type=int, default=2, help="peers (streams) connected in the workers part")
    p.add_argument("--skip-compare", action="store_true", help="only the workers part")
    args = p.parse_args()
    bins = build_go()
    levels = [int(x) for x in args.levels.split(",")]
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, {platform_cpu()}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    servers: list[Server] = []
    try:
        if not args.skip_compare:
            servers = [start_server(n, bins) for n in ("runtime", "bare", "go")]
            for fn in args.functions.split(","):
                for c in levels:
                    print(f"{fn} at {c} in flight (one stream):")
                    sums: dict[str, list[float]] = {s.name: [0.0, 0.0] for s in servers}
                    for rnd in range(args.rounds):
                        order = servers[rnd % 3 :] + servers[: rnd % 3]  # interleaved, rotating order
                        for s in order:
                            rate, cpu = row(s.name, fn, c, 1, drive(bins, s, fn, c, 1, args))
                            sums[s.name][0] += rate / args.rounds
                            sums[s.name][1] += cpu / args.rounds
                    rt, bare, go = sums["runtime"], sums["bare"], sums["go"]
                    print(
                        f"  => CPU per inv runtime/bare {rt[1] / bare[1]:.2f}x, "
                        f"runtime/go {rt[1] / go[1]:.2f}x; "
                        f"inv/s runtime/bare {rt[0] / bare[0]:.2f}x, runtime/go {rt[0] / go[0]:.2f}x"
                    )
            for s in servers:
                s.stop()
            servers = []
        if args.workers > 1:
            print(f"workers: {args.streams} peers (streams), 50 in flight each:")
            one = start_server("runtime", bins)
            many = start_server(f"runtime-{args.workers}w", bins, workers=args.workers)
            servers = [one, many]
            for fn in args.functions.split(","):
                rates = {}
                for s in servers:
                    rates[s.name], _ = row(
                        s.name, fn, 50, args.streams, drive(bins, s, fn, 50, args.streams, args)
                    )
                print(
                    f"  => {fn}: {args.workers} workers / 1 process: "
                    f"{rates[many.name] / rates[one.name]:.2f}x inv/s"
                )
    finally:
        for s in servers:
            s.stop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def platform_cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
