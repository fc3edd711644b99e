"""Benchmark: QR photo decode + signature verify (the ledger lookup is an in-memory dict here).

Prints p50/p95/max per stage for photo-like JPEGs (rotated, blurred, noisy, embedded in a
1600x1200 scene) and for the plain rendered PNG, plus offline signature-only verification.

    .venv/bin/python scripts/bench/qr_verify.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from qr_photos import photograph, to_jpeg  # noqa: E402  (this directory: the bench's own photo maker)

from app.qr import AuthorityKey, CodeRecord, Outcome, QrIssuer, QrVerifier, decode_qr_photo  # noqa: E402

VIN = "1HGCM82633A004352"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _report(name: str, samples_ms: list[float]) -> None:
    print(
        f"{name:<44} n={len(samples_ms):<4} p50={_pct(samples_ms, 50):7.2f} ms  "
        f"p95={_pct(samples_ms, 95):7.2f} ms  max={max(samples_ms):7.2f} ms  "
        f"mean={statistics.fmean(samples_ms):7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="photos per scenario")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        key = AuthorityKey.load_or_create_embedded(tmp)
    issuer = QrIssuer(key, "https://ledger.example")
    verifier = QrVerifier.for_authority(key)
    issued = issuer.issue(VIN, code_id="VC-BENCH0001")
    ledger = {"VC-BENCH0001": CodeRecord(VIN, revoked=False, payload_sha256=issued.payload_sha256)}
    png = issued.png()

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"python={platform.python_version()}"
    )
    print(f"QR content: {len(issued.url)} chars, PNG {len(png)} bytes")

    scenarios = {
        "rendered PNG (clean)": lambda i: png,
        "photo JPEG 1600x1200, rotated+blur+noise": lambda i: to_jpeg(
            photograph(png, seed=i, angle=(i * 37) % 360, blur=1.0, noise=10.0, scale=0.8)
        ),
        "photo JPEG 1600x1200, perspective+dim": lambda i: to_jpeg(
            photograph(png, seed=i, perspective=0.1, brightness=0.7, contrast=0.8)
        ),
    }
    for name, make in scenarios.items():
        images = [make(i) for i in range(args.rounds)]
        decode_ms, verify_ms, total_ms = [], [], []
        for data in images:
            t0 = time.perf_counter()
            text = decode_qr_photo(data)
            t1 = time.perf_counter()
            result = verifier.verify(text, ledger.get)
            t2 = time.perf_counter()
            assert result.outcome is Outcome.VALID, result
            decode_ms.append((t1 - t0) * 1000)
            verify_ms.append((t2 - t1) * 1000)
            total_ms.append((t2 - t0) * 1000)
        print(f"-- {name}")
        _report("  decode (zxing-cpp)", decode_ms)
        _report("  verify (ECDSA P-256 + lookup)", verify_ms)
        _report("  decode + verify", total_ms)

    offline = []
    for _ in range(max(200, args.rounds * 5)):
        t0 = time.perf_counter()
        assert verifier.verify(issued.url).signature_valid
        offline.append((time.perf_counter() - t0) * 1000)
    _report("signature-only verify of the URL", offline)


if __name__ == "__main__":
    main()
