"""Commit status for every in-flight submit from one filtered-block stream per channel.

Why: each Gateway call costs the client a few hundred microseconds of CPU in grpcio (and the peer a
call), and a submit needs Endorse, Submit and then CommitStatus. The peer's Deliver service already
streams every block's transaction ids and validation codes (``FilteredBlock``), so one stream per
channel answers all submits of a gateway: a submit costs two calls and two signatures instead of
three (the Fabric 1.4/2.2 SDKs' commit listeners worked the same way).

Correctness rules:
- The stream starts at the channel's newest block; it is *live* once that block arrived. A waiter is
  registered while live and before its Submit is sent, so the block holding the transaction is
  always one the stream delivers after it.
- Whenever the stream is not live (connecting, reconnecting, refused, closed) new submits and the
  waiters of the broken stream fall back to the CommitStatus call, which stays the authority; so do
  ``DUPLICATE_TXID`` outcomes (the call reports the first, committed, occurrence).
- A refused stream (FORBIDDEN, BAD_REQUEST, NOT_FOUND, PERMISSION_DENIED) disables the listener for
  good: a channel whose ACLs deny block events to this identity still works, through the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2, transaction_pb2

from .block_events import FILTERED, build_seek_envelope
from .client import AsyncGatewayClient, GatewayClient
from .commit_status import Status
from .options import ReconnectPolicy
from .signing_identity import SigningIdentity

logger = logging.getLogger(__name__)

# How long the first submit on a channel waits for the stream to become live before using the call.
READY_TIMEOUT = 3.0
# A waiter nobody collected and whose transaction never committed (a fire-and-forget submit the
# orderer dropped) is let go after this long: asking later goes to the CommitStatus call.
MAX_WAITER_AGE = 600.0

REFUSED_STATUSES = frozenset({common_pb2.FORBIDDEN, common_pb2.BAD_REQUEST, common_pb2.NOT_FOUND})
REFUSED_CODES = frozenset(
    {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNIMPLEMENTED}
)


class Fallback:
    """Outcome telling a waiter to ask the CommitStatus call instead."""

    def __repr__(self) -> str:
        return "FALLBACK"


FALLBACK = Fallback()


class _Refused(Exception):
    """The peer will not serve this identity block events: stop trying."""


class _Interrupted(Exception):
    """The stream ended or the peer is going away: reconnect."""


def _filtered_block(response: events_pb2.DeliverResponse) -> events_pb2.FilteredBlock:
    kind = response.WhichOneof("Type")
    if kind == "filtered_block":
        return response.filtered_block
    if kind == "status":
        name = common_pb2.Status.Name(response.status)
        if response.status in REFUSED_STATUSES:
            raise _Refused(f"deliver answered {name}")
        raise _Interrupted(f"deliver answered {name}")
    raise _Interrupted(f"deliver sent {kind}, expected filtered_block")


ClientT = TypeVar("ClientT", bound=GatewayClient | AsyncGatewayClient)


class ListenerCore(Generic[ClientT]):
    """State shared by the blocking and asyncio listeners: pending waiters, liveness, block handling.

    ``settle(waiter, outcome)`` is supplied by the subclass (thread-safe or loop-bound).
    """

    def __init__(
        self,
        client: ClientT,
        signing_identity: SigningIdentity,
        channel_name: str,
        reconnect: ReconnectPolicy,
    ) -> None:
        self._client = client
        self._call: Any = None  # the Deliver stream while it runs
        self._signing_identity = signing_identity
        self.channel_name = channel_name
        self._reconnect = reconnect
        self._pending: dict[str, Any] = {}
        self.live = False
        self.ever_live = False
        self.closed = False
        self.disabled_reason = ""
        self.max_waiter_age = MAX_WAITER_AGE

    @property
    def usable(self) -> bool:
        return not (self.closed or self.disabled_reason) and self._signing_identity.can_sign

    def seek_request(self) -> common_pb2.Envelope:
        """A freshly signed request for filtered blocks from the channel's newest block on."""
        envelope = build_seek_envelope(
            creator=self._signing_identity.creator,
            channel_name=self.channel_name,
            start_block=None,
            start=ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest()),
        )
        envelope.signature = self._signing_identity.sign(envelope.payload)
        return envelope

    def settle(self, waiter: Any, outcome: Status | Fallback) -> None:
        raise NotImplementedError

    def add(self, transaction_id: str, waiter: Any) -> None:
        previous = self._pending.pop(transaction_id, None)
        if previous is not None:  # the same transaction submitted again: the call will tell
            self.settle(previous, FALLBACK)
        waiter.registered = time.monotonic()
        self._pending[transaction_id] = waiter

    def remove(self, transaction_id: str, waiter: Any) -> None:
        if self._pending.get(transaction_id) is waiter:
            del self._pending[transaction_id]

    def on_block(self, block: events_pb2.FilteredBlock) -> None:
        if not self.live:
            self.live = self.ever_live = True
            logger.debug("commit listener live on %s at block %d", self.channel_name, block.number)
        if not self._pending:
            return
        self._prune(time.monotonic())
        for tx in block.filtered_transactions:
            waiter = self._pending.pop(tx.txid, None)
            if waiter is None:
                continue
            code = int(tx.tx_validation_code)
            if code == transaction_pb2.DUPLICATE_TXID:
                self.settle(waiter, FALLBACK)
            else:
                self.settle(waiter, Status(tx.txid, code, int(block.number)))

    def _prune(self, now: float) -> None:
        """Let go of waiters older than ``max_waiter_age`` (insertion order: oldest first)."""
        while self._pending:
            transaction_id, waiter = next(iter(self._pending.items()))
            if now - waiter.registered < self.max_waiter_age:
                return
            del self._pending[transaction_id]
            self.settle(waiter, FALLBACK)

    def down(self, reason: str) -> None:
        """The stream is gone: every waiter asks the call instead."""
        if self.live:
            logger.info("commit listener on %s interrupted (%s)", self.channel_name, reason)
        self.live = False
        pending, self._pending = self._pending, {}
        for waiter in pending.values():
            self.settle(waiter, FALLBACK)

    def open_stream(self) -> Any:
        """Subscribe to the channel's filtered blocks from its newest block on."""
        self._call = self._client.deliver(FILTERED, self.seek_request(), None, False)
        return self._call

    def lost(self, reason: str, attempt: int) -> float | None:
        """The stream is gone (waiters fall back): seconds before reconnect ``attempt``, or None to stop."""
        self.down(reason)
        delay = self.backoff(attempt)
        if delay is None:
            self.refused(f"gave up after {attempt - 1} reconnects ({reason})")
        return delay

    def refuse(self, reason: str) -> None:
        """The peer will not serve this identity: stop for good, waiters fall back."""
        self.refused(reason)
        self.down(reason)

    def refused(self, reason: str) -> None:
        self.disabled_reason = reason
        logger.warning(
            "commit listener on %s disabled (%s); commit status comes from CommitStatus calls",
            self.channel_name,
            reason,
        )

    def classify(self, error: BaseException) -> str | None:
        """Reason to give up for good (refused), or None to reconnect."""
        if isinstance(error, _Refused):
            return str(error)
        if isinstance(error, grpc.RpcError) and hasattr(error, "code") and error.code() in REFUSED_CODES:
            return f"{error.code().name}: {error.details() if hasattr(error, 'details') else ''}"
        return None

    def backoff(self, attempt: int) -> float | None:
        """Seconds before reconnecting, or None when the policy says stop."""
        return self._reconnect.backoff(attempt) if self._reconnect.allows(attempt) else None


