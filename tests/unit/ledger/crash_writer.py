"""Subprocess for the crash test: writes forever, printing each acknowledged (committed) tx."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.port import Caller

from .conftest import test_spec

CALLER = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})


async def writer(ledger: EmbeddedLedger, worker: int) -> None:
    i = 0
    while True:
        key, value = f"w{worker}-{i}", f"value-{worker}-{i}"
        result = await ledger.submit(CALLER, "Put", [key, value])
        print(f"ACK {result.tx_id} {key} {value}", flush=True)
        i += 1


async def main(data_dir: Path, spec_dir: Path) -> None:
    ledger = EmbeddedLedger(data_dir, chaincodes=[test_spec(spec_dir)])
    print("READY", flush=True)
    await asyncio.gather(*(writer(ledger, w) for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
