"""Request limits, data-file modes and crash-safe idempotency (issue 12, findings 9, 10, 11).

The limit tests drive the ASGI app directly with a ``receive`` that counts what was read, so "refused
before the body was read" is observed, not inferred.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from app.api.idempotency import IdempotencyStore
from app.main import create_app
from app.settings import Settings
from app.store.database import SqliteDatabase
from tests.unit.api.builders import BANK_A, TA, Api, registration, vin
from tests.unit.api.conftest import login

GiB = 1024**3


class Sent:
    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def _request(
    app: Any, path: str, headers: dict[str, str], chunks: list[bytes], reads: list[int]
) -> Sent:
    """POST ``path`` with the body in ``chunks``; ``reads`` counts the chunks the app pulled."""

    async def receive() -> dict[str, Any]:
        if len(reads) < len(chunks):
            reads.append(len(chunks[len(reads)]))
            return {
                "type": "http.request",
                "body": chunks[len(reads) - 1],
                "more_body": len(reads) < len(chunks),
            }
        await asyncio.sleep(3600)  # a client that sends nothing more
        raise AssertionError("unreachable")

    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent = Sent()
    await asyncio.wait_for(app(scope, receive, sent), timeout=60)
    return sent


@pytest.fixture
def gateway(make_client, tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "gw", token_secret="q" * 32, max_upload_bytes=200_000)
    return make_client(settings)


# --- finding 9 ---------------------------------------------------------------------------------------


def _sqlite(store: object) -> SqliteDatabase:
    """The store's SQLite database (the embedded default), for statements a test makes by hand."""
    db = store._db  # type: ignore[attr-defined]
    assert isinstance(db, SqliteDatabase)
    return db


def test_anonymous_upload_is_refused_before_a_byte_of_its_body_is_read(gateway) -> None:  # type: ignore[no-untyped-def]
    reads: list[int] = []
    headers = {"content-type": "multipart/form-data; boundary=x", "content-length": str(GiB)}
    sent = asyncio.run(_request(gateway.app, "/api/v1/documents", headers, [b"x" * 65536] * 4, reads))
    assert sent.status == 401 and reads == []
    assert json.loads(sent.body)["error"]["code"] == "unauthenticated"
    # a forged token is no better than none
    headers["authorization"] = "Bearer a.b.c"
    sent = asyncio.run(_request(gateway.app, "/api/v1/vehicles", headers, [b"{}"], reads))
    assert sent.status == 401 and reads == []


def test_declared_body_over_the_route_limit_is_413_before_it_is_read(gateway) -> None:  # type: ignore[no-untyped-def]
    auth = login(gateway, TA)
    reads: list[int] = []
    json_route = {**auth, "content-type": "application/json", "content-length": str(2 * 1024 * 1024)}
    sent = asyncio.run(_request(gateway.app, "/api/v1/vehicles", json_route, [b"{"], reads))
    assert sent.status == 413 and reads == []
    upload = {
        **login(gateway, BANK_A),
        "content-type": "multipart/form-data; boundary=x",
        "content-length": str(GiB),
    }
    sent = asyncio.run(_request(gateway.app, "/api/v1/documents", upload, [b"x"], reads))
    assert sent.status == 413 and reads == [], sent.body


def test_streamed_body_without_length_stops_at_the_first_chunk_over_the_limit(gateway) -> None:  # type: ignore[no-untyped-def]
    auth = login(gateway, TA)
    reads: list[int] = []
    chunked = {**auth, "content-type": "application/json", "transfer-encoding": "chunked"}
    chunks = [b" " * (256 * 1024)] * 40  # 10 MiB offered, limit 1 MiB
    sent = asyncio.run(_request(gateway.app, "/api/v1/vehicles", chunked, chunks, reads))
    assert sent.status == 413, sent.body
    assert sum(reads) <= 1024 * 1024 + 256 * 1024  # read up to the limit, then stopped


