"""A projector process for the crash test: it stops inside its third batch's store transaction — rows
written, checkpoint not yet committed — announces it in a marker file and waits to be killed."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from app.readmodel import store as store_module
from app.readmodel.postgres import PostgresStore
from app.readmodel.projector import Projector
from app.readmodel.sources import EmbeddedBlockSource
from app.readmodel.sqlite import SqliteStore
from app.readmodel.store import SqlStore


def main() -> None:
    ledger_file, store_path, marker = sys.argv[1:4]
    original = store_module._Batch.finish
    batches = 0

    def finish(self: store_module._Batch) -> None:
        nonlocal batches
        original(self)
        batches += 1
        if batches == 3:
            Path(marker).write_text("inside")
            time.sleep(120)

    store_module._Batch.finish = finish  # type: ignore[method-assign]
    # the store: a SQLite file, or a PostgreSQL URL (password in MLEDGER_STORE_PASSWORD)
    store: SqlStore = (
        PostgresStore(store_path, password=os.environ["MLEDGER_STORE_PASSWORD"])
        if store_path.startswith("postgresql://")
        else SqliteStore(store_path)
    )
    asyncio.run(Projector(store, EmbeddedBlockSource(ledger_file), batch_txs=1000).catch_up())


if __name__ == "__main__":
    main()
