#!/usr/bin/env python3
"""What one API request costs the gateway, measured with wrk beside a bare FastAPI endpoint.

    .venv/bin/python scripts/bench/api_cost.py [--seconds 10] [--rounds 2] [--inflight 1,10,50]

Starts `mledger serve` (the embedded default, demo data) and `uvicorn bare_api:app` (a bearer-token check
and a vehicle-sized JSON answer, scripts/bench/bare_api.py) as processes of their own on 127.0.0.1, then,
interleaved round by round so both see the same machine, drives each with wrk (Debian's package) at 1, 10
and 50 in flight:
  - read:  GET /api/v1/vehicles/{vin} as a loan officer, on the gateway and on the bare endpoint;
  - write: POST /api/v1/vehicles (a registration, distinct VINs and plates) on the gateway.
It prints per case requests/s, p50/p99 latency (wrk's) and the server's CPU per request (user + system
time of the server process from /proc, over the run, divided by the requests wrk completed), and the
gateway/bare CPU ratio for reads. Issue 23's targets: CPU per read ≤ 2× the bare endpoint's; reads p99 ≤
100 ms at 50 in flight.

    MLEDGER_NETWORK_BASE_PORT=... MLEDGER_NETWORK_DIR=... scripts/bench/api_cost.py --replicas

The real-network mode (issue 23.2/23.6): brings the native Fabric network up (or reuses it), starts a
PostgreSQL (scripts/postgres) and two `mledger serve` replicas of TrafficAuthority sharing it behind HAProxy
(scripts/haproxy), as tests/integration/test_gateway_replicas.py does, and measures in the same run:
reads and registrations through HAProxy over the two replicas, the same on one replica (its own port),
and reads of the bare endpoint. CPU per request is then the replicas' (both processes) user + system time;
the peers', orderers' and chaincode's CPU is not in it. Also prints p95. Target: reads p95 ≤ 100 ms at 50
in flight through HAProxy over two replicas.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.demo.data import VEHICLES, demo_vin  # noqa: E402
from app.users.provision import demo_password  # noqa: E402

HERE = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")
SPAN = 5_000  # registrations a wrk thread may post in one run (distinct bodies per run and thread)
READER = "loan1@BankAMSP"
WRITER = "officer1@TrafficAuthorityMSP"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its reaped children, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"no answer from {url} within {timeout:.0f}s")


DONE_LUA = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do io.write(string.format("pct %d %d\\n", p, latency:percentile(p))) end
end
"""


def percentiles_script() -> Path:
    """A wrk script that only prints p50/p95/p99 (microseconds) when the run is done: wrk's own
    --latency table has no p95."""
    path = Path(tempfile.gettempdir()) / "mledger-wrk-percentiles.lua"
    if not path.exists() or path.read_text() != DONE_LUA:
        path.write_text(DONE_LUA)
    return path


@dataclass
class Result:
    requests: int
    seconds: float
    cpu: float
    p50_ms: float
    p99_ms: float
    errors: int
    p95_ms: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / max(1, self.requests)


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNIT[unit]


def wrk(
    url: str,
    pid: int | list[int],
    inflight: int,
    seconds: int,
    token: str,
    script: Path | None = None,
    start: int = 0,
) -> Result:
    threads = min(2, inflight)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{inflight}",
        f"-d{seconds}s",
        "--timeout",
        "30s",  # wrk's default (2 s) counts slow registrations on the real network as errors
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    cmd += ["-s", str(script if script is not None else percentiles_script())]
    pids = pid if isinstance(pid, list) else [pid]
    before = sum(cpu_seconds(p) for p in pids)
    started = time.monotonic()
    tail = ["--", str(start)] if script is not None else []
    out = subprocess.run([*cmd, url, *tail], capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    cpu = sum(cpu_seconds(p) for p in pids) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|95|99)%\s+(\S+)\s*$", out, re.M))
    if "50" not in latency or "99" not in latency:
        raise SystemExit(f"wrk printed no latency distribution:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(g) for g in socket_errors.groups())
    exact = {p: int(us) / 1000 for p, us in re.findall(r"^pct (\d+) (\d+)$", out, re.M)}
    p95 = exact.get("95", 0.0)
    return Result(requests, elapsed, cpu, _ms(latency["50"]), _ms(latency["99"]), failed, p95)


def token_for(base: str, qualified: str) -> str:
    name, _, msp = qualified.partition("@")
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": qualified, "password": demo_password(msp, name)}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def registration_script(
    folder: Path, count: int, vin_of: Callable[[int], str] | None = None, tag: str = ""
) -> Path:
    """A wrk Lua script posting `count` distinct registrations (valid VINs, distinct plates; ``tag``
    makes the plates distinct from an earlier run's on a ledger that keeps them)."""
    bodies = folder / "registrations.txt"
    vin_of = vin_of or (lambda n: demo_vin(500_000 + n, wmi="LFV", vds="BE3AX"))
    with bodies.open("w") as out:
        for n in range(count):
            body = {
                "vehicle": {
                    "vin": vin_of(n),
                    "plate": f"沪K{tag}{n:06d}" if tag else f"沪K{n:05d}",
                    "make": "BYD",
                    "model": "Han",
                    "trim": "EV",
                    "year": 2024,
                    "configuration": {},
                    "registration_date": "2024-03-01",
                },
                "owner": {"name": "Bench Owner", "id_number": "110101199003071234"},
            }
            out.write(json.dumps(body, ensure_ascii=False) + "\n")
    script = folder / "register.lua"
    script.write_text(
        f"""
local bodies = {{}}
for line in io.lines("{bodies}") do bodies[#bodies + 1] = line end
local start = 0
local threads = 0
setup = function(thread)
  thread:set("offset", tostring(threads * {SPAN}))
  threads = threads + 1
end
local next_body = 0
init = function(args)
  next_body = tonumber(args[1]) + tonumber(wrk.thread:get("offset"))
end
request = function()
  next_body = next_body + 1
  local headers = {{}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", nil, headers, bodies[next_body])
end
"""
        + DONE_LUA,
    )
    return script


