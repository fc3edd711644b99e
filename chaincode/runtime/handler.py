"""The chaincode side of one peer connection (one ``Chaincode.Connect`` stream).

Protocol, as fabric-chaincode-go's shim: we send REGISTER (ChaincodeID.name = package ID), the peer
answers REGISTERED then READY (a Fabric 3.x peer puts ``ChaincodeAdditionalParams`` in READY's payload
to offer WRITE_BATCH_STATE and GET_STATE_MULTIPLE); afterwards it sends TRANSACTION / INIT messages,
each answered by COMPLETED (the peer.Response and the chaincode event) or ERROR. While a transaction
runs, its stub sends requests (GET_STATE, PUT_STATE, ...) tagged with the transaction's channel and tx
id; the peer answers each with RESPONSE or ERROR carrying the same ids.

Where a transaction runs: on the stream's own coroutine, with no hand-off. Each transaction is a
greenlet started by the message that brought it; when its stub sends a request the greenlet switches
back to the stream's read loop, which writes the request and reads on; the peer's reply switches back
into that greenlet. Many transactions are in flight on one stream, replies may come in any order (they
are routed by (channel id, tx id)), and nothing crosses a thread or a Future on this path. A contract
function marked ``blocking=True`` (CPU-heavy code) runs on a thread of a small pool instead, so it never
stalls the others; its requests and reply are posted to the loop thread-safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeAlias

from fabric_protos.peer import chaincode_pb2, proposal_response_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from greenlet import getcurrent, greenlet

from .dispatch import ContractRouter
from .errors import PeerError
from .interfaces import ChaincodeResponse
from .proposal import PeerTxFacts

logger = logging.getLogger(__name__)

Msg: TypeAlias = shim.ChaincodeMessage  # protobuf messages are typed Any
REGISTER_WARNING_SECONDS = 15.0
SWEEP_SECONDS = 5.0
_KEEPALIVE = Msg.KEEPALIVE
_RESPONSE = Msg.RESPONSE
_ERROR = Msg.ERROR
_TRANSACTION = Msg.TRANSACTION
_INIT = Msg.INIT
_COMPLETED = Msg.COMPLETED


def _type_name(t: int) -> str:
    try:
        return str(Msg.Type.Name(t))
    except ValueError:
        return str(t)


class StreamClosed(PeerError):
    """The stream to the peer ended while a request was waiting for its answer."""

    def __init__(self, request: str) -> None:
        super().__init__(request, "connection to the peer closed")


class PeerFeatures:
    """What the peer offered in READY (Fabric 3.x ``ChaincodeAdditionalParams``), with the shim's floors."""

    __slots__ = ("get_multiple", "max_get_multiple", "max_write_batch", "write_batch")

    def __init__(self, payload: bytes = b"") -> None:
        self.write_batch = False
        self.max_write_batch = 0
        self.get_multiple = False
        self.max_get_multiple = 0
        if not payload:
            return
        try:
            params = chaincode_pb2.ChaincodeAdditionalParams.FromString(payload)
        except Exception:  # as the Go shim: an unreadable payload means no extras
            return
        self.write_batch = params.use_write_batch
        self.max_write_batch = max(params.max_size_write_batch, 100) if self.write_batch else 0
        self.get_multiple = params.use_get_multiple_keys
        self.max_get_multiple = max(params.max_size_get_multiple_keys, 100) if self.get_multiple else 0


class _Waiting:
    """A request a transaction has outstanding: who waits (a greenlet or a Future) and since when."""

    __slots__ = ("future", "glet", "request", "since")

    def __init__(self, glet: greenlet | None, future: Future[Msg] | None, request: int) -> None:
        self.glet = glet
        self.future = future
        self.request = request
        self.since = time.monotonic()


