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


@dataclass
class Result:
    requests: int
    seconds: float
    cpu: float
    p50_ms: float
    p99_ms: float
    errors: int

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
    url: str, pid: int, inflight: int, seconds: int, token: str, script: Path | None = None, start: int = 0
) -> Result:
    threads = min(2, inflight)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{inflight}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if script is not None:
        cmd += ["-s", str(script)]
    before = cpu_seconds(pid)
    started = time.monotonic()
    tail = ["--", str(start)] if script is not None else []
    out = subprocess.run([*cmd, url, *tail], capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if "50" not in latency or "99" not in latency:
        raise SystemExit(f"wrk printed no latency distribution:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(g) for g in socket_errors.groups())
    return Result(requests, elapsed, cpu, _ms(latency["50"]), _ms(latency["99"]), failed)


def token_for(base: str, qualified: str) -> str:
    name, _, msp = qualified.partition("@")
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": qualified, "password": demo_password(msp, name)}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def registration_script(folder: Path, count: int) -> Path:
    """A wrk Lua script posting `count` distinct registrations (valid VINs, distinct plates)."""
    bodies = folder / "registrations.txt"
    with bodies.open("w") as out:
        for n in range(count):
            body = {
                "vehicle": {
                    "vin": demo_vin(500_000 + n, wmi="LFV", vds="BE3AX"),
                    "plate": f"沪K{n:05d}",
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
""",
    )
    return script


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inflight", default="1,10,50")
    parser.add_argument("--writes", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package `wrk`: apt-get install wrk)")
    levels = [int(x) for x in args.inflight.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mledger-api-cost-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        gw_port, bare_port = free_port(), free_port()
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
        (work / "vehicle.json").write_text(document.text)
        secret = secrets.token_bytes(32)
        (work / "bare.key").write_bytes(secret)
        bare = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/python"),
                "-m",
                "uvicorn",
                "bare_api:app",
                "--port",
                str(bare_port),
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
        bare_base = f"http://127.0.0.1:{bare_port}"
        bare_token = jwt.encode({"sub": "loan1", "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
        wait_ready(f"{bare_base}/docs", bare)
        script = registration_script(work, SPAN * 2 * len(levels) * args.rounds) if args.writes else None
        used = 0
        writer = token_for(base, WRITER)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
            f"{args.seconds}s per case, {args.rounds} rounds, interleaved"
        )
        head = ("case", "in flight", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "errors")
        print(f"{head[0]:<22}" + "".join(f"{h:>12}" for h in head[1:]))
        results: dict[tuple[str, int], list[Result]] = {}
        for _ in range(args.rounds):
            for level in levels:
                cases: list[tuple[str, str, int, str, Path | None]] = [
                    ("gateway read", f"{base}/api/v1/vehicles/{vin}", gw.pid, reader, None),
                    ("bare read", f"{bare_base}/api/v1/vehicles/{vin}", bare.pid, bare_token, None),
                ]
                if script is not None:
                    cases.append(("gateway registration", f"{base}/api/v1/vehicles", gw.pid, writer, script))
                for name, url, pid, token, lua in cases:
                    result = wrk(url, pid, level, args.seconds, token, lua, used)
                    if lua is not None:
                        used += 2 * SPAN
                    results.setdefault((name, level), []).append(result)
                    print(
                        f"{name:<22}{level:>12}{result.rate:>12.0f}{result.p50_ms:>12.1f}{result.p99_ms:>12.1f}"
                        f"{result.cpu_ms:>12.2f}{result.errors:>12}",
                        flush=True,
                    )
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


if __name__ == "__main__":
    main()