HEAD = ("case", "in flight", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "errors")


def print_head() -> None:
    print(f"{HEAD[0]:<26}" + "".join(f"{h:>11}" for h in HEAD[1:]))


def print_row(name: str, level: int, result: Result) -> None:
    print(
        f"{name:<26}{level:>11}{result.rate:>11.0f}{result.p50_ms:>11.1f}{result.p95_ms:>11.1f}"
        f"{result.p99_ms:>11.1f}{result.cpu_ms:>11.2f}{result.errors:>11}",
        flush=True,
    )


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def start_bare(work: Path, document: str, procs: list[subprocess.Popen[bytes]]) -> tuple[str, int, str]:
    """The bare endpoint (bare_api.py) returning ``document``: its URL, pid and a bearer token."""
    (work / "vehicle.json").write_text(document)
    secret = secrets.token_bytes(32)
    (work / "bare.key").write_bytes(secret)
    port = free_port()
    bare = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/python"),
            "-m",
            "uvicorn",
            "bare_api:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=HERE,
        env={
            **os.environ,
            "MLEDGER_BARE_SECRET_FILE": str(work / "bare.key"),
            "MLEDGER_BARE_DOCUMENT": str(work / "vehicle.json"),
        },
        stdout=subprocess.DEVNULL,
        stderr=(work / "bare.log").open("w"),
    )
    procs.append(bare)
    base = f"http://127.0.0.1:{port}"
    token = jwt.encode({"sub": "loan1", "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
    wait_ready(f"{base}/docs", bare)
    return base, bare.pid, token


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inflight", default="1,10,50")
    parser.add_argument("--writes", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="real network, PostgreSQL, two replicas behind HAProxy vs one replica vs bare",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package `wrk`: apt-get install wrk)")
    if args.replicas:
        replicas_main(args)
    else:
        embedded_main(args)


def embedded_main(args: argparse.Namespace) -> None:
    levels = [int(x) for x in args.inflight.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mledger-api-cost-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        gw_port = free_port()
        env = {**os.environ, "MLEDGER_DATA_DIR": str(work / "gateway")}
        gw = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(gw_port)],
            cwd=ROOT,  # this checkout's code, whatever the virtualenv's editable install points at
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "gateway.log").open("w"),
        )
        procs.append(gw)
        base = f"http://127.0.0.1:{gw_port}"
        wait_ready(f"{base}/healthz", gw)
        reader = token_for(base, READER)
        vin = VEHICLES[0].vin
        document = httpx.get(f"{base}/api/v1/vehicles/{vin}", headers={"Authorization": f"Bearer {reader}"})
        document.raise_for_status()
        bare_base, bare_pid, bare_token = start_bare(work, document.text, procs)
        script = registration_script(work, SPAN * 2 * len(levels) * args.rounds) if args.writes else None
        used = 0
        writer = token_for(base, WRITER)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
            f"{args.seconds}s per case, {args.rounds} rounds, interleaved"
        )
        print_head()
        results: dict[tuple[str, int], list[Result]] = {}
        for _ in range(args.rounds):
            for level in levels:
                cases: list[tuple[str, str, int, str, Path | None]] = [
                    ("gateway read", f"{base}/api/v1/vehicles/{vin}", gw.pid, reader, None),
                    ("bare read", f"{bare_base}/api/v1/vehicles/{vin}", bare_pid, bare_token, None),
                ]
                if script is not None:
                    cases.append(("gateway registration", f"{base}/api/v1/vehicles", gw.pid, writer, script))
                for name, url, pid, token, lua in cases:
                    result = wrk(url, pid, level, args.seconds, token, lua, used)
                    if lua is not None:
                        used += 2 * SPAN
                    results.setdefault((name, level), []).append(result)
                    print_row(name, level, result)
        print("\nsummary (median over rounds)")
        for level in levels:
            gw_cpu = sorted(r.cpu_ms for r in results[("gateway read", level)])
            bare_cpu = sorted(r.cpu_ms for r in results[("bare read", level)])
            g, b = gw_cpu[len(gw_cpu) // 2], bare_cpu[len(bare_cpu) // 2]
            p99 = sorted(r.p99_ms for r in results[("gateway read", level)])[len(gw_cpu) // 2]
            print(
                f"  {level:>3} in flight: read CPU gateway {g:.2f} ms vs bare {b:.2f} ms = {g / b:.2f}x "
                f"(target <= 2x); gateway read p99 {p99:.1f} ms"
            )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def replicas_main(args: argparse.Namespace) -> None:
    """Through HAProxy over two replicas vs one replica vs bare, on the real network with PostgreSQL."""
    from app.demo.replica_set import open_replicas
    from app.store.local_postgres import PostgresServer
    from chaincode.mortgage.vin import with_check_digit
    from network.fixture import close_for_tests, open_for_tests

    levels = [int(x) for x in args.inflight.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mledger-api-cost-replicas-"))
    procs: list[subprocess.Popen[bytes]] = []
    info, was_running = open_for_tests()
    # a PostgreSQL of the bench's own (port and folder), beside any the test suites run
    pg_port = int(os.environ.get("MLEDGER_NETWORK_BASE_PORT", "27000")) + 953
    postgres = PostgresServer(Path(tempfile.gettempdir()) / f"mledger-bench-postgres-{pg_port}", pg_port, "")
    postgres.start()
    cluster = open_replicas(work, postgres, info)
    try:
        password = secrets.token_urlsafe(16)
        cluster.add_user("bench-officer", "registrar", password)
        cluster.start()
        assert cluster.proxy is not None
        one = cluster.replicas[0]
        pids = [r.proc.pid for r in cluster.replicas if r.proc is not None]
        login = httpx.post(
            f"{cluster.proxy.url}/api/v1/auth/token",
            data={"username": "bench-officer", "password": password},
        )
        login.raise_for_status()
        token = str(login.json()["access_token"])
        auth = {"Authorization": f"Bearer {token}"}
        run = secrets.token_hex(4).upper()
        vin = with_check_digit(f"LSV{run}{secrets.token_hex(3).upper()}")
        body = {
            "vehicle": {
                "vin": vin, "plate": f"粤B{run}", "make": "GAC", "model": "Aion S", "trim": "Plus",
                "year": 2023, "configuration": {}, "registration_date": "2023-01-01",
            },
            "owner": {"name": "Bench Owner", "id_number": "440101199001011234"},
        }  # fmt: skip
        httpx.post(
            f"{cluster.proxy.url}/api/v1/vehicles", json=body, headers=auth, timeout=60
        ).raise_for_status()
        document = httpx.get(f"{cluster.proxy.url}/api/v1/vehicles/{vin}", headers=auth, timeout=60)
        document.raise_for_status()
        bare_base, bare_pid, bare_token = start_bare(work, document.text, procs)
        total = SPAN * 2 * len(levels) * args.rounds * 2
        script = (
            registration_script(work, total, lambda n: with_check_digit(f"LFV{run[:6]}{n:08d}"), run[:6])
            if args.writes
            else None
        )
        used = 0
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
            f"real network ({info.network.settings.fabric_version}), PostgreSQL store, TrafficAuthority "
            f"replicas; {args.seconds}s per case, {args.rounds} rounds, interleaved"
        )
        print_head()
        results: dict[tuple[str, int], list[Result]] = {}
        for _ in range(args.rounds):
            for level in levels:
                read = f"/api/v1/vehicles/{vin}"
                cases: list[tuple[str, str, int | list[int], str, Path | None]] = [
                    ("2 replicas read (HAProxy)", f"{cluster.proxy.url}{read}", pids, token, None),
                    ("1 replica read", f"{one.url}{read}", pids, token, None),
                    ("bare read", f"{bare_base}{read}", bare_pid, bare_token, None),
                ]
                if script is not None:
                    cases += [
                        (
                            "2 replicas write (HAProxy)",
                            f"{cluster.proxy.url}/api/v1/vehicles",
                            pids,
                            token,
                            script,
                        ),
                        ("1 replica write", f"{one.url}/api/v1/vehicles", pids, token, script),
                    ]
                for name, url, pid, bearer, lua in cases:
                    result = wrk(url, pid, level, args.seconds, bearer, lua, used)
                    if lua is not None:
                        used += 2 * SPAN
                    results.setdefault((name, level), []).append(result)
                    print_row(name, level, result)
        print(f"\nsummary (median over rounds; load now {os.getloadavg()[0]:.1f})")
        for level in levels:
            two = results[("2 replicas read (HAProxy)", level)]
            single = results[("1 replica read", level)]
            print(
                f"  {level:>3} in flight: reads p95 two replicas {median([r.p95_ms for r in two]):.1f} ms "
                f"(target <= 100 ms at 50), one replica {median([r.p95_ms for r in single]):.1f} ms; "
                f"{median([r.rate for r in two]):.0f} vs {median([r.rate for r in single]):.0f} reads/s"
            )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        cluster.stop()
        postgres.stop()
        close_for_tests(info, was_running)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
