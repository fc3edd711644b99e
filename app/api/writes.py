"""The write path shared by every mutating route: read-only refusal, idempotency, MVCC retry, mapping.

A route asks for :data:`WriteCtx` and calls :meth:`WriteContext.submit`; the answer is a JSONResponse
(success or a mapped refusal), stored under the request's Idempotency-Key when one was given.
With a key, each transaction's id is recorded before it is ordered, so a retry after a crash is
answered from the ledger (see :mod:`app.api.idempotency`) instead of running the write again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile as StarletteUploadFile

from app.api.deps import AuthUser, State, Writer
from app.api.errors import ApiError, ledger_error_status_and_body
from app.api.idempotency import Begin, KeyTakenOver, Outcome
from app.api.state import GatewayState
from app.ledger.port import LedgerError, TransactionInvalidated, TxResult

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset({"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"})


class IdempotentReplay(Exception):
    """The request was already answered: send the stored answer again."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body


def decode_payload(payload: bytes) -> Any:
    """The chaincode answers stable JSON; anything else is passed on as text."""
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def tx_json(result: TxResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    timestamp = result.timestamp
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    body: dict[str, Any] = {
        "tx_id": result.tx_id,
        "block_number": result.block_number,
        "validation_code": result.validation_code,
        "timestamp": timestamp.isoformat(),
        "result": decode_payload(result.payload),
    }
    if extra:
        body.update(jsonable_encoder(extra))
    return body


class WriteContext:
    def __init__(self, state: GatewayState, user: AuthUser, key: str | None, scope: str) -> None:
        self.state = state
        self.user = user
        self.key = key
        self.scope = scope
        self.finished = False

    def _store(self, status: int, body: Any) -> None:
        if self.key is not None:
            self.state.idempotency.finish(self.scope, self.key, status, body)
        self.finished = True

    def respond(self, status: int, body: Any) -> JSONResponse:
        """Answer (and remember) a result computed without a transaction."""
        self._store(status, body)
        return JSONResponse(status_code=status, content=body)

    async def submit(
        self,
        function: str,
        args: list[str],
        *,
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
        status_code: int = 200,
        extra: dict[str, Any] | None = None,
    ) -> JSONResponse:
        settings = self.state.settings
        metrics = self.state.metrics
        extra_fields = jsonable_encoder(extra) if extra else None
        before_submit = None
        if self.key is not None:
            key, template = self.key, {"status": status_code, "extra": extra_fields}

            async def before_submit(tx_id: str) -> None:
                try:
                    await asyncio.to_thread(
                        self.state.idempotency.record_submission, self.scope, key, tx_id, template
                    )
                except KeyTakenOver as exc:  # fenced: the replica that took the key over answers it
                    raise ApiError(
                        409, "another gateway replica took this Idempotency-Key over; retry for its answer"
                    ) from exc

        attempt = 0
        started = time.perf_counter()
        while True:
            try:
                with metrics.ledger_timer("submit", function):
                    result = await self.state.ledger.submit(
                        self.user.caller,
                        function,
                        args,
                        transient=transient,
                        endorsing_orgs=endorsing_orgs,
                        before_submit=before_submit,
                    )
                break
            except TransactionInvalidated as exc:
                if exc.validation_code in RETRYABLE_CODES and attempt < settings.mvcc_retries:
                    attempt += 1
                    metrics.mvcc_retries.labels(function=function).inc()
                    delay = settings.mvcc_backoff_seconds * (2 ** (attempt - 1)) * (1 + random.random())
                    log.debug("%s: %s, retry %d in %.3fs", function, exc.validation_code, attempt, delay)
                    await asyncio.sleep(delay)
                    continue
                return self._refused(exc, function)
            except LedgerError as exc:
                return self._refused(exc, function)
        metrics.ledger_results.labels(function=function, outcome="committed").inc()
        metrics.commit_seconds.labels(function=function).observe(time.perf_counter() - started)
        body = tx_json(result, extra_fields)
        self._store(status_code, body)
        return JSONResponse(status_code=status_code, content=body)

    def _refused(self, exc: LedgerError, function: str) -> JSONResponse:
        status, body = ledger_error_status_and_body(exc)
        self.state.metrics.ledger_results.labels(function=function, outcome=str(status)).inc()
        if status != 503:  # a definite answer: a retry must get the same one
            self._store(status, body)
        return JSONResponse(status_code=status, content=body)


HASH_CHUNK = 64 * 1024


async def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path, query and body (form fields and file contents for form posts).

    Uploaded files are hashed in chunks from their spooled temporary file, never read whole into
    memory; other bodies are already bounded by the route's size limit.
    """
    digest = hashlib.sha256(
        b"\n".join([request.method.encode(), request.url.path.encode(), request.url.query.encode()])
    )
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()  # parsed once and cached; the body stream is gone after this
        for name, value in form.multi_items():
            digest.update(b"\0" + name.encode() + b"\0")
            if isinstance(value, StarletteUploadFile):
                digest.update((value.filename or "").encode() + b"\0")
                while chunk := await value.read(HASH_CHUNK):
                    digest.update(chunk)
                await value.seek(0)
            else:
                digest.update(value.encode())
    else:
        digest.update(b"\0" + await request.body())
    return digest.hexdigest()


def commit_grace(state: GatewayState, submitter_alive: bool) -> float:
    """How long an unseen transaction may still commit. The embedded ledger commits in process, so a
    transaction of a dead process that is not on the ledger never will be; a live one is given a moment."""
    configured = state.settings.idempotency_commit_grace_seconds
    if configured is not None:
        return configured
    if state.settings.backend == "embedded":
        return 10.0 if submitter_alive else 0.0
    return 120.0


async def resolve_orphan(state: GatewayState, scope: str, key: str, begun: Begin) -> bool:
    """An in-flight key whose request ended before answering: answer it from the ledger.

    Raises IdempotentReplay with the original answer when its transaction committed; ApiError 409
    while it might still commit; returns True when this request may run the write again.
    """
    assert begun.tx_id is not None
    result = await state.ledger.transaction_status(begun.tx_id)
    if result is not None and result.validation_code == "VALID":
        template = begun.template or {}
        status = int(template.get("status", 200))
        body = tx_json(result, template.get("extra"))
        await asyncio.to_thread(state.idempotency.finish, scope, key, status, body)
        log.info("idempotency key resolved from the ledger: tx %s committed", begun.tx_id)
        raise IdempotentReplay(status, body)
    if result is None:
        age = time.time() - (begun.submitted_at or 0.0)
        grace = commit_grace(state, state.idempotency.owner_alive(begun.owner))
        if age < grace:
            wait = max(1, int(grace - age))
            raise ApiError(
                409,
                f"a request with this Idempotency-Key submitted transaction {begun.tx_id}, which the ledger "
                f"has not seen yet; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
    # invalidated, or never ordered: nothing was written, so the write runs again
    if not await asyncio.to_thread(state.idempotency.take_over, scope, key, begun):
        raise ApiError(409, "a request with this Idempotency-Key is still being processed; retry later")
    return True


async def write_context(
    request: Request,
    state: State,
    user: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Makes a retried write safe: the same key and request get the stored answer.",
        ),
    ] = None,
) -> AsyncIterator[WriteContext]:
    scope = user.user.qualified_name
    ctx = WriteContext(state, user, idempotency_key, scope)
    if idempotency_key is not None:
        fingerprint = await request_fingerprint(request)
        begun = await asyncio.to_thread(state.idempotency.begin, scope, idempotency_key, fingerprint)
        if begun.outcome is Outcome.stored:
            raise IdempotentReplay(begun.status or 200, begun.body)
        if begun.outcome is Outcome.in_flight:
            raise ApiError(409, "a request with this Idempotency-Key is still being processed; retry later")
        if begun.outcome is Outcome.mismatch:
            raise ApiError(422, "Idempotency-Key was already used with a different request")
        if begun.outcome is Outcome.orphaned:
            await resolve_orphan(state, scope, idempotency_key, begun)
    try:
        yield ctx
    finally:
        if idempotency_key is not None and not ctx.finished:
            state.idempotency.abandon(scope, idempotency_key)


WriteCtx = Annotated[WriteContext, Depends(write_context)]
