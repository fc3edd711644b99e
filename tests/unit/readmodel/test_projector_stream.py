"""The projector on a committed-block stream larger than the old 10,000 cap: exact counts, invalid
transactions and config blocks skipped, replays and rebuilds idempotent, search and export."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.readmodel.blockgen import Expected, make_vin
from app.readmodel.projector import Projector
from app.readmodel.queries import SearchFilter, dashboard, export_csv, portfolio, search
from app.readmodel.sources import EmbeddedBlockSource
from app.readmodel.store import SqlStore
from tests.unit.readmodel.conftest import LIENS, RELEASED, VEHICLES, StoreFactory

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def projected_by_backend(  # type: ignore[no-untyped-def]
    big_stream, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, SqlStore]]:
    """One projection of the stream per backend, shared by the tests that only read it."""
    out: dict[str, SqlStore] = {}
    for backend in BACKENDS:
        server = request.getfixturevalue("postgres") if backend == "postgresql" else None
        store = StoreFactory(backend, tmp_path_factory.mktemp("rm"), server).open()
        asyncio.run(Projector(store, EmbeddedBlockSource(big_stream[0])).catch_up())
        out[backend] = store
    yield out
    for store in out.values():
        store.close()


@pytest.fixture(params=BACKENDS)
def projected(projected_by_backend: dict[str, SqlStore], request: pytest.FixtureRequest) -> SqlStore:
    return projected_by_backend[str(request.param)]


async def _project(stream: tuple[Path, Expected, int], stores: StoreFactory) -> tuple[SqlStore, Projector]:
    path, _, _ = stream
    store = stores.open()
    projector = Projector(store, EmbeddedBlockSource(path))
    await projector.catch_up()
    return store, projector


async def test_counts_are_exact_past_ten_thousand(big_stream, stores: StoreFactory) -> None:  # type: ignore[no-untyped-def]
    store, projector = await _project(big_stream, stores)
    _, expected, height = big_stream
    board = dashboard(store)
    assert board["block_height"] == height == store.next_block()
    counts = dict(board["counts"])
    assert counts["REGISTERED"] == expected.vehicles_by_status["REGISTERED"] == VEHICLES - LIENS + RELEASED
    assert counts["MORTGAGED"] == LIENS - RELEASED
    assert board["total_vehicles"] == VEHICLES > 10_000
    assert dict(board["liens_by_status"]) == {"RECORDED": LIENS - RELEASED, "RELEASED": RELEASED}
    assert board["months"] == [("2026-01", LIENS, RELEASED)]
    assert sum(n for _, n in board["ltv"]) == LIENS - RELEASED  # every encumbered vehicle has a valuation
    assert await projector.lag() == 0


async def test_invalid_transactions_and_config_blocks_change_nothing(
    big_stream, stores: StoreFactory
) -> None:  # type: ignore[no-untyped-def]
    path, expected, _ = big_stream
    store = stores.open()
    progress = await Projector(store, EmbeddedBlockSource(path)).catch_up()
    assert expected.invalid == VEHICLES // 1000 + 1
    assert progress.skipped_invalid == expected.invalid
    assert progress.skipped_other == 2  # the genesis block and the config block mid-stream
    assert progress.transactions == expected.transactions
    with store.reading() as cur:
        # each invalid tx re-registered a vehicle already registered: one change per vehicle, not two
        assert (
            cur.execute(
                "SELECT COUNT(*) FROM changes WHERE kind = 'vehicle' AND function = 'RegisterVehicle'"
            ).fetchone()[0]
            == VEHICLES
        )
        assert cur.execute("SELECT COUNT(*) FROM events").fetchone()[0] == expected.transactions


async def test_replay_and_rebuild_do_not_double_count(big_stream, stores: StoreFactory) -> None:  # type: ignore[no-untyped-def]
    store, projector = await _project(big_stream, stores)
    before = dashboard(store)
    store.set_meta("next_block", "0")  # as if the checkpoint were lost: every block comes again
    await projector.catch_up()
    assert dashboard(store) == before
    projector.rebuild()
    assert store.next_block() == 0 and dashboard(store)["total_vehicles"] == 0
    await projector.catch_up()
    assert dashboard(store) == before


def test_auditor_search_by_each_key(projected: SqlStore) -> None:
    store = projected
    vin = make_vin(3)  # has a lien (the first LIENS vehicles do), released (the first RELEASED liens)
    by_vin = search(store, SearchFilter(vin=vin))
    kinds = [(r["kind"], r["status"]) for r in by_vin.rows]
    assert kinds == [
        ("vehicle", "REGISTERED"),
        ("lien", "RELEASED"),
        ("vehicle", "MORTGAGED"),
        ("lien", "RECORDED"),
        ("lien", "REQUESTED"),
        ("valuation", ""),
        ("vehicle", "REGISTERED"),
    ]
    assert by_vin.block_height == store.next_block()
    assert search(store, SearchFilter(plate="京A0000003")).rows == by_vin.rows
    assert search(store, SearchFilter(text="京A0000003")).rows == by_vin.rows
    owner = hashlib.sha256(b"owner3").hexdigest()
    assert search(store, SearchFilter(owner_hash=owner)).rows == by_vin.rows
    tx = by_vin.rows[1]["tx_id"]
    by_tx = search(store, SearchFilter(tx_id=tx)).rows
    assert [(r["kind"], r["tx_id"]) for r in by_tx] == [("transaction", tx), ("vehicle", tx), ("lien", tx)]
    assert by_tx[0]["status"] == "VALID" and by_tx[0]["key"] == f"{by_tx[2]['key']}, {by_tx[1]['key']}"
    assert search(store, SearchFilter(text=tx)).rows == search(store, SearchFilter(tx_id=tx)).rows
    holder = search(store, SearchFilter(lienholder="BankAMSP"), limit=500)
    assert {r["kind"] for r in holder.rows} == {"lien"} and len(holder.rows) == 500
    assert holder.next_before
    second = search(store, SearchFilter(lienholder="BankAMSP"), limit=500, before=holder.next_before)
    assert not {(r["tx_id"], r["key"]) for r in second.rows} & {(r["tx_id"], r["key"]) for r in holder.rows}
    lien_rows = sum(2 for j in range(LIENS) if j % 3) + sum(1 for j in range(RELEASED) if j % 3)
    assert len(holder.rows) + len(second.rows) == lien_rows  # requested + recorded (+ released)
    in_range = search(store, SearchFilter(date_from=date(2026, 1, 5), date_to=date(2026, 1, 5)), limit=5)
    assert len(in_range.rows) == 5 and all(r["timestamp"].startswith("2026-01-05") for r in in_range.rows)
    assert in_range.next_before and "@" in in_range.next_before  # a time window pages in time order
    following = search(
        store, SearchFilter(date_from=date(2026, 1, 5), date_to=date(2026, 1, 5)), limit=5,
        before=in_range.next_before,
    )  # fmt: skip
    both = in_range.rows + following.rows
    assert [r["timestamp"] for r in both] == sorted((r["timestamp"] for r in both), reverse=True)
    assert len({(r["tx_id"], r["key"]) for r in both}) == 10
    assert search(store, SearchFilter(text="no such thing")).rows == []


def test_csv_export_streams_every_row(projected: SqlStore) -> None:
    store = projected
    height, chunks = export_csv(store, SearchFilter(date_from=date(2026, 1, 1)))
    assert height == store.next_block()
    lines = 0
    largest = 0
    for chunk in chunks:
        lines += chunk.count("\n")
        largest = max(largest, len(chunk))
    assert (
        lines == 1 + VEHICLES + LIENS * 4 + RELEASED * 2
    )  # header; vehicle; valuation, lien×2, vehicle; release×2
    assert largest < 400_000  # one fetch of 1,000 rows at a time, never the whole export


def test_lender_portfolio_pages_through_all_liens(projected: SqlStore) -> None:
    store = projected
    seen = []
    after = ""
    while True:
        page = portfolio(store, "BankAMSP", limit=100, after=after)
        seen.extend(page.rows)
        if page.next_after is None:
            break
        after = page.next_after
    assert page.total == len(seen) == sum(1 for j in range(LIENS) if j % 3)
    row = next(r for r in seen if r["lien"]["status"] == "RECORDED")
    assert row["ltv"] is not None and row["valuation"]["value"]
    assert {a["rule"] for a in row["alerts"]} >= {"insurance_lapse"}  # no policy in the stream


def test_both_stores_give_the_same_answers(projected_by_backend: dict[str, SqlStore]) -> None:
    lite, pg = projected_by_backend["sqlite"], projected_by_backend["postgresql"]
    assert dashboard(pg) == dashboard(lite)
    assert dashboard(pg)["total_vehicles"] == VEHICLES
    for holder in ("BankAMSP", "BankBMSP"):
        assert portfolio(pg, holder, limit=50) == portfolio(lite, holder, limit=50)
    for f in (
        SearchFilter(vin=make_vin(3)),
        SearchFilter(lienholder="BankAMSP"),
        SearchFilter(date_from=date(2026, 1, 5), date_to=date(2026, 1, 5)),
        SearchFilter(text="京A0000007"),
    ):
        assert search(pg, f, limit=200) == search(lite, f, limit=200)
    assert "".join(export_csv(pg, SearchFilter(vin=make_vin(3)))[1]) == "".join(
        export_csv(lite, SearchFilter(vin=make_vin(3)))[1]
    )