class Handler:
    """Serves one stream: registration, transaction dispatch and reply routing (one event loop)."""

    def __init__(
        self,
        router: ContractRouter,
        chaincode_id: str,
        *,
        write: Callable[[Msg], Awaitable[None]],
        loop: asyncio.AbstractEventLoop,
        blocking_executor: Executor | None = None,
        request_timeout: float = 300.0,
        peer: str = "peer",
    ) -> None:
        self.router = router
        self.chaincode_id = chaincode_id
        self.peer = peer
        self.request_timeout = request_timeout
        self.state = "created"
        self.features = PeerFeatures()
        self._write = write
        self._loop = loop
        self._blocking = blocking_executor
        self._out: list[Msg] = []  # produced while handling one incoming message, written after it
        self._waiting: dict[tuple[str, str], _Waiting] = {}
        self._running: set[tuple[str, str]] = set()
        self._closed = False
        self._write_lock = asyncio.Lock()
        self.registered = asyncio.Event()
        self.ready = asyncio.Event()
        self._timers: list[asyncio.TimerHandle] = []
        self.ending = False
        self.stopping = False  # the server is stopping: new transactions are refused

    # --- the stream ---------------------------------------------------------------------
    def register_message(self) -> Msg:
        return Msg(
            type=Msg.REGISTER, payload=chaincode_pb2.ChaincodeID(name=self.chaincode_id).SerializeToString()
        )

    async def start(self) -> None:
        """Send REGISTER and arm the not-registered warning and the stale-request sweep."""
        await self._send_now(self.register_message())
        self._timers.append(self._loop.call_later(REGISTER_WARNING_SECONDS, self._warn_not_registered))
        self._timers.append(self._loop.call_later(SWEEP_SECONDS, self._sweep))

    async def on_message(self, msg: Msg) -> None:
        """Handle one message from the peer, then write whatever it produced (in order)."""
        self._handle(msg)
        if self._out:
            await self.flush()

    async def flush(self) -> None:
        out, self._out = self._out, []
        async with self._write_lock:
            for m in out:
                await self._write(m)

    async def _send_now(self, msg: Msg) -> None:
        async with self._write_lock:
            await self._write(msg)

    def close(self) -> None:
        """Fail every waiting request (the contract sees StreamClosed); nothing more is written."""
        if self._closed:
            return
        self._closed = True
        for t in self._timers:
            t.cancel()
        waiting = list(self._waiting.values())
        self._waiting.clear()
        for w in waiting:
            if w.future is not None:
                if not w.future.done():
                    w.future.set_exception(StreamClosed(_type_name(w.request)))
            elif w.glet is not None and not w.glet.dead:
                try:
                    w.glet.throw(StreamClosed(_type_name(w.request)))
                except Exception:  # pragma: no cover - the transaction's own failure, nobody to tell
                    logger.debug("transaction failed while the stream closed", exc_info=True)
        self._out.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def busy(self) -> bool:
        """Whether a transaction of this stream is still running."""
        return bool(self._running)

    def _warn_not_registered(self) -> None:
        if not self.registered.is_set() and not self._closed:
            logger.error(
                "peer %s has not answered REGISTER after %.0fs: is --chaincode-id %r exactly the package ID "
                "installed on the peer (label:sha256)? A peer silently ignores an unknown package ID.",
                self.peer,
                REGISTER_WARNING_SECONDS,
                self.chaincode_id,
            )

    def _sweep(self) -> None:
        """Fail requests the peer has not answered within ``request_timeout`` (one timer per stream)."""
        if self._closed:
            return
        limit = time.monotonic() - self.request_timeout
        for key, w in list(self._waiting.items()):
            if w.since < limit:
                del self._waiting[key]
                error = PeerError(
                    _type_name(w.request), f"no answer from the peer within {self.request_timeout}s"
                )
                if w.future is not None:
                    w.future.set_exception(error)
                elif w.glet is not None:
                    self._resume(w.glet, error, throw=True)
        if self._out:
            self._loop.create_task(self.flush())
        # [register warning, sweep]: the next sweep replaces the one that just ran (no growing list)
        self._timers[-1] = self._loop.call_later(min(SWEEP_SECONDS, self.request_timeout), self._sweep)

    # --- incoming -----------------------------------------------------------------------
    def _handle(self, msg: Msg) -> None:
        t = msg.type
        state = self.state
        if state == "ready":
            if t in (_RESPONSE, _ERROR):
                self._route_reply(msg)
                return
            if t in (_TRANSACTION, _INIT):
                self._start_transaction(msg)
                return
        if t == _KEEPALIVE:
            self._out.append(msg)  # echoed, as the Go shim does
            return
        if state == "created" and t == Msg.REGISTERED:
            self.state = "established"
            self.registered.set()
            logger.info("registered with %s as %s", self.peer, self.chaincode_id)
        elif state == "established" and t == Msg.READY:
            self.state = "ready"
            self.features = PeerFeatures(msg.payload)
            self.ready.set()
            if self.features.write_batch or self.features.get_multiple:
                logger.info(
                    "peer %s offers write batches (%s, max %d) and multi-key reads (%s, max %d)",
                    self.peer,
                    self.features.write_batch,
                    self.features.max_write_batch,
                    self.features.get_multiple,
                    self.features.max_get_multiple,
                )
        else:
            # like the Go shim: answer ERROR and end the stream (the peer reconnects)
            text = (
                f"[{msg.txid[:8]}] Chaincode handler cannot handle message ({_type_name(t)}) "
                f"while in state: {self.state}"
            )
            logger.error("%s (peer %s)", text, self.peer)
            self._error(msg, text)
            self.ending = True  # the server ends the stream once this ERROR is written

    def _route_reply(self, msg: Msg) -> None:
        w = self._waiting.pop((msg.channel_id, msg.txid), None)
        if w is None:
            logger.warning(
                "reply %s for unknown tx %s on %s", _type_name(msg.type), msg.txid[:8], msg.channel_id
            )
            return
        if w.future is not None:
            w.future.set_result(msg)
        else:
            self._resume(w.glet, msg)

    def _error(self, msg: Msg, text: str) -> None:
        self._out.append(Msg(type=_ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id))

    def _start_transaction(self, msg: Msg) -> None:
        key = (msg.channel_id, msg.txid)
        if key in self._running:
            self._error(msg, f"[{msg.txid[:8]}] transaction already in progress on channel {msg.channel_id}")
            return
        if self.stopping:
            self._error(msg, "chaincode server is shutting down")
            return
        try:
            facts = PeerTxFacts(msg)
        except Exception as exc:  # protobuf DecodeError of the ChaincodeInput
            self._error(msg, f"failed to create new ChaincodeStub: {exc}")
            return
        self._running.add(key)
        if self._blocking is not None and self.router.is_blocking(facts.args):
            try:
                self._blocking.submit(self._run_on_thread, msg, facts)
            except RuntimeError:  # executor shut down
                self._running.discard(key)
                self._error(msg, "chaincode server is shutting down")
            return
        glet = greenlet(self._run_transaction)
        self._resume(glet, (msg, facts))

    def _resume(self, glet: greenlet, value: Any, *, throw: bool = False) -> None:
        """Switch into a transaction until it sends a request (queued) or finishes (its reply queued)."""
        out = glet.throw(value) if throw else glet.switch(value)
        if out is not None:
            self._out.append(out)

    # --- a transaction ------------------------------------------------------------------
    def _run_transaction(self, start: tuple[Msg, PeerTxFacts]) -> Msg | None:
        """Body of a transaction's greenlet: returns its COMPLETED/ERROR (switched out at each request)."""
        from .peerstub import PeerStub  # local: peerstub imports this module

        msg, facts = start
        try:
            reply = self._execute(msg, PeerStub(facts, self, self._greenlet_call))
        except StreamClosed:
            reply = None
        except Exception:
            logger.exception("tx %s: internal error", msg.txid[:8])
            reply = Msg(
                type=_ERROR,
                payload=b"internal chaincode runtime error",
                txid=msg.txid,
                channel_id=msg.channel_id,
            )
        # done before replying: the peer may reuse the tx id as soon as it has the reply
        self._running.discard((msg.channel_id, msg.txid))
        return None if self._closed else reply

    def _run_on_thread(self, msg: Msg, facts: PeerTxFacts) -> None:
        from .peerstub import PeerStub

        try:
            reply: Msg | None = self._execute(msg, PeerStub(facts, self, self._thread_call))
        except StreamClosed:
            reply = None
        except Exception:
            logger.exception("tx %s: internal error", msg.txid[:8])
            reply = Msg(
                type=_ERROR,
                payload=b"internal chaincode runtime error",
                txid=msg.txid,
                channel_id=msg.channel_id,
            )
        key = (msg.channel_id, msg.txid)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody left to answer
            self._loop.call_soon_threadsafe(self._finish_threaded, key, reply)

    def _finish_threaded(self, key: tuple[str, str], reply: Msg | None) -> None:
        self._running.discard(key)
        if reply is not None and not self._closed:
            self._out.append(reply)
            self._loop.create_task(self.flush())

    def _execute(self, msg: Msg, stub: Any) -> Msg:
        """Run one TRANSACTION/INIT and build the COMPLETED (or ERROR) reply."""
        response = self.router.invoke(stub)
        if response.status < 400:
            try:
                stub.flush_writes()  # the write batch (Fabric 3.x), if the peer offered batching
            except PeerError as exc:
                logger.warning("peer refused the write batch of tx=%s", msg.txid[:8])
                response = ChaincodeResponse(500, str(exc))
        if response.status >= 400 and msg.type == _INIT:
            return Msg(
                type=_ERROR, payload=response.message.encode(), txid=msg.txid, channel_id=msg.channel_id
            )
        payload = proposal_response_pb2.Response(
            status=response.status, message=response.message, payload=response.payload
        ).SerializeToString()
        reply = Msg(type=_COMPLETED, payload=payload, txid=msg.txid, channel_id=msg.channel_id)
        event = stub.event
        if event is not None:
            reply.chaincode_event.event_name = event.name
            reply.chaincode_event.payload = event.payload
        return reply

    # --- requests from a stub -----------------------------------------------------------
    def _greenlet_call(self, msg: Msg) -> Msg:
        """Send one stub request from a transaction's greenlet and switch out until its answer comes."""
        key = (msg.channel_id, msg.txid)
        if self._closed:
            raise StreamClosed(_type_name(msg.type))
        if key in self._waiting:
            raise PeerError(
                _type_name(msg.type), f"[{msg.txid[:8]}] a request is already outstanding for this tx"
            )
        glet = getcurrent()
        self._waiting[key] = _Waiting(glet, None, msg.type)
        reply: Msg = glet.parent.switch(msg)  # back to the read loop; resumed with the peer's reply
        return reply

    def _thread_call(self, msg: Msg) -> Msg:
        """Send one stub request from a blocking transaction's thread and wait for the answer."""
        fut: Future[Msg] = Future()
        key = (msg.channel_id, msg.txid)

        def post() -> None:
            if self._closed:
                fut.set_exception(StreamClosed(_type_name(msg.type)))
                return
            if key in self._waiting:
                fut.set_exception(
                    PeerError(_type_name(msg.type), f"[{msg.txid[:8]}] a request is already outstanding")
                )
                return
            self._waiting[key] = _Waiting(None, fut, msg.type)
            self._out.append(msg)
            self._loop.create_task(self.flush())

        try:
            self._loop.call_soon_threadsafe(post)
        except RuntimeError as exc:  # loop closed
            raise StreamClosed(_type_name(msg.type)) from exc
        try:
            return fut.result(timeout=self.request_timeout + SWEEP_SECONDS)
        except FutureTimeout as exc:
            raise PeerError(
                _type_name(msg.type), f"no answer from the peer within {self.request_timeout}s"
            ) from exc
