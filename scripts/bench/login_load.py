"""Benchmark: does a burst of bad logins stall the gateway? (issue 12, finding 7)

Starts ``mledger serve`` in a process of its own (free loopback port, embedded ledger, a throw-away
data dir) with the login lockout raised out of the way, then fires ``--concurrency`` wrong-password
logins at once, ``--rounds`` times, while a prober calls ``/healthz`` every 20 ms. Prints the /healthz latency
(p50/p95/max) during the burst and the login throughput. Password hashing runs in worker threads
(Argon2id), so /healthz should stay in the milliseconds; on the event loop it froze for seconds.

    .venv/bin/python scripts/bench/login_load.py [--concurrency 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _burst(base: str, concurrency: int, rounds: int) -> tuple[list[float], float, int]:
    health: list[float] = []
    done = asyncio.Event()

    async def probe(http: httpx.AsyncClient) -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert (await http.get("/healthz")).status_code == 200
            health.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)

    limits = httpx.Limits(max_connections=concurrency + 4, keepalive_expiry=2)  # uvicorn: 5 s idle
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        prober = asyncio.create_task(probe(http))
        started, logins = time.perf_counter(), 0
        for r in range(rounds):
            form = [{"username": "bench1@BankAMSP", "password": f"wrong-{r}-{i}"} for i in range(concurrency)]
            answers = await asyncio.gather(*(http.post("/api/v1/auth/token", data=f) for f in form))
            assert all(a.status_code == 401 for a in answers), {a.status_code for a in answers}
            logins += len(answers)
        elapsed = time.perf_counter() - started
        done.set()
        await prober
    return health, elapsed, logins


MLEDGER = [sys.executable, "-c", "from app.cli import main; main()"]


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """The gateway in a process of its own (as deployed), lockout limits raised out of the way."""
    env = {
        **os.environ,
        "MLEDGER_TOKEN_SECRET": "b" * 32,
        "MLEDGER_LOGIN_LIMITS_PER_ACCOUNT": "100000/minute",
        "MLEDGER_LOGIN_LIMITS_PER_ADDRESS": "100000/minute",
    }
    password = "the-right-password-1"
    subprocess.run(
        [*MLEDGER, "users", "add", "bench1", "--org", "BankAMSP", "--role", "loan_officer",
         "--password", password, "--data-dir", str(data_dir)],
        check=True, capture_output=True, env=env, cwd=ROOT,
    )  # fmt: skip
    return subprocess.Popen(
        [*MLEDGER, "serve", "--port", str(port), "--data-dir", str(data_dir), "--no-demo"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    default_workers = f"{max(1, min(4, os.cpu_count() or 1))} (default)"
    workers = os.environ.get("MLEDGER_LOGIN_HASH_CONCURRENCY", default_workers)
    with tempfile.TemporaryDirectory(prefix="login-bench-") as tmp:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _serve(Path(tmp) / "gw", port)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, "the gateway did not start"
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            health, elapsed, logins = asyncio.run(_burst(base, args.concurrency, args.rounds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu(s), load {os.getloadavg()[0]:.2f} (1 min)")
    print(f"hash workers: {workers}; {logins} bad logins, {args.concurrency} at once")
    print(f"logins: {logins / elapsed:7.1f}/s over {elapsed:.2f} s")
    print(
        f"/healthz during the burst: n={len(health)} p50={_pct(health, 50):.1f} ms "
        f"p95={_pct(health, 95):.1f} ms max={max(health):.1f} ms"
    )


if __name__ == "__main__":
    main()
