#!/usr/bin/env python3
"""Benchmark the gateway over HTTP (uvicorn on 127.0.0.1) and print the figures.

    .venv/bin/python scripts/bench/api_gateway.py [--backend embedded|fabric] [--reads 400]
                                                  [--seconds 20] [--concurrency 8]

Prints: read p50/p95 (GET a vehicle, GET its public status) through the gateway and through the raw
LedgerPort; QR verify end-to-end latency (POST /qr/verify: signature + 2 ledger reads) and photo
scan (POST /qr/scan: zxing decode + verify); sustained committed writes/s with p95 under
concurrency (RecordOdometer on distinct vehicles), via HTTP and via the raw port; and the gateway's
overhead over the raw client. ``--backend fabric`` uses the running native network (started by
`mledger network up` or the test fixture); targets: QR verify < 100 ms (embedded), overhead < 20%.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from app.demo.data import demo_vin  # noqa: E402
from app.ledger.port import Caller  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.users.provision import adopt_enrolled_user, demo_password, ensure_standard_users  # noqa: E402
from app.users.roles import STANDARD_USERS  # noqa: E402

OFFICER = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})
DEALER = Caller("dealer1", "DealerMSP", {"role": "dealer"})
LOAN = Caller("loan1", "BankAMSP", {"role": "loan_officer"})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def show(label: str, value: str) -> None:
    print(f"{label:<44} {value}")


def line(name: str, samples: list[float]) -> str:
    return f"{name:<44} n={len(samples):<5} p50={pct(samples, 0.5):7.1f} ms  p95={pct(samples, 0.95):7.1f} ms"


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - start)
    return samples


FAILURES: dict[str, int] = {}


async def sustained(
    seconds: float, concurrency: int, call: Callable[[int, int], Awaitable[Any]]
) -> tuple[float, list[float]]:
    """Committed writes/s and per-write latency with ``concurrency`` writers for ``seconds``.

    A write that fails (e.g. 503 when the ordering service times out) is counted, not timed.
    """
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                await call(w, i)
            except Exception as exc:  # report, keep loading
                reason = str(exc)[:200]
                FAILURES[reason] = FAILURES.get(reason, 0) + 1
            else:
                latencies.append(time.perf_counter() - start)
            i += 1

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(concurrency)))
    return len(latencies) / (time.perf_counter() - start), latencies


def settings_for(backend: str, data_dir: Path, port: int) -> Settings:
    if backend == "embedded":
        return Settings(
            data_dir=data_dir,
            token_secret="b" * 32,
            public_base_url=f"http://127.0.0.1:{port}",
            demo_mode=True,  # it logs in as the standard users with their demo passwords
        )
    from network.fixture import open_for_tests

    info, _ = open_for_tests()
    wallet = data_dir / "wallet"
    profile = info.connection_profile()  # the connection profile `mledger network up` wrote (every org)
    for org in info.orgs.values():  # the standard enrolled users, copied into the gateway's wallet
        for user in org.users:
            ident = info.identity(org.msp_id, user)
            msp = wallet / org.msp_id / user / "msp"
            (msp / "signcerts").mkdir(parents=True, exist_ok=True)
            (msp / "keystore").mkdir(parents=True, exist_ok=True)
            (msp / "signcerts" / "cert.pem").write_bytes(ident.cert_pem)
            (msp / "keystore" / "key_sk").write_bytes(ident.key_pem)
    return Settings(
        backend="fabric", data_dir=data_dir, network_profile=profile, wallet=wallet, token_secret="b" * 32,
        ipfs_url=info.kubo_rpc_url, public_base_url=f"http://127.0.0.1:{port}",
        demo_mode=True,  # it logs in as the standard users with their demo passwords
    )  # fmt: skip


async def setup_post(http: httpx.AsyncClient, path: str, **kwargs: Any) -> httpx.Response:
    """Set-up writes retried on 503 (a busy shared network sometimes times out at the orderer)."""
    for attempt in range(6):
        r = await http.post(path, **kwargs)
        if r.status_code != 503:
            break
        print(f"  (set-up {path}: 503 {r.json()['error']['message'][:70]}; retry {attempt + 1})")
        await asyncio.sleep(2)
    assert r.status_code == 201, r.text
    return r


def photo(png: bytes) -> bytes:
    from PIL import Image

    code = Image.open(io.BytesIO(png)).convert("RGB").rotate(10, expand=True, fillcolor="white")
    scene = Image.new("RGB", (code.width + 300, code.height + 300), (160, 150, 140))
    scene.paste(code, (150, 150))
    out = io.BytesIO()
    scene.save(out, "JPEG", quality=85)
    return out.getvalue()


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="mledger-bench-"))
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings_for(args.backend, data_dir, port))
    gw = app.state.gw
    if args.backend == "embedded":
        ensure_standard_users(gw.users, gw.enroller, gw.settings.orgs)
    else:  # the network's standard users, already enrolled and copied into the wallet
        for msp_id, standard in STANDARD_USERS.items():
            for name, role in standard:
                adopt_enrolled_user(gw.users, msp_id, name, role, demo_password(msp_id, name))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    ledger = gw.ledger
    run = secrets.token_hex(2).upper()
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:

        async def login(user: str) -> dict[str, str]:
            name, _, msp = user.partition("@")
            r = await http.post(
                "/api/v1/auth/token", data={"username": user, "password": demo_password(msp, name)}
            )
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        officer, dealer, bank = (
            await login("officer1@TrafficAuthorityMSP"),
            await login("dealer1@DealerMSP"),
            await login("loan1@BankAMSP"),
        )
        base_serial = int(secrets.token_hex(2), 16) * 10
        vins = [demo_vin(base_serial + i, "LHG", "BM" + run[:2] + "1") for i in range(args.concurrency * 2)]
        for i, vin in enumerate(vins):
            vehicle: dict[str, Any] = {
                "vin": vin,
                "plate": f"B{run}{i:03d}",
                "make": "Honda",
                "model": "Fit",
                "trim": "1.5",
            }
            vehicle |= {"year": 2021, "configuration": {}, "registration_date": "2021-01-01"}
            body = {"vehicle": vehicle, "owner": {"name": "Bench", "id_number": f"BENCH{run}{i:05d}"}}
            await setup_post(http, "/api/v1/vehicles", json=body, headers=officer)
        if args.backend == "fabric":
            await asyncio.sleep(3)  # let every peer commit the setup blocks

        machine = platform.processor() or platform.machine()
        print(f"# api_gateway benchmark — backend {args.backend}, {os.cpu_count()} cores, {machine}")
        vin = vins[0]
        for _ in range(20):  # warm up
            await http.get(f"/api/v1/vehicles/{vin}", headers=bank)
        http_read = await timed(
            args.reads, lambda i: http.get(f"/api/v1/vehicles/{vins[i % len(vins)]}", headers=bank)
        )
        raw_read = await timed(
            args.reads, lambda i: ledger.evaluate(LOAN, "GetVehicle", [vins[i % len(vins)]])
        )
        http_status = await timed(
            args.reads, lambda i: http.get(f"/api/v1/vehicles/{vin}/status", headers=dealer)
        )
        print(line("read GET /vehicles/{vin} (HTTP)", http_read))
        print(line("read GetVehicle (raw LedgerPort)", raw_read))
        print(line("read GET /vehicles/{vin}/status (HTTP)", http_status))
        show(
            "read overhead of the gateway (p50)",
            f"{100 * (pct(http_read, 0.5) / pct(raw_read, 0.5) - 1):+.0f}%",
        )

        issued = await setup_post(http, f"/api/v1/vehicles/{vin}/qr", headers=officer)
        if args.backend == "fabric":
            await asyncio.sleep(2)
        payload = issued.json()["payload"]
        qr_verify = await timed(
            args.reads // 2, lambda i: http.post("/api/v1/qr/verify", json={"payload": payload})
        )
        png = (await http.get(f"/api/v1/vehicles/{vin}/qr.png", headers=dealer)).content
        image = photo(png)
        files = {"image": ("p.jpg", image, "image/jpeg")}
        qr_scan = await timed(max(10, args.reads // 10), lambda i: http.post("/api/v1/qr/scan", files=files))
        print(line("QR verify end-to-end (POST /qr/verify)", qr_verify))
        print(line(f"QR photo scan + verify ({len(image) // 1024} KiB JPEG)", qr_scan))

        async def http_write(w: int, i: int) -> None:
            body = {"vin": vins[w], "odometer_km": 1000 + i, "source": "bench"}
            r = await http.post("/api/v1/odometer", json=body, headers=dealer)
            if r.status_code != 201:
                error = r.json()["error"]
                detail = error["details"][0]["reason"][:120] if error["details"] else ""
                raise RuntimeError(f"HTTP {r.status_code}: {error['message'][:40]} {detail}")

        async def raw_write(w: int, i: int) -> None:
            body = f'{{"vin":"{vins[args.concurrency + w]}","odometer_km":{1000 + i},"source":"bench"}}'
            await ledger.submit(DEALER, "RecordOdometer", [body])

        http_rate, http_lat = await sustained(args.seconds, args.concurrency, http_write)
        raw_rate, raw_lat = await sustained(args.seconds, args.concurrency, raw_write)
        c = args.concurrency
        show("committed writes/s via HTTP", f"{http_rate:7.1f}/s  p95={pct(http_lat, 0.95):.0f} ms (c={c})")
        show("committed writes/s via raw LedgerPort", f"{raw_rate:7.1f}/s  p95={pct(raw_lat, 0.95):.0f} ms")
        print(f"{'write throughput overhead of the gateway':<44} {100 * (1 - http_rate / raw_rate):+.0f}%")
        lat = statistics.median(http_lat) / statistics.median(raw_lat) - 1
        show("write p50 latency overhead", f"{100 * lat:+.0f}%")
        for reason, count in FAILURES.items():
            show("failed writes (not counted above)", f"{count} × {reason}")
    server.should_exit = True
    await serving
    await ledger.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["embedded", "fabric"], default="embedded")
    parser.add_argument("--reads", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
