#!/usr/bin/env python3
"""Backup size and time, verify time and restore time (the off-chain RTO) of a gateway with the demo
data, on the embedded backend with SQLite stores and with a PostgreSQL store — printed as JSON with
the machine's load.

    .venv/bin/python scripts/bench/backup.py [--vehicles 200] [--work .data/bench/backup] [--pg-port N]

For each store: a gateway seeded with the demo data (every org's standard users, the demo vehicles,
a lien with its consent document) plus ``--vehicles`` registrations (one owner-consent document per
ten), backed up (``app.ops.backup``), verified, its data folder destroyed, restored into a new folder
(PostgreSQL: into a fresh database) and started again. RTO = restore + the gateway's start on the
restored folder until it answers a login. On the embedded backend one gateway serves every org, so
its archive is the whole consortium's off-chain state (on the network: one archive per org's gateway).
PostgreSQL: a server of this script's own (scripts/postgres, port ``--pg-port``, default network base
port + 952, folder under the system temp folder), stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from app.demo.data import demo_vin  # noqa: E402
from app.main import create_app  # noqa: E402
from app.ops.backup import BackupSources, backup, verify  # noqa: E402
from app.ops.backup_crypto import new_key  # noqa: E402
from app.ops.restore import RestoreTargets, restore  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.store.local_postgres import PostgresServer  # noqa: E402
from app.users.provision import demo_password  # noqa: E402

TA = ("officer1", "TrafficAuthorityMSP")
BANK = ("loan1", "BankAMSP")


def vin(serial: int) -> str:
    return demo_vin(serial, "LHG", "CV1F3")


def registration(serial: int) -> dict[str, object]:
    vehicle = {
        "vin": vin(serial), "plate": f"京T{serial % 100000:05d}", "make": "Honda", "model": "Accord",
        "trim": "260TURBO", "year": 2022, "configuration": {"color": "blue"},
        "registration_date": "2022-05-10", "new_price": "179800.00", "currency": "CNY",
    }  # fmt: skip
    return {"vehicle": vehicle, "owner": {"name": "Chen Jie", "id_number": f"1101011985{serial:08d}"}}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def settings(data_dir: Path, store_url: str | None, password_file: Path | None, seed: bool) -> Settings:
    return Settings(
        data_dir=data_dir, token_secret="b" * 32, demo_mode=True, seed_demo=seed,
        store_url=store_url, store_password_file=password_file,
    )  # fmt: skip


def token(client: TestClient, user: tuple[str, str]) -> dict[str, str]:
    name, org = user
    response = client.post(
        "/api/v1/auth/token", data={"username": f"{name}@{org}", "password": demo_password(org, name)}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def seed(client: TestClient, vehicles: int) -> None:
    officer, bank = token(client, TA), token(client, BANK)
    for serial in range(900_000, 900_000 + vehicles):
        client.post("/api/v1/vehicles", json=registration(serial), headers=officer).raise_for_status()
        if serial % 10 == 0:
            client.post(
                "/api/v1/documents", headers=bank,
                data={"doc_type": "owner_consent", "vin": vin(serial)},
                files={"file": ("consent.pdf", os.urandom(64 * 1024))},
            ).raise_for_status()  # fmt: skip


def run(kind: str, work: Path, vehicles: int, server: PostgresServer | None) -> dict[str, object]:
    data_dir, out, key = work / kind / "gw", work / kind / "out", work / kind / "backup.key"
    shutil.rmtree(work / kind, ignore_errors=True)
    (work / kind).mkdir(parents=True)
    new_key(key)
    url = server.new_database() if server else None
    password_file = server.password_file if server else None
    password = server.password if server else None
    with TestClient(create_app(settings(data_dir, url, password_file, seed=True))) as client:
        seed(client, vehicles)
        sources = BackupSources(
            "TrafficAuthorityMSP", gateway_dir=data_dir, ledger_dir=data_dir / "ledger",
            store_kind="postgresql" if server else "sqlite", store_url=url, store_password=password,
        )  # fmt: skip
        result = backup(sources, out, key)  # online: the gateway is running
    started = time.perf_counter()
    report = verify(result.path, key)
    verify_seconds = time.perf_counter() - started
    shutil.rmtree(data_dir)
    fresh = server.new_database() if server else None
    restored_dir = work / kind / "restored"
    started = time.perf_counter()
    restore(result.path, key, RestoreTargets(restored_dir, store_url=fresh, store_password=password))
    restore_seconds = time.perf_counter() - started
    with TestClient(create_app(settings(restored_dir, fresh, password_file, seed=False))) as client:
        token(client, BANK)  # the restored users log in: the gateway serves
        token(client, TA)
    rto = time.perf_counter() - started
    return {
        "store": kind,
        "archive_bytes": result.size,
        "archive_files": result.members,
        "backup_seconds": round(result.seconds, 3),
        "verify_seconds": round(verify_seconds, 3),
        "restore_seconds": round(restore_seconds, 3),
        "rto_seconds_restore_and_start": round(rto, 3),
        "ledger_height": report.ledger_height,
        "load_after": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--work", type=Path, default=ROOT / ".data" / "bench" / "backup")
    base = int(os.environ.get("MLEDGER_NETWORK_BASE_PORT", "27000"))
    parser.add_argument("--pg-port", type=int, default=base + 952)
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "vehicles_beyond_demo": args.vehicles,
        "load_before": load(),
    }
    rows = [run("sqlite", args.work, args.vehicles, None)]
    server = PostgresServer(
        Path(tempfile.gettempdir()) / f"mledger-bench-postgres-{args.pg_port}", args.pg_port, ""
    )
    server.start()
    try:
        rows.append(run("postgresql", args.work, args.vehicles, server))
    finally:
        server.stop()
    figures["runs"] = rows
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
