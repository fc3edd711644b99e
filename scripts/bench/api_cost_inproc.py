#!/usr/bin/env python3
"""The API's own CPU per read, in process: no HTTP server, no load generator, no other process's noise.

    .venv/bin/python scripts/bench/api_cost_inproc.py [--calls 500] [--rounds 15] [--profile FILE]

Builds the gateway (`create_app`, embedded default, demo data, in a temporary data dir) and the bare
endpoint (scripts/bench/bare_api.py) in this process and calls each as an ASGI app directly with
GET /api/v1/vehicles/{vin} and a bearer token, interleaved round by round on one event loop. Prints the
CPU (``time.process_time``) per call of each, minimum and median over the rounds (the minimum is the
figure least disturbed by other work on a shared machine), and their ratio: the part of issue 23.5's
figure that the gateway's own code decides (wrk's figure adds HTTP parsing, which both servers pay).
``--profile FILE`` writes a cProfile of the gateway's calls (read with pstats).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from app.demo.data import VEHICLES  # noqa: E402
from app.users.provision import demo_password  # noqa: E402

READER = "loan1@BankAMSP"
Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def call(
    app: Asgi, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    """One request through the ASGI app; its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def timed(app: Asgi, path: str, headers: list[tuple[bytes, bytes]], calls: int) -> float:
    """CPU seconds per call over ``calls`` calls."""
    start = time.process_time()
    for _ in range(calls):
        status, body = await call(app, "GET", path, headers)
        if status != 200:
            raise SystemExit(f"{path}: {status} {body[:200]!r}")
    return (time.process_time() - start) / calls


async def run(args: argparse.Namespace, work: Path) -> None:
    os.environ["MLEDGER_DATA_DIR"] = str(work / "gateway")
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(seed_demo=True, demo_mode=True)
    gateway = create_app(settings)
    async with gateway.router.lifespan_context(gateway):
        name, _, msp = READER.partition("@")
        form = f"username={name}%40{msp}&password={demo_password(msp, name)}".encode()
        status, body = await call(
            gateway, "POST", "/api/v1/auth/token",
            [(b"content-type", b"application/x-www-form-urlencoded"),
             (b"content-length", str(len(form)).encode())], form,
        )  # fmt: skip
        if status != 200:
            raise SystemExit(f"login: {status} {body!r}")
        token = json.loads(body)["access_token"]
        vin = VEHICLES[0].vin
        path = f"/api/v1/vehicles/{vin}"
        gw_headers = [(b"authorization", f"Bearer {token}".encode())]
        _, document = await call(gateway, "GET", path, gw_headers)
        (work / "vehicle.json").write_bytes(document)
        secret = secrets.token_bytes(32)
        (work / "bare.key").write_bytes(secret)
        os.environ["MLEDGER_BARE_SECRET_FILE"] = str(work / "bare.key")
        os.environ["MLEDGER_BARE_DOCUMENT"] = str(work / "vehicle.json")
        import bare_api

        bare_token = jwt.encode({"sub": "loan1", "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
        bare_headers = [(b"authorization", f"Bearer {bare_token}".encode())]
        await timed(gateway, path, gw_headers, 200)  # warm both
        await timed(bare_api.app, path, bare_headers, 200)
        print(
            f"load {os.getloadavg()[0]:.1f}; {args.calls} calls per case, {args.rounds} rounds, interleaved"
        )
        gws, bares = [], []
        for n in range(args.rounds):
            g = await timed(gateway, path, gw_headers, args.calls)
            b = await timed(bare_api.app, path, bare_headers, args.calls)
            gws.append(g)
            bares.append(b)
            if args.verbose:
                print(
                    f"round {n + 1}: gateway {1000 * g:.3f} ms CPU/read, bare {1000 * b:.3f} ms, {g / b:.2f}x"
                )
        ratios = sorted(g / b for g, b in zip(gws, bares, strict=True))
        gws.sort()
        bares.sort()
        mid = len(ratios) // 2
        print(
            f"gateway {1000 * gws[0]:.3f} ms CPU/read (min) {1000 * gws[mid]:.3f} (median); "
            f"bare {1000 * bares[0]:.3f} (min) {1000 * bares[mid]:.3f} (median); ratio of minima "
            f"{gws[0] / bares[0]:.2f}x, median ratio {ratios[mid]:.2f}x (load {os.getloadavg()[0]:.1f})"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await timed(gateway, path, gw_headers, args.calls)
            profiler.disable()
            profiler.dump_stats(args.profile)
            print(f"profile of {args.calls} gateway reads: {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--verbose", action="store_true", help="print every round")
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mledger-api-inproc-"))
    try:
        asyncio.run(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
