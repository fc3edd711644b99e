"""The soak's load: many car-loan lifecycles at once through the gateway API, as a real client sends them.

Each worker runs lifecycles one after another (so ``concurrency`` requests are in flight): register a
vehicle, value it, upload the owner's consent, request a lien, read it, record it, issue the QR identity,
scan it twice, read the public status. Every write carries an Idempotency-Key; a connection error, a 5xx,
a 429 or a 409 "still being processed" is retried with the same key after a pause (a client cannot tell
whether the write ran), until ``op_timeout``. Every attempt is recorded (time, status, latency, kind of
error) and every acknowledged write with its answer, so the report can check each on the ledger.

Faults run on a schedule beside the load (blocking actions in a thread) and are marked in the record;
a fault that restarts a gateway marks that gateway's restart window.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from app.demo.data import demo_vin

# who does what: (gateway, user); the gateways are named by their org
TA, BANK = "TrafficAuthorityMSP", "BankAMSP"
OFFICER, LOAN, MODELS, AUDITOR = "officer1", "loan1", "models1", "auditor1"
RETRY_STATUSES = {429, 500, 502, 503, 504}
FOLLOW_SECONDS = 30.0
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q in a VIN


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: start/end in seconds since the run began, ``error`` its kind (None if 2xx)."""

    op: str
    gateway: str
    t0: float
    t1: float
    status: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledged write: what it was, its business key, its Idempotency-Key and its answer."""

    op: str
    key: str
    vin: str
    idempotency_key: str
    status: int
    body: dict[str, Any]

    @property
    def tx_id(self) -> str | None:
        tx = self.body.get("tx_id") or (self.body.get("document") or {}).get("tx_id")
        return str(tx) if tx else None


@dataclass
class Window:
    """A fault from ``start`` until ``end`` (seconds since the run began); ``gateway`` set for a gateway
    restart, whose 5xx answers are counted apart."""

    name: str
    start: float
    end: float | None = None
    gateway: str | None = None


@dataclass
class Record:
    started: float = field(default_factory=time.monotonic)
    attempts: list[Attempt] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    faults: list[Window] = field(default_factory=list)
    unresolved: list[tuple[str, str, str]] = field(default_factory=list)  # (op, key, last error)
    refused: list[tuple[str, str, int, str]] = field(default_factory=list)  # (op, key, status, message)
    lifecycles: int = 0

    def now(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class Fault:
    """At ``at`` seconds, run ``action`` (blocking, in a thread); ``gateway`` names a gateway it
    restarts."""

    at: float
    name: str
    action: Callable[[], object]
    gateway: str | None = None


def error_kind(status: int | None, exc: Exception | None = None, message: str = "") -> str | None:
    if exc is not None:
        return "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
    assert status is not None
    if status < 300:
        return None
    if status == 409 and "Idempotency-Key" in message:
        return "409 key in flight"
    return f"{status}"


class SoakClient:
    """Logs in once per (gateway, user), retries as described above and records every attempt."""

    def __init__(
        self, record: Record, urls: dict[str, str], passwords: dict[str, dict[str, str]], op_timeout: float
    ) -> None:
        self.record = record
        self.passwords = passwords
        self.op_timeout = op_timeout
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self.http = {
            gw: httpx.AsyncClient(base_url=url, timeout=90.0, limits=limits) for gw, url in urls.items()
        }
        self._tokens: dict[tuple[str, str], str] = {}

    async def aclose(self) -> None:
        for client in self.http.values():
            await client.aclose()

    async def _token(self, gw: str, user: str) -> str:
        if (gw, user) not in self._tokens:
            form = {"username": f"{user}@{gw}", "password": self.passwords[gw][user]}
            r = await self.send("login", gw, None, "POST", "/auth/token", data=form)
            if r is None or r.status_code != 200:
                raise RuntimeError(f"login {user}@{gw}: {r.status_code if r else 'no answer'}")
            self._tokens[(gw, user)] = r.json()["access_token"]
        return self._tokens[(gw, user)]

    async def send(
        self,
        op: str,
        gw: str,
        user: str | None,
        method: str,
        path: str,
        *,
        write: bool = False,
        follows: bool = False,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """The final answer, or None when retries ran out (recorded as unresolved).

        ``follows``: the call follows a write another org's gateway acknowledged, so this gateway's peer
        may not hold that block yet; a 404 is asked again for up to ``FOLLOW_SECONDS`` (counted as
        "404 peer behind"), as a client just told that the write committed would."""
        follow_until = time.monotonic() + FOLLOW_SECONDS
        headers: dict[str, str] = {}
        if write:
            headers["Idempotency-Key"] = secrets.token_hex(16)
        deadline = time.monotonic() + self.op_timeout
        last = ""
        while True:
            if user is not None:
                headers["Authorization"] = f"Bearer {await self._token(gw, user)}"
            t0 = self.record.now()
            try:
                r = await self.http[gw].request(method, "/api/v1" + path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                kind = error_kind(None, exc)
                self.record.attempts.append(Attempt(op, gw, t0, self.record.now(), None, kind))
                last, pause = f"{kind}: {type(exc).__name__}", 1.0
            else:
                message = _message(r)
                kind = error_kind(r.status_code, message=message)
                if follows and r.status_code == 404:
                    kind = "404 peer behind"
                self.record.attempts.append(Attempt(op, gw, t0, self.record.now(), r.status_code, kind))
                if r.status_code == 401 and user is not None:  # a token from before a restart
                    self._tokens.pop((gw, user), None)
                    last, pause = "401", 0.0
                elif kind == "404 peer behind" and time.monotonic() < follow_until:
                    last, pause = "404", 0.5
                elif r.status_code in RETRY_STATUSES or kind == "409 key in flight":
                    last = f"{r.status_code}: {message[:120]}"
                    pause = min(5.0, float(r.headers.get("Retry-After", "1") or 1))
                else:
                    return r
            if time.monotonic() + pause > deadline:
                self.record.unresolved.append((op, path, last))
                return None
            await asyncio.sleep(pause)

    async def write(
        self, op: str, key: str, vin: str, gw: str, user: str, path: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        """A write; its acknowledgement is recorded. None when refused or unresolved."""
        r = await self.send(op, gw, user, "POST", path, write=True, **kwargs)
        if r is None:
            return None
        if r.status_code >= 300:
            self.record.refused.append((op, key, r.status_code, _message(r)[:200]))
            return None
        body = r.json()
        idem = r.request.headers["Idempotency-Key"]
        self.record.acks.append(Ack(op, key, vin, idem, r.status_code, body))
        return body  # type: ignore[no-any-return]

    async def read(self, op: str, gw: str, user: str | None, method: str, path: str, **kwargs: Any) -> Any:
        r = await self.send(op, gw, user, method, path, **kwargs)
        return r.json() if r is not None and r.status_code < 300 else None


def _message(r: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
        return str(r.json()["error"]["message"])
    return r.text[:200] if r.status_code >= 300 else ""


def run_tag() -> str:
    """Five VIN characters unique to a run, so its vehicles are its own."""
    return "".join(secrets.choice(VIN_CHARS) for _ in range(5))


async def lifecycle(client: SoakClient, tag: str, serial: int) -> None:
    """One car loan through both gateways; stops at the first write that is refused or unresolved."""
    vin = demo_vin(serial, "LSG", tag)
    sid = f"{tag}-{serial:06d}"
    today = date.today()
    vehicle = {
        "vin": vin, "plate": f"沪{tag}{serial:06d}", "make": "SAIC", "model": "Roewe i5", "trim": "1.5L",
        "year": 2022, "configuration": {"color": "white"}, "registration_date": "2022-03-01",
        "new_price": "89800.00", "currency": "CNY", "region": "Shanghai",
    }  # fmt: skip
    owner = {"name": "Xu Lei", "id_number": f"31010119880101{serial % 10000:04d}"}
    c = client
    if not await c.write(
        "registration", vin, vin, TA, OFFICER, "/vehicles", json={"vehicle": vehicle, "owner": owner}
    ):
        return
    val_id = f"VAL-{sid}"
    valuation = {
        "valuation_id": val_id, "vin": vin, "value": "76000.00", "currency": "CNY",
        "interval_low": "70000.00", "interval_high": "82000.00", "coverage": 0.9,
        "model_id": "soak-hedonic", "model_version": "1.0.0",
        "inputs_hash": hashlib.sha256(vin.encode()).hexdigest(), "valuer": "vehicle office appraisal",
    }  # fmt: skip
    if not await c.write("valuation", val_id, vin, TA, OFFICER, "/valuation-records", json=valuation):
        return
    doc_id = f"DOC-{sid}"
    consent = {"doc_type": "owner_consent", "vin": vin, "document_id": doc_id}
    files = {"file": ("consent.txt", f"owner consent {vin}".encode(), "text/plain")}
    if not await c.write(
        "document", doc_id, vin, BANK, LOAN, "/documents", data=consent, files=files, follows=True
    ):
        return
    lien_id = f"L-{sid}"
    lien = {
        "lien_id": lien_id, "vin": vin, "loan_number": f"SK-{sid}",
        "mortgage_contract_number": f"SK-MC-{sid}", "secured_amount": "50000.00", "currency": "CNY",
        "maturity_date": (today + timedelta(days=3 * 365)).isoformat(), "consent_document_id": doc_id,
    }  # fmt: skip
    if not await c.write("lien_request", lien_id, vin, BANK, LOAN, "/liens", json=lien):
        return
    await c.read("read lien", BANK, LOAN, "GET", f"/liens/{lien_id}")
    if not await c.write("lien_record", lien_id, vin, TA, OFFICER, f"/liens/{lien_id}/record", follows=True):
        return
    await c.read("read vehicle", TA, OFFICER, "GET", f"/vehicles/{vin}")
    qr = await c.write("qr_issue", vin, vin, TA, OFFICER, f"/vehicles/{vin}/qr")
    if not qr:
        return
    for gw in (BANK, TA):
        await c.read(
            "qr scan", gw, None, "POST", "/qr/verify", json={"payload": qr["payload"]}, follows=gw == BANK
        )
    await c.read("read status", BANK, LOAN, "GET", f"/vehicles/{vin}/status", follows=True)
    c.record.lifecycles += 1


async def _worker(client: SoakClient, tag: str, first: int, step: int, until: float) -> None:
    serial = first
    while client.record.now() < until:
        await lifecycle(client, tag, serial)
        serial += step


async def _faults(record: Record, faults: list[Fault]) -> None:
    for fault in sorted(faults, key=lambda f: f.at):
        await asyncio.sleep(max(0.0, fault.at - record.now()))
        window = Window(fault.name, record.now(), gateway=fault.gateway)
        record.faults.append(window)
        try:
            await asyncio.to_thread(fault.action)
        finally:
            window.end = record.now()


async def register_model(client: SoakClient) -> None:
    """The valuation model the soak's valuations name, registered on chain once (201 or 409)."""
    body = {
        "model_id": "soak-hedonic",
        "model_version": "1.0.0",
        "model_card_sha256": hashlib.sha256(b"soak model card").hexdigest(),
    }
    r = await client.send("model", BANK, MODELS, "POST", "/model-versions", write=True, json=body)
    if r is None or r.status_code not in (201, 409):
        raise RuntimeError(f"model registration: {r.status_code if r else 'no answer'} {r.text if r else ''}")


async def run_load(
    client: SoakClient, *, seconds: float, concurrency: int, faults: list[Fault], tag: str | None = None
) -> Record:
    """Drive the load for ``seconds`` with ``concurrency`` workers while the faults run; then let every
    lifecycle in progress finish (so each write ends acknowledged, refused or unresolved)."""
    await register_model(client)
    record = client.record
    record.started = time.monotonic()
    tag = tag or run_tag()
    workers = [_worker(client, tag, i + 1, concurrency, seconds) for i in range(concurrency)]
    await asyncio.gather(_faults(record, faults), *workers)
    return record