class SyncWaiter:
    """A blocking waiter for one transaction's outcome."""

    __slots__ = ("_event", "_listener", "outcome", "registered", "transaction_id")

    def __init__(self, transaction_id: str, listener: CommitListener) -> None:
        self.transaction_id = transaction_id
        self._event = threading.Event()
        self.outcome: Status | Fallback | None = None
        self._listener = listener
        self.registered = 0.0

    def wait(self, timeout: float | None) -> Status | Fallback | None:
        """The outcome, or None when ``timeout`` passed (the waiter is then forgotten)."""
        if not self._event.wait(timeout):
            self._listener.forget(self)
        return self.outcome

    def cancel(self) -> None:
        self._listener.forget(self)


class CommitListener(ListenerCore[GatewayClient]):
    """Blocking listener: a daemon thread reads the channel's filtered blocks."""

    def __init__(
        self,
        client: GatewayClient,
        signing_identity: SigningIdentity,
        channel_name: str,
        reconnect: ReconnectPolicy,
    ) -> None:
        super().__init__(client, signing_identity, channel_name, reconnect)
        self._lock = threading.Lock()
        self._live_event = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def settle(self, waiter: SyncWaiter, outcome: Status | Fallback) -> None:
        waiter.outcome = outcome
        waiter._event.set()

    def register(self, transaction_id: str) -> SyncWaiter | None:
        """A waiter for a transaction about to be submitted, or None to use the CommitStatus call."""
        if not self.usable:
            return None
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"fabric-commit-listener-{self.channel_name}", daemon=True
                )
                self._thread.start()
        if not self.ever_live:
            self._live_event.wait(READY_TIMEOUT)
        with self._lock:
            if not self.live:
                return None
            waiter = SyncWaiter(transaction_id, self)
            self.add(transaction_id, waiter)
            return waiter

    def forget(self, waiter: SyncWaiter) -> None:
        with self._lock:
            self.remove(waiter.transaction_id, waiter)

    def _run(self) -> None:
        attempt = 0
        while not self.closed:
            reason = "stream ended"
            try:
                for response in self.open_stream():
                    block = _filtered_block(response)
                    with self._lock:
                        self.on_block(block)
                        self._live_event.set()
                    attempt = 0
            except ValueError as exc:  # the grpc channel was closed under us
                reason, self.closed = f"channel closed: {exc}", True
            except Exception as exc:
                refused = self.classify(exc)
                if refused is not None:
                    with self._lock:
                        self.refuse(refused)
                    return
                reason = f"{type(exc).__name__}: {exc}"
            attempt += 1
            with self._lock:
                self._live_event.clear()
                delay = self.lost(reason, attempt)
            if delay is None or self._stop.wait(delay):
                return

    def close(self) -> None:
        self.closed = True
        self._stop.set()
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        with self._lock:
            self.down("closed")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class AsyncWaiter:
    """An asyncio waiter for one transaction's outcome."""

    __slots__ = ("_listener", "future", "registered", "transaction_id")

    def __init__(self, transaction_id: str, listener: AsyncCommitListener) -> None:
        self.transaction_id = transaction_id
        self.future: asyncio.Future[Status | Fallback] = asyncio.get_running_loop().create_future()
        self._listener = listener
        self.registered = 0.0

    async def wait(self, timeout: float | None) -> Status | Fallback | None:
        """The outcome, or None when ``timeout`` passed (the waiter is then forgotten)."""
        try:
            return await asyncio.wait_for(self.future, timeout)
        except TimeoutError:
            self._listener.remove(self.transaction_id, self)
            return None

    def cancel(self) -> None:
        self._listener.remove(self.transaction_id, self)


