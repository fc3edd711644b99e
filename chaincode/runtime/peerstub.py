"""The stub a contract sees on a real peer: every call is one request over the Connect stream.

A RESPONSE carries the result; an ERROR raises :class:`PeerError` in the contract (a refused read is
never a value, a refused write never a success). Query results arrive in batches
(``peer.QueryResponse``); the iterator fetches the next batch with QUERY_STATE_NEXT and releases the
peer's cursor with QUERY_STATE_CLOSE when closed early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_pb2, proposal_response_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim

from .errors import PeerError
from .interfaces import ChaincodeResponse, KeyModification, KeyValue, QueryResponseMetadata, StateIterator
from .proposal import PeerTxFacts, TxFacts, timestamp_to_datetime
from .stubbase import BaseStub, Page

if TYPE_CHECKING:
    from .handler import Handler

Msg: TypeAlias = shim.ChaincodeMessage  # protobuf messages are typed Any
T = TypeVar("T")


def _kv(raw: bytes) -> KeyValue:
    kv = kv_query_result_pb2.KV.FromString(raw)
    return KeyValue(kv.namespace, kv.key, bytes(kv.value))


def _km(raw: bytes) -> KeyModification:
    km = kv_query_result_pb2.KeyModification.FromString(raw)
    return KeyModification(
        km.tx_id,
        bytes(km.value),
        timestamp_to_datetime(km.timestamp.seconds, km.timestamp.nanos),
        km.is_delete,
    )


class PeerQueryIterator(StateIterator[T]):
    """Results of a range, rich or history query, fetched batch by batch from the peer."""

    def __init__(self, stub: PeerStub, first: shim.QueryResponse, decode: Callable[[bytes], T]) -> None:
        self._stub = stub
        self._resp = first
        self._decode = decode
        self._closed = False

    def __iter__(self) -> Iterator[T]:
        while not self._closed:
            for item in self._resp.results:
                yield self._decode(item.resultBytes)
            if not self._resp.has_more:
                self._closed = True  # the peer released the cursor itself
                return
            self._resp = self._stub._query_call(Msg.QUERY_STATE_NEXT, shim.QueryStateNext(id=self._resp.id))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resp.has_more:
            self._stub._query_call(Msg.QUERY_STATE_CLOSE, shim.QueryStateClose(id=self._resp.id))


_DATA, _META = 0, 1  # a write record's kind, as the Go shim's batch keys


class PeerStub(BaseStub):
    """ChaincodeStub over the peer protocol; one instance per transaction.

    When the peer offered write batches (Fabric 3.x READY), puts, deletes, purges and metadata writes
    are buffered (the last write of a key wins, as in the Go shim's batch) and sent in
    WRITE_BATCH_STATE messages when the transaction succeeds; a peer refusal of the batch fails the
    transaction. Reads never see the transaction's own writes on a peer, so buffering changes no
    result. Without batching every write is its own request, as before.
    """

    def __init__(self, facts: TxFacts | PeerTxFacts, handler: Handler, call: Callable[[Msg], Msg]) -> None:
        super().__init__(facts)
        self._handler = handler
        self._send = call
        features = handler.features
        self._batch: dict[tuple[str, str, int], shim.WriteRecord] | None = (
            {} if features.write_batch else None
        )
        self._max_batch = features.max_write_batch
        self._max_multi = features.max_get_multiple if features.get_multiple else 0

    def _call(self, msg_type: int, payload: bytes) -> bytes:
        facts = self._facts
        reply = self._send(Msg(type=msg_type, payload=payload, txid=facts.tx_id, channel_id=facts.channel_id))
        if reply.type == Msg.RESPONSE:
            return bytes(reply.payload)
        name = Msg.Type.Name(msg_type)
        if reply.type == Msg.ERROR:
            raise PeerError(name, reply.payload.decode("utf-8", "replace"))
        raise PeerError(
            name,
            f"incorrect chaincode message {Msg.Type.Name(reply.type)} received. Expecting RESPONSE or ERROR",
        )

    def _query_call(self, msg_type: int, request: object) -> shim.QueryResponse:
        raw = self._call(msg_type, request.SerializeToString())  # type: ignore[attr-defined]
        try:
            return shim.QueryResponse.FromString(raw)
        except Exception as exc:
            raise PeerError(Msg.Type.Name(msg_type), f"cannot read QueryResponse: {exc}") from exc

    @staticmethod
    def _metadata(page: Page | None) -> bytes:
        if page is None:
            return b""
        return bytes(shim.QueryMetadata(pageSize=page[0], bookmark=page[1]).SerializeToString())

    @staticmethod
    def _response_metadata(resp: shim.QueryResponse, page: Page | None) -> QueryResponseMetadata | None:
        if page is None:
            return None
        meta = (
            shim.QueryResponseMetadata.FromString(resp.metadata)
            if resp.metadata
            else shim.QueryResponseMetadata()
        )
        return QueryResponseMetadata(meta.fetched_records_count, meta.bookmark)

    # --- primitives ---------------------------------------------------------------------
    def _get_state(self, collection: str, key: str) -> bytes | None:
        value = self._call(Msg.GET_STATE, shim.GetState(key=key, collection=collection).SerializeToString())
        return value or None

    def _get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        value = self._call(
            Msg.GET_PRIVATE_DATA_HASH, shim.GetState(key=key, collection=collection).SerializeToString()
        )
        return value or None

    def _get_multiple(self, collection: str, keys: list[str]) -> list[bytes | None]:
        if not self._max_multi:
            return super()._get_multiple(collection, keys)
        values: list[bytes | None] = []
        for i in range(0, len(keys), self._max_multi):
            raw = self._call(
                Msg.GET_STATE_MULTIPLE,
                shim.GetStateMultiple(
                    keys=keys[i : i + self._max_multi], collection=collection
                ).SerializeToString(),
            )
            values.extend(v or None for v in shim.GetStateMultipleResult.FromString(raw).values)
        return values

    def _record(self, kind: int, record: shim.WriteRecord) -> None:
        assert self._batch is not None
        self._batch[(record.collection, record.key, kind)] = record

    def flush_writes(self) -> None:
        if not self._batch:
            return
        records = list(self._batch.values())
        self._batch = {}
        for i in range(0, len(records), self._max_batch):
            self._call(
                Msg.WRITE_BATCH_STATE,
                shim.WriteBatchState(rec=records[i : i + self._max_batch]).SerializeToString(),
            )

    def discard_writes(self) -> None:
        if self._batch:
            self._batch = {}

    def _put_state(self, collection: str, key: str, value: bytes) -> None:
        if self._batch is not None:
            self._record(
                _DATA,
                shim.WriteRecord(
                    key=key, value=value, collection=collection, type=shim.WriteRecord.PUT_STATE
                ),
            )
            return
        self._call(
            Msg.PUT_STATE, shim.PutState(key=key, value=value, collection=collection).SerializeToString()
        )

    def _del_state(self, collection: str, key: str) -> None:
        if self._batch is not None:
            self._record(
                _DATA, shim.WriteRecord(key=key, collection=collection, type=shim.WriteRecord.DEL_STATE)
            )
            return
        self._call(Msg.DEL_STATE, shim.DelState(key=key, collection=collection).SerializeToString())

    def _purge_private_data(self, collection: str, key: str) -> None:
        if self._batch is not None:
            self._record(
                _DATA,
                shim.WriteRecord(key=key, collection=collection, type=shim.WriteRecord.PURGE_PRIVATE_DATA),
            )
            return
        self._call(Msg.PURGE_PRIVATE_DATA, shim.DelState(key=key, collection=collection).SerializeToString())

    def _get_state_by_range(
        self, collection: str, start_key: str, end_key: str, page: Page | None
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata | None]:
        req = shim.GetStateByRange(
            startKey=start_key, endKey=end_key, collection=collection, metadata=self._metadata(page)
        )
        resp = self._query_call(Msg.GET_STATE_BY_RANGE, req)
        return PeerQueryIterator(self, resp, _kv), self._response_metadata(resp, page)

    def _get_query_result(
        self, collection: str, query: str, page: Page | None
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata | None]:
        req = shim.GetQueryResult(query=query, collection=collection, metadata=self._metadata(page))
        resp = self._query_call(Msg.GET_QUERY_RESULT, req)
        return PeerQueryIterator(self, resp, _kv), self._response_metadata(resp, page)

    def _get_history_for_key(self, key: str) -> StateIterator[KeyModification]:
        resp = self._query_call(Msg.GET_HISTORY_FOR_KEY, shim.GetHistoryForKey(key=key))
        return PeerQueryIterator(self, resp, _km)

    def _get_state_metadata(self, collection: str, key: str) -> dict[str, bytes]:
        raw = self._call(
            Msg.GET_STATE_METADATA, shim.GetStateMetadata(key=key, collection=collection).SerializeToString()
        )
        result = shim.StateMetadataResult.FromString(raw)
        return {e.metakey: bytes(e.value) for e in result.entries}

    def _put_state_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None:
        if self._batch is not None:
            self._record(
                _META,
                shim.WriteRecord(
                    key=key,
                    collection=collection,
                    metadata=shim.StateMetadata(metakey=metakey, value=value),
                    type=shim.WriteRecord.PUT_STATE_METADATA,
                ),
            )
            return
        req = shim.PutStateMetadata(
            key=key, collection=collection, metadata=shim.StateMetadata(metakey=metakey, value=value)
        )
        self._call(Msg.PUT_STATE_METADATA, req.SerializeToString())

    def _invoke_chaincode(self, name: str, args: list[bytes]) -> ChaincodeResponse:
        spec = chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_pb2.ChaincodeID(name=name), input=chaincode_pb2.ChaincodeInput(args=args)
        )
        raw = self._call(Msg.INVOKE_CHAINCODE, spec.SerializeToString())
        inner = Msg.FromString(raw)
        if inner.type == Msg.COMPLETED:
            res = proposal_response_pb2.Response.FromString(inner.payload)
            return ChaincodeResponse(res.status, res.message, bytes(res.payload))
        return ChaincodeResponse(500, inner.payload.decode("utf-8", "replace"))
