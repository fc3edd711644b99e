"""Two gateway replicas of one org, active-active on the real network (issue 23.2): two `mledger serve`
processes of TrafficAuthority share one PostgreSQL (scripts/postgres) behind HAProxy (scripts/haproxy).

- the same Idempotency-Key sent to both replicas at once runs once and gets one answer;
- the event stream resumes from its checkpoint (Last-Event-ID) on the other replica;
- failed logins count across replicas (the lockout holds on both);
- one replica is killed with SIGKILL mid-load through HAProxy: every acknowledged registration is on
  the ledger exactly once (clients retry with the same Idempotency-Key), and the failed requests while
  it was down are printed.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.demo.replica_set import ReplicaSet, open_replicas
from chaincode.mortgage.vin import with_check_digit
from tests.unit.store.postgres import PostgresServer, start_for_tests

pytestmark = pytest.mark.fabric
RUN = secrets.token_hex(3)
PASSWORD = secrets.token_urlsafe(16)
RETRY_STATUSES = {502, 503, 504}


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_for_tests(offset=2)  # a cluster of its own (the store and ops tests use +0, +1)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(
    fabric_network: Any, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReplicaSet]:
    # a key left by a killed replica, its transaction unseen by the ledger, runs again after 10 s
    # (the default 120 s is for orderers that may hold a transaction long; this network cuts in 250 ms)
    replicas = open_replicas(
        tmp_path_factory.mktemp("replicas"), postgres, fabric_network,
        MLEDGER_IDEMPOTENCY_COMMIT_GRACE_SECONDS="10",
    )  # fmt: skip
    try:
        replicas.add_user(f"officer-{RUN}", "registrar", PASSWORD)
        replicas.add_user(f"auditor-{RUN}", "auditor", PASSWORD)
        replicas.add_user(f"guessed-{RUN}", "registrar", PASSWORD)
        replicas.start()
        yield replicas
    finally:
        replicas.stop()


def _login(base: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": password})


def _auth(base: str, username: str) -> dict[str, str]:
    answer = _login(base, username)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


_serial = iter(range(1_000_000))
_serial_lock = threading.Lock()


def _registration() -> dict[str, Any]:
    with _serial_lock:
        n = next(_serial)
    vin = with_check_digit("LSV" + secrets.token_hex(7).upper())
    plate = f"粤B{RUN.upper()}{n:04d}"  # plates are unique on the ledger, which outlives the run
    owner = {"name": "Replica Owner", "id_number": f"44010119900101{RUN[:4]}"}
    vehicle = {
        "vin": vin, "plate": plate, "make": "GAC", "model": "Aion S", "trim": "Plus", "year": 2023,
        "configuration": {}, "registration_date": "2023-01-01",
    }  # fmt: skip
    return {"vehicle": vehicle, "owner": owner}


def _is_in_flight(answer: httpx.Response) -> bool:
    """409 from the idempotency layer (retry later), not a refusal by the chaincode."""
    return answer.status_code == 409 and "Idempotency-Key" in answer.text


@dataclass
class Tally:
    """Requests that did not get a final answer (connection errors, 5xx, key still in flight)."""

    failed: int = 0
    failed_while_down: int = 0
    down_since: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self) -> None:
        with self.lock:
            self.failed += 1
            if self.down_since is not None:
                self.failed_while_down += 1


def _post_until_answered(
    url: str, headers: dict[str, str], body: dict[str, Any], key: str, tally: Tally, deadline: float = 120.0
) -> httpx.Response:
    """A client that retries with the same Idempotency-Key on connection errors, 5xx and 409 in flight."""
    end = time.monotonic() + deadline
    while True:
        try:
            answer = httpx.post(url, json=body, headers={**headers, "Idempotency-Key": key}, timeout=60.0)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code not in RETRY_STATUSES and not _is_in_flight(answer):
            return answer
        tally.fail()
        assert time.monotonic() < end, f"no final answer for key {key}: {answer and answer.text}"
        wait = 0.3
        if answer is not None and answer.headers.get("Retry-After", "").isdigit():
            wait = min(2.0, float(answer.headers["Retry-After"]))
        time.sleep(wait)


def _events(
    base: str, headers: dict[str, str], until_tx: str, **params: Any
) -> list[tuple[str, dict[str, Any]]]:
    """Server-sent events (id, data) from ``base`` until the event of transaction ``until_tx``."""
    got: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    with httpx.stream(
        "GET", f"{base}/api/v1/events", headers=headers, params=params, timeout=httpx.Timeout(60.0)
    ) as stream:
        assert stream.status_code == 200, stream.read()
        for line in stream.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                got.append((event_id, data))
                if data["tx_id"] == until_tx:
                    return got
    raise AssertionError(f"the stream ended before transaction {until_tx}")


def test_same_idempotency_key_on_both_replicas_runs_once(cluster: ReplicaSet) -> None:
    one, two = cluster.replicas
    headers = _auth(cluster.proxy.url, f"officer-{RUN}")  # type: ignore[union-attr]
    body, key = _registration(), f"twice-{RUN}"
    tally = Tally()
    barrier = threading.Barrier(2)

    def send(base: str) -> httpx.Response:
        barrier.wait()
        return _post_until_answered(f"{base}/api/v1/vehicles", headers, body, key, tally)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(send, [one.url, two.url])
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert first.json() == second.json()  # one answer: the other replica replayed the stored one
    tx_id = first.json()["tx_id"]
    # one execution: the ledger holds one registration of the VIN, the one transaction answered
    auditor = _auth(one.url, f"auditor-{RUN}")
    events = _events(two.url, auditor, tx_id, start_block=first.json()["block_number"])
    vin = body["vehicle"]["vin"]
    mine = [d for _, d in events if d["event_name"] == "VehicleRegistered" and d["payload"]["vin"] == vin]
    assert [d["tx_id"] for d in mine] == [tx_id]
    again = httpx.post(
        f"{two.url}/api/v1/vehicles", json=body, headers={**headers, "Idempotency-Key": key}, timeout=60
    )
    assert again.status_code == 201 and again.json() == first.json()


def test_event_stream_resumes_on_the_other_replica(cluster: ReplicaSet) -> None:
    one, two = cluster.replicas
    writer = _auth(one.url, f"officer-{RUN}")
    created = []
    for _ in range(2):
        answer = httpx.post(f"{one.url}/api/v1/vehicles", json=_registration(), headers=writer, timeout=60)
        assert answer.status_code == 201, answer.text
        created.append(answer.json())
    auditor = _auth(one.url, f"auditor-{RUN}")
    first_tx, second_tx = created[0]["tx_id"], created[1]["tx_id"]
    seen = _events(one.url, auditor, first_tx, start_block=created[0]["block_number"])
    checkpoint = seen[-1][0]
    assert checkpoint == f"{created[0]['block_number']}/{first_tx}"
    # the client reconnects to the other replica with its checkpoint as Last-Event-ID: the stream
    # resumes after the first registration, with the second
    resumed = []
    with httpx.stream(
        "GET", f"{two.url}/api/v1/events", headers={**auditor, "Last-Event-ID": checkpoint},
        params={"limit": 1}, timeout=60.0,
    ) as stream:  # fmt: skip
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data: "):
                resumed.append(json.loads(line[6:]))
    assert [e["tx_id"] for e in resumed] == [second_tx]


def test_failed_logins_count_across_replicas(cluster: ReplicaSet) -> None:
    one, two = cluster.replicas
    user = f"guessed-{RUN}"
    assert _login(two.url, user).status_code == 200
    for n in range(5):  # the per-account limit is 5 failures a minute, spread over both replicas
        wrong = _login((one, two)[n % 2].url, user, "not-the-password")
        assert wrong.status_code == 401, wrong.text
    for replica in (one, two):
        locked = _login(replica.url, user)  # the right password, refused on either replica
        assert locked.status_code == 429, locked.text
        assert int(locked.headers["Retry-After"]) > 0
        assert "account" in locked.json()["error"]["message"]


def test_sigkill_of_one_replica_mid_load_loses_and_duplicates_nothing(cluster: ReplicaSet) -> None:
    proxy = cluster.proxy
    assert proxy is not None
    victim, survivor = cluster.replicas
    headers = _auth(proxy.url, f"officer-{RUN}")
    writers, per_writer = 6, 6
    tally = Tally()
    acked: dict[str, dict[str, Any]] = {}
    acked_lock = threading.Lock()
    killed = threading.Event()

    def killer() -> None:
        while len(acked) < writers and not killed.is_set():
            time.sleep(0.05)
        tally.down_since = time.monotonic()
        cluster.kill(victim)  # SIGKILL, requests of this replica in flight
        killed.set()

    def writer(w: int) -> None:
        for n in range(per_writer):
            body = _registration()
            answer = _post_until_answered(
                f"{proxy.url}/api/v1/vehicles", headers, body, f"load-{RUN}-{w}-{n}", tally
            )
            assert answer.status_code == 201, answer.text
            with acked_lock:
                acked[body["vehicle"]["vin"]] = answer.json()

    kill_thread = threading.Thread(target=killer)
    kill_thread.start()
    try:
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(writer, range(writers)))
    finally:
        killed.set()
        kill_thread.join()
    assert victim.proc is not None and victim.proc.returncode == -9
    print(
        f"\nfailover: {len(acked)} registrations acknowledged through HAProxy; requests failed (retried) "
        f"while one replica was down: {tally.failed_while_down} (of {tally.failed} in the run)"
    )
    assert len(acked) == writers * per_writer

    # every acknowledged write is on the ledger exactly once: one VehicleRegistered event per VIN, the
    # transaction that was acknowledged; a sentinel registration marks the end of the load
    auditor = _auth(survivor.url, f"auditor-{RUN}")
    sentinel = _post_until_answered(
        f"{survivor.url}/api/v1/vehicles", headers, _registration(), f"sentinel-{RUN}", Tally()
    )
    assert sentinel.status_code == 201, sentinel.text
    first_block = min(a["block_number"] for a in acked.values())
    events = _events(survivor.url, auditor, sentinel.json()["tx_id"], start_block=first_block)
    registered: dict[str, list[str]] = {}
    for _, data in events:
        if data["event_name"] == "VehicleRegistered" and data["payload"]["vin"] in acked:
            registered.setdefault(data["payload"]["vin"], []).append(data["tx_id"])
    lost = sorted(set(acked) - set(registered))
    duplicated = {vin: txs for vin, txs in registered.items() if len(txs) > 1}
    print(f"failover: writes lost {len(lost)}, duplicated {len(duplicated)}")
    assert lost == [] and duplicated == {}
    assert {vin: txs[0] for vin, txs in registered.items()} == {vin: a["tx_id"] for vin, a in acked.items()}
