"""The chaincode side of one peer connection (one ``Chaincode.Connect`` stream).

Protocol, as fabric-chaincode-go's shim: we send REGISTER (ChaincodeID.name = package ID), the peer
answers REGISTERED then READY; afterwards it sends TRANSACTION / INIT messages, each answered by
COMPLETED (the peer.Response and the chaincode event) or ERROR. While a transaction runs, its stub
sends requests (GET_STATE, PUT_STATE, ...) tagged with the transaction's channel and tx id; the peer
answers each with RESPONSE or ERROR carrying the same ids.

Concurrency: many transactions are in flight on one stream (the peer does not wait for COMPLETED before
sending the next TRANSACTION). Each runs on a worker thread; replies are routed by (channel id, tx id)
to the single request that transaction has outstanding; every outgoing message goes through one queue
drained by the one gRPC writer, so nothing is interleaved, lost or crossed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout

from fabric_protos.peer import chaincode_pb2, proposal_response_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim

from .dispatch import ContractRouter
from .errors import PeerError
from .proposal import facts_from_signed_proposal

logger = logging.getLogger(__name__)

Msg = shim.ChaincodeMessage
REGISTER_WARNING_SECONDS = 15.0


def _type_name(t: int) -> str:
    try:
        return Msg.Type.Name(t)  # type: ignore[arg-type]
    except ValueError:
        return str(t)


class StreamClosed(PeerError):
    """The stream to the peer ended while a request was waiting for its answer."""

    def __init__(self, request: str) -> None:
        super().__init__(request, "connection to the peer closed")


class Handler:
    """Serves one stream: registration, transaction dispatch and reply routing."""

    def __init__(
        self,
        router: ContractRouter,
        chaincode_id: str,
        executor: Executor,
        *,
        request_timeout: float = 300.0,
        peer: str = "peer",
    ) -> None:
        self.router = router
        self.chaincode_id = chaincode_id
        self.executor = executor
        self.request_timeout = request_timeout
        self.peer = peer
        self.state = "created"
        self._out: queue.Queue[Msg | None] = queue.Queue()
        self._put: Callable[[Msg | None], None] = self._out.put  # the transport's enqueue (thread-safe)
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], Future[Msg]] = {}
        self._running: set[tuple[str, str]] = set()
        self._closed = False
        self.registered = threading.Event()
        self.ready = threading.Event()

    # --- the stream ---------------------------------------------------------------------
    def outgoing(self) -> Iterator[Msg]:
        """The messages to send, in order: REGISTER first, then whatever is queued, until closed."""
        yield self.register_message()
        while True:
            msg = self._out.get()
            if msg is None:
                return
            yield msg

    def register_message(self) -> Msg:
        return Msg(
            type=Msg.REGISTER, payload=chaincode_pb2.ChaincodeID(name=self.chaincode_id).SerializeToString()
        )

    def start_register_timer(self) -> threading.Timer:
        timer = threading.Timer(REGISTER_WARNING_SECONDS, self._warn_not_registered)
        timer.daemon = True
        timer.start()
        return timer

    def handle(self, msg: Msg) -> None:
        """Process one message from the peer (never blocks: transactions go to the executor)."""
        self._handle(msg)

    def consume(self, incoming: Iterable[Msg]) -> None:
        """Read the peer's messages until the stream ends (run on its own thread)."""
        timer = self.start_register_timer()
        try:
            for msg in incoming:
                self._handle(msg)
        except Exception as exc:  # grpc.RpcError when the peer goes away
            logger.info("stream from %s ended: %s", self.peer, type(exc).__name__)
        finally:
            timer.cancel()
            self.close()

    def close(self) -> None:
        """Fail every waiting request and stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = list(self._pending.items())
            self._pending.clear()
        for (_, _), fut in pending:
            if not fut.done():
                fut.set_exception(StreamClosed("request"))
        self._put(None)

    def send(self, msg: Msg) -> None:
        if self._closed:
            raise StreamClosed(_type_name(msg.type))
        self._put(msg)

    def _warn_not_registered(self) -> None:
        if not self.registered.is_set() and not self._closed:
            logger.error(
                "peer %s has not answered REGISTER after %.0fs: is --chaincode-id %r exactly the package ID "
                "installed on the peer (label:sha256)? A peer silently ignores an unknown package ID.",
                self.peer,
                REGISTER_WARNING_SECONDS,
                self.chaincode_id,
            )

    # --- incoming -----------------------------------------------------------------------
    def _handle(self, msg: Msg) -> None:
        t = msg.type
        if t == Msg.KEEPALIVE:
            with contextlib.suppress(StreamClosed):
                self.send(msg)  # echoed, as the Go shim does
            return
        if self.state == "created" and t == Msg.REGISTERED:
            self.state = "established"
            self.registered.set()
            logger.info("registered with %s as %s", self.peer, self.chaincode_id)
        elif self.state == "established" and t == Msg.READY:
            self.state = "ready"
            self.ready.set()
        elif self.state == "ready" and t in (Msg.RESPONSE, Msg.ERROR):
            self._route_reply(msg)
        elif self.state == "ready" and t in (Msg.TRANSACTION, Msg.INIT):
            self._start_transaction(msg)
        else:
            # like the Go shim: answer ERROR and end the stream (the peer reconnects)
            text = (
                f"[{msg.txid[:8]}] Chaincode handler cannot handle message ({_type_name(t)}) "
                f"while in state: {self.state}"
            )
            logger.error("%s (peer %s)", text, self.peer)
            self._send_error(msg, text)
            self.close()

    def _route_reply(self, msg: Msg) -> None:
        with self._lock:
            fut = self._pending.pop((msg.channel_id, msg.txid), None)
        if fut is None:
            logger.warning(
                "reply %s for unknown tx %s on %s", _type_name(msg.type), msg.txid[:8], msg.channel_id
            )
            return
        fut.set_result(msg)

    def _start_transaction(self, msg: Msg) -> None:
        key = (msg.channel_id, msg.txid)
        with self._lock:
            duplicate = key in self._running
            if not duplicate:
                self._running.add(key)
        if duplicate:
            self._send_error(
                msg, f"[{msg.txid[:8]}] transaction already in progress on channel {msg.channel_id}"
            )
            return
        try:
            self.executor.submit(self._run_transaction, msg)
        except RuntimeError:  # executor shut down
            with self._lock:
                self._running.discard(key)
            self._send_error(msg, "chaincode server is shutting down")

    def _send_error(self, msg: Msg, text: str) -> None:
        with contextlib.suppress(StreamClosed):
            self.send(Msg(type=Msg.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id))

    def _run_transaction(self, msg: Msg) -> None:
        from .peerstub import PeerStub  # local: peerstub imports this module

        try:
            reply = self._execute(msg, PeerStub)
        except Exception:
            logger.exception("tx %s: internal error", msg.txid[:8])
            reply = Msg(
                type=Msg.ERROR,
                payload=b"internal chaincode runtime error",
                txid=msg.txid,
                channel_id=msg.channel_id,
            )
        with self._lock:  # done before replying: the peer may reuse the tx id as soon as it has the reply
            self._running.discard((msg.channel_id, msg.txid))
        try:
            self.send(reply)
        except StreamClosed:
            logger.info("tx %s: stream closed before the reply", msg.txid[:8])

    def _execute(self, msg: Msg, stub_class: type) -> Msg:
        """Run one TRANSACTION/INIT and build the COMPLETED (or ERROR) reply."""
        try:
            tx_input = chaincode_pb2.ChaincodeInput.FromString(msg.payload)
            facts = facts_from_signed_proposal(
                msg.txid,
                msg.channel_id,
                list(tx_input.args),
                msg.proposal if msg.HasField("proposal") else None,
                dict(tx_input.decorations),
            )
        except Exception as exc:  # ProposalError, protobuf DecodeError
            text = f"failed to create new ChaincodeStub: {exc}"
            return Msg(type=Msg.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id)
        stub = stub_class(facts, self)
        response = self.router.invoke(stub)
        if msg.type == Msg.INIT and response.status >= 400:
            reply = Msg(
                type=Msg.ERROR, payload=response.message.encode(), txid=msg.txid, channel_id=msg.channel_id
            )
        else:
            payload = proposal_response_pb2.Response(
                status=response.status, message=response.message, payload=response.payload
            ).SerializeToString()
            reply = Msg(type=Msg.COMPLETED, payload=payload, txid=msg.txid, channel_id=msg.channel_id)
        if stub.event is not None:
            reply.chaincode_event.event_name = stub.event.name
            reply.chaincode_event.payload = stub.event.payload
        return reply

    # --- requests from a stub -----------------------------------------------------------
    def call(self, msg: Msg) -> Msg:
        """Send one stub request and wait for the peer's RESPONSE or ERROR for the same tx."""
        key = (msg.channel_id, msg.txid)
        fut: Future[Msg] = Future()
        with self._lock:
            if self._closed:
                raise StreamClosed(_type_name(msg.type))
            if key in self._pending:
                raise PeerError(
                    _type_name(msg.type), f"[{msg.txid[:8]}] a request is already outstanding for this tx"
                )
            self._pending[key] = fut
        try:
            self.send(msg)
            return fut.result(timeout=self.request_timeout)
        except FutureTimeout as exc:
            raise PeerError(
                _type_name(msg.type), f"no answer from the peer within {self.request_timeout}s"
            ) from exc
        finally:
            with self._lock:
                if self._pending.get(key) is fut:
                    del self._pending[key]
