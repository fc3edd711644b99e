"""A fake peer for tests and benchmarks: dials a chaincode server and speaks the real protocol over gRPC.

It answers REGISTER with REGISTERED and READY, sends TRANSACTION messages carrying real signed
proposals, and serves the stub's requests the way a peer's handler does: each transaction gets a
simulator (the in-process host's stub over a :class:`MemoryLedger` snapshot), query results go back in
batches of ``batch_size`` with QUERY_STATE_NEXT / QUERY_STATE_CLOSE, refused requests come back as
ERROR. On COMPLETED it can commit the recorded read/write set to the ledger (``commit=True``), so the
peer path and the in-process path can be compared on the same ledger.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from .errors import PeerError, StubUsageError
from .inprocess import InProcessStub, SimulationResult, _RangeCursor, _Simulation
from .interfaces import ChaincodeEvent, ChaincodeResponse, KeyValue
from .proposal import TxFacts
from .stubbase import VALIDATION_PARAMETER
from .testing import MemoryLedger, TestIdentity

logger = logging.getLogger(__name__)
Msg: TypeAlias = shim.ChaincodeMessage  # protobuf messages are typed Any


def build_signed_proposal(
    tx_id: str,
    channel_id: str,
    chaincode: str,
    args: list[bytes],
    creator: bytes,
    timestamp: datetime,
    transient: Mapping[str, bytes] | None = None,
    nonce: bytes | None = None,
) -> proposal_pb2.SignedProposal:
    """A SignedProposal shaped like a client's (the signature is a placeholder: not checked here)."""
    ts = Timestamp()
    ts.FromDatetime(timestamp.astimezone(UTC).replace(tzinfo=None))
    chdr = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel_id, tx_id=tx_id, timestamp=ts, epoch=0
    )
    shdr = common_pb2.SignatureHeader(creator=creator, nonce=nonce or os.urandom(24))
    spec = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
            input=chaincode_pb2.ChaincodeInput(args=args),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=spec.SerializeToString(), TransientMap=dict(transient or {})
    )
    prop = proposal_pb2.Proposal(
        header=common_pb2.Header(
            channel_header=chdr.SerializeToString(), signature_header=shdr.SerializeToString()
        ).SerializeToString(),
        payload=payload.SerializeToString(),
    )
    return proposal_pb2.SignedProposal(proposal_bytes=prop.SerializeToString(), signature=b"not-checked")


@dataclass
class PeerTxResult:
    """What the fake peer got back for one transaction."""

    tx_id: str
    kind: str  # "COMPLETED" or "ERROR"
    response: ChaincodeResponse
    event: ChaincodeEvent | None
    simulation: SimulationResult | None
    requests: list[str]


@dataclass
class _Tx:
    facts: TxFacts
    sim: _Simulation
    stub: InProcessStub
    future: Future[PeerTxResult]
    requests: list[str]
    iterators: dict[str, tuple[list[bytes], int]]
    cursors: dict[str, _RangeCursor]


