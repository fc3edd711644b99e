#!/usr/bin/env python3
"""Benchmark the read model at registry scale: projector tx/s, rebuild from block 0, dashboard and
search latency, CSV export memory — printed as JSON with the machine and its load.

    .venv/bin/python scripts/bench/readmodel.py [--vehicles 1000000] [--liens 300000] [--released 30000]
        [--work .data/bench/readmodel] [--reuse-stream] [--store-url postgresql://user@host:port/db]

``--store-url``: project into PostgreSQL instead of the SQLite file (password from
``MLEDGER_STORE_PASSWORD_FILE``, ``MLEDGER_STORE_PASSWORD`` or libpq's ``PGPASSWORD``/``PGPASSFILE``).

1. A committed-block stream in Fabric's format (``app.readmodel.blockgen``: registrations, then per lien
   a valuation, the request and the recording, some releases; one MVCC-invalid tx per 10,000) is written
   to a block file laid out as the embedded ledger's ``blocks`` table. Generation time is reported apart:
   it stands for the peers' work, not the projector's.
2. The projector rebuilds the read model from block 0 of that file (read, parse, project, commit in
   batches): that run gives both the projector's tx/s and the rebuild time.
3. At that size: the regulator dashboard, the auditor's searches (VIN, plate, owner hash, lienholder
   page, tx id, date range) and a lender portfolio page, each timed repeatedly (p50/p95).
4. The CSV export streamed for 10,000 and for 100,000 rows with tracemalloc's peak: constant memory
   means the two peaks are about the same.

Targets (issue 24): projector >= 5,000 tx/s; dashboard <= 200 ms and search <= 50 ms at 1,000,000
vehicles; 100,000-row export in constant memory; rebuild of 1,000,000 vehicles <= 10 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.ledger.embedded import store as ledger_store  # noqa: E402
from app.readmodel.blockgen import Scenario, StreamBuilder, make_vin  # noqa: E402
from app.readmodel.postgres import PostgresStore  # noqa: E402
from app.readmodel.projector import Projector  # noqa: E402
from app.readmodel.queries import SearchFilter, dashboard, export_csv, portfolio, search  # noqa: E402
from app.readmodel.sources import EmbeddedBlockSource  # noqa: E402
from app.readmodel.sqlite import SqliteStore  # noqa: E402
from app.readmodel.store import SqlStore  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_stream(path: Path, scenario: Scenario) -> dict[str, object]:
    path.unlink(missing_ok=True)
    conn = ledger_store.connect(path)
    ledger_store.init_schema(conn)
    conn.execute("PRAGMA synchronous=OFF")
    builder = StreamBuilder()
    started = time.perf_counter()
    rows = [StreamBuilder(first_block=0).config_block()]
    count = 0

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO blocks (number, header_hash, previous_hash, data_hash, block) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (b.header.number, b"", b.header.previous_hash, b.header.data_hash, b.SerializeToString())
                for b in rows
            ],
        )
        conn.execute("COMMIT")
        rows.clear()

    for block in scenario.blocks(builder):
        rows.append(block)
        count += 1
        if len(rows) >= 100:
            flush()
    flush()
    conn.close()
    ex = builder.expected
    return {
        "blocks": count + 1,
        "transactions": ex.transactions,
        "invalid": ex.invalid,
        "seconds": round(time.perf_counter() - started, 1),
        "bytes": path.stat().st_size,
        "expected_vehicles_by_status": ex.vehicles_by_status,
        "expected_liens_by_status": ex.liens_by_status,
    }


def timed(fn, repeat: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def export_peak(store: SqlStore, rows: int) -> dict[str, float]:
    tracemalloc.start()
    started = time.perf_counter()
    _, chunks = export_csv(store, SearchFilter(date_from=date(2026, 1, 5)))
    lines = 0
    size = 0
    for chunk in chunks:
        lines += chunk.count("\n")
        size += len(chunk.encode())
        if lines > rows:
            chunks.close()  # type: ignore[attr-defined]
            break
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": lines - 1,
        "bytes": size,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_python_mib": round(peak / 2**20, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=1_000_000)
    parser.add_argument("--liens", type=int, default=300_000)
    parser.add_argument("--released", type=int, default=30_000)
    parser.add_argument("--work", type=Path, default=ROOT / ".data" / "bench" / "readmodel")
    parser.add_argument("--reuse-stream", action="store_true", help="keep an existing stream file")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--stream-only", action="store_true", help="only generate the stream file")
    parser.add_argument("--store-url", default="", help="PostgreSQL read model (no password in it)")
    parser.add_argument("--workers", type=int, default=1, help="parser processes beside the applying one")
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="measure the queries on the read model built in --work (migrated to this schema if older)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    stream_file = args.work / "blocks.sqlite"
    store_file = args.work / "readmodel.sqlite"
    result: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_at_start": load(),
        },
        "scenario": {
            "vehicles": args.vehicles,
            "liens": args.liens,
            "released": args.released,
            "workers": args.workers,
            "store": "postgresql" if args.store_url else "sqlite",
        },
    }
    if args.queries_only:
        if not args.store_url:
            result["migrated"] = migrate_v1(store_file)
        store = open_store(args, store_file)
        measure_queries(store, args, result)
        return
    scenario = Scenario(
        vehicles=args.vehicles, liens=args.liens, released=args.released, invalid_every=10_000
    )
    if not (args.reuse_stream and stream_file.exists()):
        result["stream"] = write_stream(stream_file, scenario)
        print(json.dumps({"stream": result["stream"], "load": load()}), flush=True)
        (args.work / "stream.json").write_text(json.dumps(result["stream"], indent=2))
    if args.stream_only:
        return

    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_file}{suffix}").unlink(missing_ok=True)
    store = open_store(args, store_file)
    store.reset()
    projector = Projector(store, EmbeddedBlockSource(stream_file), workers=args.workers)
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    progress = asyncio.run(projector.catch_up())
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(cpu_after, cpu_before, strict=True)
    )
    result["rebuild_from_block_0"] = {
        "blocks": progress.blocks,
        "transactions": progress.transactions,
        "skipped_invalid": progress.skipped_invalid,
        "seconds": round(wall, 1),
        "projector_tx_per_second": round(progress.transactions / wall),
        "cpu_seconds": round(cpu, 1),
        "tx_per_cpu_second": round(progress.transactions / cpu) if cpu else None,
        "load_after": load(),
        "store_bytes": store_bytes(store, store_file),
    }
    print(json.dumps({"rebuild_from_block_0": result["rebuild_from_block_0"]}), flush=True)

    measure_queries(store, args, result)


def open_store(args: argparse.Namespace, store_file: Path) -> SqlStore:
    if not args.store_url:
        return SqliteStore(store_file)
    password_file = os.environ.get("MLEDGER_STORE_PASSWORD_FILE")
    password = (
        Path(password_file).read_text().strip() if password_file else os.environ.get("MLEDGER_STORE_PASSWORD")
    )
    return PostgresStore(args.store_url, password=password)


def store_bytes(store: SqlStore, store_file: Path) -> int:
    if isinstance(store, SqliteStore):
        return store_file.stat().st_size
    with store.reading() as cur:
        return int(cur.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def migrate_v1(path: Path) -> str:
    """A store built by schema 1 brought to schema 2 in place (the index and counters the projector now
    keeps), so the queries can be measured without projecting the whole stream again."""
    conn = sqlite3.connect(path, isolation_level=None)
    version = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()[0]
    if version != "1":
        return f"schema {version}: nothing to do"
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.execute("DROP INDEX IF EXISTS changes_at")
    conn.execute("CREATE INDEX changes_at ON changes (at, block_number, tx_index, seq)")
    conn.execute(
        "INSERT INTO counters (name, bucket, n) SELECT 'liens_by_holder_status', "
        "lienholder || '|' || status, COUNT(*) FROM liens GROUP BY lienholder, status"
    )
    conn.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    conn.execute("COMMIT")
    conn.close()
    return f"schema 1 -> 2 in {time.perf_counter() - started:.1f}s"


def measure_queries(store: SqlStore, args: argparse.Namespace, result: dict[str, object]) -> None:
    board = dashboard(store)
    result["dashboard_counts"] = {
        "counts": board["counts"],
        "total_liens": board["total_liens"],
        "block_height": board["block_height"],
    }
    vin = make_vin(args.vehicles // 2)
    plate = f"京A{args.vehicles // 3:07d}"
    owner = hashlib.sha256(f"owner{args.vehicles // 5}".encode()).hexdigest()
    tx = search(store, SearchFilter(vin=make_vin(7))).rows[0]["tx_id"]
    result["latency"] = {
        "dashboard": timed(lambda: dashboard(store), args.repeat),
        "search_vin": timed(lambda: search(store, SearchFilter(vin=vin)), args.repeat),
        "search_plate": timed(lambda: search(store, SearchFilter(plate=plate)), args.repeat),
        "search_owner_hash": timed(lambda: search(store, SearchFilter(owner_hash=owner)), args.repeat),
        "search_text_box_vin": timed(lambda: search(store, SearchFilter(text=vin)), args.repeat),
        "search_tx_id": timed(lambda: search(store, SearchFilter(tx_id=tx)), args.repeat),
        "search_lienholder_page_100": timed(
            lambda: search(store, SearchFilter(lienholder="BankBMSP")), args.repeat
        ),
        "search_date_range_page_100": timed(
            lambda: search(store, SearchFilter(date_from=date(2026, 1, 6), date_to=date(2026, 1, 7))),
            args.repeat,
        ),
        "lender_portfolio_page_200": timed(
            lambda: portfolio(store, "BankAMSP", after="L00150000"), args.repeat
        ),
    }
    result["export"] = {"10k": export_peak(store, 10_000), "100k": export_peak(store, 100_000)}
    result["load_at_end"] = load()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    (args.work / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    store.close()


if __name__ == "__main__":
    main()
