"""Benchmark: does a burst of bad logins stall the gateway? (issue 12, finding 7)

Starts a gateway (uvicorn on a free loopback port, embedded ledger, a throw-away data dir) with the
login lockout raised out of the way, then fires ``--concurrency`` wrong-password logins at once,
``--rounds`` times, while a prober calls ``/healthz`` every 20 ms. Prints the /healthz latency
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
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.users.roles import Role  # noqa: E402


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

    limits = httpx.Limits(max_connections=concurrency + 4)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="login-bench-") as tmp:
        port = _free_port()
        settings = Settings(
            data_dir=Path(tmp) / "gw",
            token_secret="b" * 32,
            demo_mode=False,
            login_limits_per_account="100000/minute",
            login_limits_per_address="100000/minute",
        )
        app = create_app(settings)
        app.state.gw.users.add("BankAMSP", "bench1", Role.loan_officer, "the-right-password-1")
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            health, elapsed, logins = asyncio.run(
                _burst(f"http://127.0.0.1:{port}", args.concurrency, args.rounds)
            )
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu(s), load {os.getloadavg()[0]:.2f} (1 min)")
    print(f"hash workers: {settings.login_hash_concurrency}; {logins} bad logins, {args.concurrency} at once")
    print(f"logins: {logins / elapsed:7.1f}/s over {elapsed:.2f} s")
    print(
        f"/healthz during the burst: n={len(health)} p50={_pct(health, 50):.1f} ms "
        f"p95={_pct(health, 95):.1f} ms max={max(health):.1f} ms"
    )


if __name__ == "__main__":
    main()