class FakePeer:
    """Dial ``address``, register the chaincode and run transactions against ``ledger``."""

    def __init__(
        self,
        address: str,
        ledger: MemoryLedger,
        *,
        channel_id: str = "vehicles",
        batch_size: int = 3,
        expected_chaincode_id: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        commit: bool = True,
        features: chaincode_pb2.ChaincodeAdditionalParams | None = None,
    ) -> None:
        self.ledger = ledger
        self.features = (
            features  # offered in READY as a Fabric 3.x peer does (write batches, multi-key reads)
        )
        self.channel_id = channel_id
        self.batch_size = batch_size
        self.expected_chaincode_id = expected_chaincode_id
        self.commit = commit
        self.fail_requests: dict[str, str] = {}  # message type name → error text (error injection)
        self.registered_id: str | None = None
        self._held: list[Msg] | None = None  # replies held back by hold()
        self.unrouted: list[Msg] = []  # messages for no transaction of ours (KEEPALIVE echoes, stream errors)
        self.closed = threading.Event()  # set when the chaincode ended the stream
        self.ready = threading.Event()
        self._out: queue.Queue[Msg | None] = queue.Queue()
        self._txs: dict[tuple[str, str], _Tx] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # a connection of its own, as a separate peer has (grpc would otherwise share one between channels)
        options = [("grpc.use_local_subchannel_pool", 1)]
        self._channel = (
            grpc.secure_channel(address, credentials, options)
            if credentials
            else grpc.insecure_channel(address, options)
        )
        self._call = shim_grpc.ChaincodeStub(self._channel).Connect(self._outgoing())
        self._reader = threading.Thread(target=self._read, name="fakepeer-reader", daemon=True)
        self._reader.start()

    # --- stream -------------------------------------------------------------------------
    def _outgoing(self) -> Iterator[Msg]:
        while True:
            msg = self._out.get()
            if msg is None:
                return
            yield msg

    def _read(self) -> None:
        try:
            for msg in self._call:
                self._on_message(msg)
        except grpc.RpcError as exc:
            logger.debug("fake peer stream ended: %s", exc.code())
        finally:
            self.closed.set()
            with self._lock:
                txs = list(self._txs.values())
                self._txs.clear()
            for tx in txs:
                if not tx.future.done():
                    tx.future.set_exception(ConnectionError("chaincode stream closed"))

    def close(self) -> None:
        self._out.put(None)
        self._call.cancel()
        self._channel.close()

    def __enter__(self) -> FakePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_ready(self, timeout: float = 10.0) -> None:
        if not self.ready.wait(timeout):
            raise TimeoutError("chaincode did not register")

    # --- transactions -------------------------------------------------------------------
    def submit(
        self,
        identity: TestIdentity,
        function: str,
        *args: str | bytes,
        transient: Mapping[str, bytes] | None = None,
        tx_id: str | None = None,
        init: bool = False,
    ) -> Future[PeerTxResult]:
        """Send one TRANSACTION (or INIT); the future resolves on COMPLETED or ERROR."""
        self.wait_ready()
        tx_id = tx_id or uuid.uuid4().hex + uuid.uuid4().hex
        raw = [function.encode()] + [a if isinstance(a, bytes) else a.encode("utf-8") for a in args]
        ts = datetime.now(UTC)
        sp = build_signed_proposal(
            tx_id, self.channel_id, self.ledger.host.name, raw, identity.creator, ts, transient
        )
        facts = TxFacts(tx_id, self.channel_id, raw, identity.creator, ts, dict(transient or {}))
        sim = _Simulation(self.ledger.snapshot(identity.msp_id))
        stub = InProcessStub(facts, self.ledger.host.name, sim, self.ledger.host)
        stub.range_batch_size = self.batch_size
        fut: Future[PeerTxResult] = Future()
        with self._lock:
            self._txs[(self.channel_id, tx_id)] = _Tx(facts, sim, stub, fut, [], {}, {})
        msg = Msg(
            type=Msg.INIT if init else Msg.TRANSACTION,
            payload=chaincode_pb2.ChaincodeInput(args=raw, is_init=init).SerializeToString(),
            txid=tx_id,
            channel_id=self.channel_id,
            proposal=sp,
        )
        self._out.put(msg)
        return fut

    def invoke(self, identity: TestIdentity, function: str, *args: str | bytes, **kw: Any) -> PeerTxResult:
        return self.submit(identity, function, *args, **kw).result(timeout=30)

    def hold(self) -> None:
        """Hold back replies to stub requests (transactions stay in flight) until release()."""
        with self._lock:
            self._held = []

    def release(self, *, reverse: bool = False) -> None:
        """Send the held replies, in order or (``reverse``) last first: replies may come in any order."""
        with self._lock:
            held, self._held = self._held or [], None
        for msg in reversed(held) if reverse else held:
            self._out.put(msg)

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held or [])

    def send_raw(self, msg: Msg) -> None:
        """Put any message on the stream (protocol tests)."""
        self._out.put(msg)

    # --- incoming -----------------------------------------------------------------------
    def _on_message(self, msg: Msg) -> None:
        if msg.type == Msg.REGISTER:
            cid = chaincode_pb2.ChaincodeID.FromString(msg.payload)
            self.registered_id = cid.name
            if self.expected_chaincode_id and cid.name != self.expected_chaincode_id:
                return  # a real peer stays silent for an unknown package ID
            self._out.put(Msg(type=Msg.REGISTERED))
            ready = self.features.SerializeToString() if self.features is not None else b""
            self._out.put(Msg(type=Msg.READY, payload=ready))
            self.ready.set()
            return
        key = (msg.channel_id, msg.txid)
        with self._lock:
            tx = self._txs.get(key)
        if tx is None:
            self.unrouted.append(msg)
            logger.warning("fake peer: %s for unknown tx %s", Msg.Type.Name(msg.type), msg.txid)
            return
        if msg.type in (Msg.COMPLETED, Msg.ERROR):
            with self._lock:
                self._txs.pop(key, None)
            self._finish(tx, msg)
            return
        name = Msg.Type.Name(msg.type)
        tx.requests.append(name)
        try:
            if name in self.fail_requests:
                raise PeerError(name, self.fail_requests[name])
            payload = self._serve(tx, msg)
            reply = Msg(type=Msg.RESPONSE, payload=payload, txid=msg.txid, channel_id=msg.channel_id)
        except (PeerError, StubUsageError) as exc:
            text = exc.message if isinstance(exc, PeerError) else str(exc)
            reply = Msg(type=Msg.ERROR, payload=text.encode(), txid=msg.txid, channel_id=msg.channel_id)
        with self._lock:
            if self._held is not None:
                self._held.append(reply)
                return
        self._out.put(reply)

    def _finish(self, tx: _Tx, msg: Msg) -> None:
        if msg.type == Msg.COMPLETED:
            res = proposal_response_pb2.Response.FromString(msg.payload)
            response = ChaincodeResponse(res.status, res.message, bytes(res.payload))
            event = (
                ChaincodeEvent(msg.chaincode_event.event_name, bytes(msg.chaincode_event.payload))
                if msg.HasField("chaincode_event") and msg.chaincode_event.event_name
                else None
            )
            ok = response.status < 400
            sim = SimulationResult(
                self.ledger.host.name,
                response,
                event if ok else None,
                tx.sim.finish() if ok else {},
                tx.facts.tx_id,
            )
            if ok and self.commit:
                self.ledger.commit(sim)
            tx.future.set_result(PeerTxResult(tx.facts.tx_id, "COMPLETED", response, event, sim, tx.requests))
        else:
            response = ChaincodeResponse(500, msg.payload.decode("utf-8", "replace"))
            tx.future.set_result(PeerTxResult(tx.facts.tx_id, "ERROR", response, None, None, tx.requests))

    # --- the peer's handler, one request type at a time ---------------------------------
    def _range_response(
        self,
        tx: _Tx,
        cursor: _RangeCursor,
        batch: list[KeyValue],
        more: bool,
        metadata: bytes,
        iter_id: str = "",
    ) -> bytes:
        iter_id = iter_id or f"it{next(self._ids)}"
        if more:
            tx.cursors[iter_id] = cursor
        else:
            tx.cursors.pop(iter_id, None)
        rows = [kv_query_result_pb2.KV(namespace=kv.namespace, key=kv.key, value=kv.value) for kv in batch]
        return bytes(
            shim.QueryResponse(
                results=[shim.QueryResultBytes(resultBytes=r.SerializeToString()) for r in rows],
                has_more=more,
                id=iter_id,
                metadata=metadata,
            ).SerializeToString()
        )

    def _query_response(
        self, tx: _Tx, results: list[bytes], metadata: bytes = b"", batched: bool = True
    ) -> bytes:
        iter_id = f"it{next(self._ids)}"
        size = self.batch_size if batched else max(len(results), 1)
        batch = results[:size]
        has_more = len(results) > size
        if has_more:
            tx.iterators[iter_id] = (results, size)
        return bytes(
            shim.QueryResponse(
                results=[shim.QueryResultBytes(resultBytes=r) for r in batch],
                has_more=has_more,
                id=iter_id,
                metadata=metadata,
            ).SerializeToString()
        )

    def _serve(self, tx: _Tx, msg: Msg) -> bytes:
        stub = tx.stub
        t = msg.type
        if t == Msg.GET_STATE:
            req = shim.GetState.FromString(msg.payload)
            return stub._get_state(req.collection, req.key) or b""
        if t == Msg.GET_PRIVATE_DATA_HASH:
            req = shim.GetState.FromString(msg.payload)
            return stub._get_private_data_hash(req.collection, req.key) or b""
        if t == Msg.PUT_STATE:
            put = shim.PutState.FromString(msg.payload)
            stub._put_state(put.collection, put.key, put.value)
            return b""
        if t in (Msg.DEL_STATE, Msg.PURGE_PRIVATE_DATA):
            dele = shim.DelState.FromString(msg.payload)
            if t == Msg.DEL_STATE:
                stub._del_state(dele.collection, dele.key)
            else:
                stub._purge_private_data(dele.collection, dele.key)
            return b""
        if t == Msg.GET_STATE_MULTIPLE and self.features is not None and self.features.use_get_multiple_keys:
            gm = shim.GetStateMultiple.FromString(msg.payload)
            limit = max(self.features.max_size_get_multiple_keys, 100)
            if len(gm.keys) > limit:
                raise PeerError("GET_STATE_MULTIPLE", f"{len(gm.keys)} keys, more than the limit {limit}")
            values = [stub._get_state(gm.collection, k) or b"" for k in gm.keys]
            return bytes(shim.GetStateMultipleResult(values=values).SerializeToString())
        if t == Msg.WRITE_BATCH_STATE and self.features is not None and self.features.use_write_batch:
            batch = shim.WriteBatchState.FromString(msg.payload)
            limit = max(self.features.max_size_write_batch, 100)
            if len(batch.rec) > limit:
                raise PeerError("WRITE_BATCH_STATE", f"{len(batch.rec)} records, more than the limit {limit}")
            for rec in batch.rec:  # applied in order, as the peer's handler does
                w = shim.WriteRecord
                if rec.type == w.PUT_STATE:
                    stub._put_state(rec.collection, rec.key, rec.value)
                elif rec.type == w.DEL_STATE:
                    stub._del_state(rec.collection, rec.key)
                elif rec.type == w.PURGE_PRIVATE_DATA:
                    stub._purge_private_data(rec.collection, rec.key)
                elif rec.type == w.PUT_STATE_METADATA:
                    if rec.metadata.metakey != VALIDATION_PARAMETER:
                        raise PeerError("WRITE_BATCH_STATE", f"unknown metadata key {rec.metadata.metakey}")
                    stub._put_state_metadata(
                        rec.collection, rec.key, rec.metadata.metakey, rec.metadata.value
                    )
                else:
                    raise PeerError("WRITE_BATCH_STATE", f"unknown write record type {rec.type}")
            return b""
        if t == Msg.GET_STATE_METADATA:
            gm = shim.GetStateMetadata.FromString(msg.payload)
            md = stub._get_state_metadata(gm.collection, gm.key)
            return bytes(
                shim.StateMetadataResult(
                    entries=[shim.StateMetadata(metakey=k, value=v) for k, v in sorted(md.items())]
                ).SerializeToString()
            )
        if t == Msg.PUT_STATE_METADATA:
            pm = shim.PutStateMetadata.FromString(msg.payload)
            if pm.metadata.metakey != VALIDATION_PARAMETER:
                raise PeerError("PUT_STATE_METADATA", f"unknown metadata key {pm.metadata.metakey}")
            stub._put_state_metadata(pm.collection, pm.key, pm.metadata.metakey, pm.metadata.value)
            return b""
        if t == Msg.GET_STATE_BY_RANGE:
            rq = shim.GetStateByRange.FromString(msg.payload)
            page = None
            if rq.metadata:
                qm = shim.QueryMetadata.FromString(rq.metadata)
                page = (qm.pageSize, qm.bookmark)
            it, meta = stub._get_state_by_range(rq.collection, rq.startKey, rq.endKey, page)
            assert isinstance(it, _RangeCursor)
            page_meta = (
                shim.QueryResponseMetadata(
                    fetched_records_count=meta.fetched_records_count, bookmark=meta.bookmark
                ).SerializeToString()
                if meta
                else b""
            )
            batch, more = it.first_batch()
            return self._range_response(tx, it, batch, more, page_meta)
        if t == Msg.GET_QUERY_RESULT:
            gq = shim.GetQueryResult.FromString(msg.payload)
            it, _ = stub._get_query_result(gq.collection, gq.query, None)
            rows = [
                kv_query_result_pb2.KV(namespace=kv.namespace, key=kv.key, value=kv.value).SerializeToString()
                for kv in it
            ]
            return self._query_response(tx, rows)
        if t == Msg.GET_HISTORY_FOR_KEY:
            gh = shim.GetHistoryForKey.FromString(msg.payload)
            rows = []
            for m in stub._get_history_for_key(gh.key):
                ts = Timestamp()
                ts.FromDatetime(m.timestamp.astimezone(UTC).replace(tzinfo=None))
                rows.append(
                    kv_query_result_pb2.KeyModification(
                        tx_id=m.tx_id, value=m.value, timestamp=ts, is_delete=m.is_delete
                    ).SerializeToString()
                )
            return self._query_response(tx, rows)
        if t == Msg.QUERY_STATE_NEXT:
            qn = shim.QueryStateNext.FromString(msg.payload)
            cursor = tx.cursors.get(qn.id)
            if cursor is not None:
                batch, more = cursor.next_batch()
                return self._range_response(tx, cursor, batch, more, b"", qn.id)
            if qn.id not in tx.iterators:
                raise PeerError("QUERY_STATE_NEXT", f"query iterator not found for id {qn.id}")
            results, pos = tx.iterators[qn.id]
            batch = results[pos : pos + self.batch_size]
            has_more = pos + self.batch_size < len(results)
            if has_more:
                tx.iterators[qn.id] = (results, pos + self.batch_size)
            else:
                del tx.iterators[qn.id]
            return bytes(
                shim.QueryResponse(
                    results=[shim.QueryResultBytes(resultBytes=r) for r in batch], has_more=has_more, id=qn.id
                ).SerializeToString()
            )
        if t == Msg.QUERY_STATE_CLOSE:
            qc = shim.QueryStateClose.FromString(msg.payload)
            tx.iterators.pop(qc.id, None)
            tx.cursors.pop(qc.id, None)
            return bytes(shim.QueryResponse(id=qc.id).SerializeToString())
        if t == Msg.INVOKE_CHAINCODE:
            spec = chaincode_pb2.ChaincodeSpec.FromString(msg.payload)
            resp = stub._invoke_chaincode(spec.chaincode_id.name, list(spec.input.args))
            inner = Msg(
                type=Msg.COMPLETED,
                payload=proposal_response_pb2.Response(
                    status=resp.status, message=resp.message, payload=resp.payload
                ).SerializeToString(),
                txid=msg.txid,
                channel_id=msg.channel_id,
            )
            return bytes(inner.SerializeToString())
        raise PeerError(Msg.Type.Name(t), "unsupported request")

    @property
    def open_iterators(self) -> int:
        with self._lock:
            return sum(len(tx.iterators) + len(tx.cursors) for tx in self._txs.values())