def test_oversized_upload_with_an_idempotency_key_is_refused_unread_and_nothing_is_kept(
    gateway, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Before: the key's request fingerprint read the whole upload into memory, then the route said 413."""
    reads: list[int] = []
    headers = {
        **login(gateway, BANK_A),
        "idempotency-key": "big-1",
        "content-type": "multipart/form-data; boundary=x",
        "content-length": str(200 * 1024 * 1024),
    }
    chunks = [b"x" * (1024 * 1024)] * 200
    sent = asyncio.run(_request(gateway.app, "/api/v1/documents", headers, chunks, reads))
    assert sent.status == 413 and reads == [], sent.body
    chunked = {k: v for k, v in headers.items() if k != "content-length"}
    sent = asyncio.run(_request(gateway.app, "/api/v1/documents", chunked, chunks, reads))
    assert sent.status == 413 and sum(reads) <= 300_000 + 1024 * 1024, (sent.body, sum(reads))
    with sqlite3.connect(tmp_path / "gw" / "idempotency.sqlite") as db:
        assert db.execute("SELECT count(*) FROM idempotency WHERE key = 'big-1'").fetchone()[0] == 0
        columns = [row[1] for row in db.execute("PRAGMA table_info(idempotency)")]
    assert "request_body" not in columns  # only a fingerprint of each request is ever stored


# --- finding 10 --------------------------------------------------------------------------------------


def _modes(root: Path) -> dict[str, int]:
    found = {}
    for current, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(current) / name
            if not path.is_symlink():
                found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_data_dir_is_owner_only_and_old_world_readable_files_are_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "gw"
    data_dir.mkdir(mode=0o755)
    old = data_dir / "users.sqlite"
    old.touch(mode=0o644)
    os.chmod(old, 0o644)
    app = create_app(Settings(data_dir=data_dir, token_secret="m" * 32))
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        from app.users.provision import ensure_standard_users

        ensure_standard_users(app.state.gw.users, app.state.gw.enroller, ["TrafficAuthorityMSP"])
        created = client.post("/api/v1/vehicles", json=registration(42), headers=login(client, TA))
        assert created.status_code == 201, created.text
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    modes = _modes(data_dir)
    for name in ("users.sqlite", "idempotency.sqlite", "ledger/ledger.sqlite"):
        assert modes.get(name) == 0o600, (name, oct(modes.get(name, 0)))
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not loose, loose


# --- finding 11 --------------------------------------------------------------------------------------


def _vehicle_history(api: Api, serial: int) -> list[Any]:
    return api.ok(api.get("auditor1@TrafficAuthorityMSP", f"/vehicles/{vin(serial)}/history"))  # type: ignore[no-any-return]


def test_retry_after_the_answer_was_lost_gets_the_original_answer_from_the_ledger(
    api: Api, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The write committed, then the request died before its answer was stored: the retry is answered
    from the ledger (same transaction, same status) and does not run the write again."""
    key = {"Idempotency-Key": "lost-answer-43"}
    real_finish = IdempotencyStore.finish

    def crash(self: IdempotencyStore, *args: Any) -> None:
        raise RuntimeError("process died before storing the answer")

    monkeypatch.setattr(IdempotencyStore, "finish", crash)
    with pytest.raises(RuntimeError, match="process died"):
        api.post(TA, "/vehicles", json=registration(43), headers=key)
    monkeypatch.setattr(IdempotencyStore, "finish", real_finish)
    retry = api.post(TA, "/vehicles", json=registration(43), headers=key)
    assert retry.status_code == 201, retry.text  # not "already registered"
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json()["validation_code"] == "VALID"
    assert len(_vehicle_history(api, 43)) == 1
    again = api.post(TA, "/vehicles", json=registration(43), headers=key)
    assert again.status_code == 201 and again.json() == retry.json()


def test_key_of_a_dead_process_whose_transaction_never_reached_the_ledger_runs_once(
    api: Api, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Killed after recording the tx id, before ordering it: the retry asks the ledger, which never saw
    that transaction (the embedded ledger commits in process, so it never will), and runs the write, once."""
    from app.ledger.embedded.ledger import EmbeddedLedger

    key = {"Idempotency-Key": "never-ordered-44"}
    real_submit = EmbeddedLedger.submit_prepared

    async def killed(self: EmbeddedLedger, prepared: Any) -> Any:
        raise RuntimeError("killed before ordering")

    monkeypatch.setattr(EmbeddedLedger, "submit_prepared", killed)
    with pytest.raises(RuntimeError, match="killed before ordering"):
        api.post(TA, "/vehicles", json=registration(44), headers=key)
    monkeypatch.setattr(EmbeddedLedger, "submit_prepared", real_submit)
    store: IdempotencyStore = api.client.app.state.gw.idempotency  # type: ignore[attr-defined]
    row = (
        _sqlite(store)
        .execute("SELECT tx_id, status FROM idempotency WHERE key = 'never-ordered-44'")
        .fetchone()
    )
    assert row is not None and row[0] and row[1] is None  # the tx id was recorded before ordering
    _sqlite(store).execute("UPDATE idempotency SET owner = '999999999:dead' WHERE key = 'never-ordered-44'")

    retry = api.post(TA, "/vehicles", json=registration(44), headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.headers.get("Idempotent-Replayed") is None  # it ran now
    assert retry.json()["tx_id"] != row[0]
    assert len(_vehicle_history(api, 44)) == 1
    replay = api.post(TA, "/vehicles", json=registration(44), headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == retry.json()


def test_early_refusals_carry_the_security_headers(gateway) -> None:  # type: ignore[no-untyped-def]
    reads: list[int] = []
    headers = {"content-type": "application/json", "content-length": "2"}
    sent = asyncio.run(_request(gateway.app, "/api/v1/vehicles", headers, [b"{}"], reads))
    assert sent.status == 401 and sent.headers.get("x-content-type-options") == "nosniff"
    assert "frame-ancestors 'none'" in sent.headers.get("content-security-policy", "")


def test_key_of_a_dead_process_whose_pid_was_reused_is_not_taken_for_in_flight(tmp_path: Path) -> None:
    """After a restart the new gateway may get the dead one's pid (pid 1 in a container): the owner's
    start time tells them apart, so the key is not blocked with 409 for the stale period."""
    from app.api.idempotency import Outcome, _started

    store = IdempotencyStore(tmp_path / "idem.sqlite")
    pid = os.getpid()
    same_pid_other_process = f"{pid}:{int(_started(pid) or 0) + 1}:dead"
    _sqlite(store).execute(
        "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at, owner)"
        " VALUES ('u', 'k', 'fp', NULL, NULL, strftime('%s','now'), ?)",
        (same_pid_other_process,),
    )
    assert store.begin("u", "k", "fp").outcome is Outcome.started  # runs again, no 409
    assert store.begin("u", "k", "fp").outcome is Outcome.in_flight  # now owned by this live process
    store.close()


def test_tightening_keeps_executables_runnable_by_their_owner(tmp_path: Path) -> None:
    from app.data_files import tighten_tree

    (tmp_path / "bin").mkdir()
    os.chmod(tmp_path / "bin", 0o755)
    script, data = tmp_path / "bin" / "release", tmp_path / "bin" / "state.json"
    script.write_text("#!/bin/sh\n")
    data.write_text("{}")
    os.chmod(script, 0o755)
    os.chmod(data, 0o664)
    assert tighten_tree(tmp_path) >= 3  # bin, release, state.json (tmp_path may be 0700 already)
    assert [stat.S_IMODE(p.stat().st_mode) for p in (tmp_path, tmp_path / "bin", script, data)] == [
        0o700,
        0o700,
        0o700,
        0o600,
    ]