class AsyncCommitListener(ListenerCore[AsyncGatewayClient]):
    """asyncio listener: a task on the gateway's event loop reads the channel's filtered blocks."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        channel_name: str,
        reconnect: ReconnectPolicy,
    ) -> None:
        super().__init__(client, signing_identity, channel_name, reconnect)
        self._task: asyncio.Task[None] | None = None
        self._live_event: asyncio.Event | None = None

    def settle(self, waiter: AsyncWaiter, outcome: Status | Fallback) -> None:
        if not waiter.future.done():
            waiter.future.set_result(outcome)

    async def register(self, transaction_id: str) -> AsyncWaiter | None:
        """A waiter for a transaction about to be submitted, or None to use the CommitStatus call."""
        if not self.usable:
            return None
        if self._task is None:
            self._live_event = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"fabric-commit-listener-{self.channel_name}"
            )
        if not self.ever_live and self._live_event is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._live_event.wait(), READY_TIMEOUT)
        if not self.live:
            return None
        waiter = AsyncWaiter(transaction_id, self)
        self.add(transaction_id, waiter)
        return waiter

    async def _run(self) -> None:
        assert self._live_event is not None
        attempt = 0
        while not self.closed:
            reason = "stream ended"
            try:
                call = self.open_stream()
                while True:
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        break
                    self.on_block(_filtered_block(response))
                    self._live_event.set()
                    attempt = 0
            except asyncio.CancelledError:
                self.down("closed")
                raise
            except Exception as exc:
                if isinstance(exc, grpc.aio.UsageError):  # the grpc channel was closed under us
                    self.closed = True
                refused = self.classify(exc)
                if refused is not None:
                    self.refuse(refused)
                    return
                reason = f"{type(exc).__name__}: {exc}"
            attempt += 1
            self._live_event.clear()
            delay = self.lost(reason, attempt)
            if delay is None:
                return
            if not self.closed:
                await asyncio.sleep(delay)

    async def close(self) -> None:
        self.closed = True
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.down("closed")


L = TypeVar("L", bound=CommitListener | AsyncCommitListener)


class CommitListeners(Generic[L]):
    """A gateway's listeners (all blocking or all asyncio), one per channel, made on its first submit.

    Not part of the transport: a gateway (or several sharing one grpc channel) holds them, and the
    transactions it makes register their waiters here.
    """

    def __init__(self, channel: Any, new_listener: Callable[[str], L]) -> None:
        self.channel = channel  # the grpc channel the streams run on
        self._new_listener = new_listener
        self._listeners: dict[str, L] = {}
        self._lock = threading.Lock()

    def listener(self, channel_name: str) -> L:
        """The listener of a channel, created (idle) on first use."""
        with self._lock:
            listener = self._listeners.get(channel_name)
            if listener is None:
                listener = self._listeners[channel_name] = self._new_listener(channel_name)
            return listener

    def state(self, channel_name: str) -> str:
        """``idle`` (no submit yet), ``live``, ``reconnecting``, ``disabled: <why>`` or ``closed``."""
        listener = self._listeners.get(channel_name)
        if listener is None:
            return "idle"
        if listener.disabled_reason:
            return f"disabled: {listener.disabled_reason}"
        if listener.closed:
            return "closed"
        return "live" if listener.live else "reconnecting"

    def close(self: CommitListeners[CommitListener]) -> None:
        """Stop blocking listeners (their threads are joined)."""
        for listener in list(self._listeners.values()):
            listener.close()

    async def aclose(self: CommitListeners[AsyncCommitListener]) -> None:
        """Stop asyncio listeners (their tasks are awaited)."""
        for listener in list(self._listeners.values()):
            await listener.close()
