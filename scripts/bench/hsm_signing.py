"""Signatures per second and per-signature latency: file keys vs keys in a PKCS#11 token (SoftHSM2).

Each signer signs SHA-256 digests the way the Fabric client does (low-S DER, P-256). The token is
initialised in a temp folder (scripts/install-softhsm provides SoftHSM2). A real HSM's figures
differ (network HSMs add a round trip per signature): run this against it with --module/--token
and the PIN in MLEDGER_HSM_PIN. Prints the machine and its load (the CPU is shared).

    .venv/bin/python scripts/bench/hsm_signing.py --count 2000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric import ec

from app.fabric_gateway import new_private_key_signer
from app.hsm.softhsm import init_token, write_config
from app.hsm.token import DEFAULT_MODULE, HsmConfig, open_token


def _measure(name: str, sign: Callable[[bytes], bytes], count: int) -> None:
    digests = [hashlib.sha256(secrets.token_bytes(64)).digest() for _ in range(count)]
    for d in digests[:20]:
        sign(d)  # warm up
    latencies = []
    start = time.perf_counter()
    for d in digests:
        t0 = time.perf_counter()
        sign(d)
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6  # noqa: E731
    print(
        f"{name:<22} {count / wall:>10.0f} sig/s   mean {statistics.fmean(latencies) * 1e6:7.1f} µs"
        f"   p50 {p(0.5):7.1f} µs   p99 {p(0.99):7.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--module", type=Path, default=DEFAULT_MODULE)
    parser.add_argument(
        "--token", help="an existing token's label (PIN in MLEDGER_HSM_PIN); default: a temp SoftHSM2"
    )
    args = parser.parse_args()

    print(
        f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )
    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.token:
        config = HsmConfig(args.module, args.token, None, os.environ["MLEDGER_HSM_PIN"])
    else:
        directory = Path(tempfile.mkdtemp(prefix="bench-softhsm-"))
        conf = write_config(directory)
        pin = secrets.token_hex(8)
        init_token(conf, "bench", secrets.token_hex(8), pin, args.module)
        os.environ["SOFTHSM2_CONF"] = str(conf)
        config = HsmConfig(args.module, "bench", None, pin)

    from app.hsm.keys import generate_signing_key, signer_for

    token = open_token(config)
    label = f"bench/{secrets.token_hex(4)}"
    generate_signing_key(token, label)
    print(f"{'signer':<22} {'throughput':>14}   per signature (one thread)")
    _measure("file key (P-256)", new_private_key_signer(ec.generate_private_key(ec.SECP256R1())), args.count)
    _measure("HSM key (SoftHSM2)", signer_for(token, label), args.count)
    print("load after: ", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
