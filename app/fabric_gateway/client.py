"""The transport: grpc stubs for the Gateway and Deliver services, mapping failures to stage errors.

This is the only place where the blocking and asyncio clients differ in how they call the peer:
:class:`GatewayClient` over a ``grpc.Channel``, :class:`AsyncGatewayClient` over a
``grpc.aio.Channel``. Above it, ``Gateway``'s and ``Network``'s logic, message building and
parsing, commit status decoding and the event requests are written once; only the methods that
wait on these calls come twice (``Proposal.evaluate``/``endorse``, ``Transaction.submit``,
``Commit.get_status``, the ``Contract`` shortcuts over them, ``Gateway.close``, the event
iterators' next and the commit listeners' stream loop). The commit listeners are not part of the
transport: a gateway's :class:`~.session.Session` holds them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from .errors import CommitStatusError, EndorseError, EvaluateError, SubmitError
from .options import Deadlines, Timeout, resolve


class _Stubs:
    """The two services' stubs on one channel, and the calls that look the same in both flavours."""

    def __init__(self, channel: Any, deadlines: Deadlines) -> None:
        self.channel = channel
        self.deadlines = deadlines
        self._gateway = gateway_pb2_grpc.GatewayStub(channel)
        self._deliver = events_pb2_grpc.DeliverStub(channel)

    def chaincode_events(
        self,
        request: gateway_pb2.SignedChaincodeEventsRequest,
        timeout: Timeout,
        wait_for_ready: bool = False,
    ) -> Any:
        """The server stream (an iterator, or a ``grpc.aio`` call to ``read()``)."""
        return self._gateway.ChaincodeEvents(
            request, timeout=resolve(timeout, self.deadlines.chaincode_events), wait_for_ready=wait_for_ready
        )

    def _deliver_call(self, method: str, requests: Any, timeout: Timeout, wait_for_ready: bool) -> Any:
        call = getattr(self._deliver, method)
        return call(
            requests, timeout=resolve(timeout, self.deadlines.block_events), wait_for_ready=wait_for_ready
        )


class GatewayClient(_Stubs):
    """Blocking transport over a ``grpc.Channel``."""

    def __init__(self, channel: grpc.Channel, deadlines: Deadlines) -> None:
        if isinstance(channel, grpc.aio.Channel):
            raise TypeError("channel: a grpc.aio channel needs connect_async(), not connect()")
        super().__init__(channel, deadlines)

    def evaluate(self, request: gateway_pb2.EvaluateRequest, timeout: Timeout) -> Any:
        try:
            return self._gateway.Evaluate(request, timeout=resolve(timeout, self.deadlines.evaluate))
        except grpc.RpcError as exc:
            raise EvaluateError.from_rpc_error(exc) from None

    def endorse(self, request: gateway_pb2.EndorseRequest, timeout: Timeout) -> Any:
        try:
            return self._gateway.Endorse(request, timeout=resolve(timeout, self.deadlines.endorse))
        except grpc.RpcError as exc:
            raise EndorseError.from_rpc_error(exc, transaction_id=request.transaction_id) from None

    def submit(self, request: gateway_pb2.SubmitRequest, timeout: Timeout) -> Any:
        try:
            return self._gateway.Submit(request, timeout=resolve(timeout, self.deadlines.submit))
        except grpc.RpcError as exc:
            raise SubmitError.from_rpc_error(exc, transaction_id=request.transaction_id) from None

    def commit_status(
        self,
        request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
        timeout: Timeout,
        wait_for_ready: bool = False,
    ) -> Any:
        seconds = resolve(timeout, self.deadlines.commit_status)
        try:
            return self._gateway.CommitStatus(request, timeout=seconds, wait_for_ready=wait_for_ready)
        except grpc.RpcError as exc:
            raise CommitStatusError.from_rpc_error(exc, transaction_id=transaction_id) from None

    def deliver(
        self, method: str, envelope: common_pb2.Envelope, timeout: Timeout, wait_for_ready: bool = False
    ) -> Any:
        """A Deliver stream (``method``: Deliver, DeliverFiltered or DeliverWithPrivateData)."""
        return self._deliver_call(method, iter([envelope]), timeout, wait_for_ready)


class AsyncGatewayClient(_Stubs):
    """asyncio transport over a ``grpc.aio.Channel``."""

    def __init__(self, channel: grpc.aio.Channel, deadlines: Deadlines) -> None:
        if not isinstance(channel, grpc.aio.Channel):
            raise TypeError("channel: connect_async() needs a grpc.aio channel")
        super().__init__(channel, deadlines)

    async def evaluate(self, request: gateway_pb2.EvaluateRequest, timeout: Timeout) -> Any:
        try:
            return await self._gateway.Evaluate(request, timeout=resolve(timeout, self.deadlines.evaluate))
        except grpc.RpcError as exc:
            raise EvaluateError.from_rpc_error(exc) from None

    async def endorse(self, request: gateway_pb2.EndorseRequest, timeout: Timeout) -> Any:
        try:
            return await self._gateway.Endorse(request, timeout=resolve(timeout, self.deadlines.endorse))
        except grpc.RpcError as exc:
            raise EndorseError.from_rpc_error(exc, transaction_id=request.transaction_id) from None

    async def submit(self, request: gateway_pb2.SubmitRequest, timeout: Timeout) -> Any:
        try:
            return await self._gateway.Submit(request, timeout=resolve(timeout, self.deadlines.submit))
        except grpc.RpcError as exc:
            raise SubmitError.from_rpc_error(exc, transaction_id=request.transaction_id) from None

    async def commit_status(
        self,
        request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
        timeout: Timeout,
        wait_for_ready: bool = False,
    ) -> Any:
        seconds = resolve(timeout, self.deadlines.commit_status)
        try:
            return await self._gateway.CommitStatus(request, timeout=seconds, wait_for_ready=wait_for_ready)
        except grpc.RpcError as exc:
            raise CommitStatusError.from_rpc_error(exc, transaction_id=transaction_id) from None

    def deliver(
        self, method: str, envelope: common_pb2.Envelope, timeout: Timeout, wait_for_ready: bool = False
    ) -> Any:
        """A Deliver stream call (``read()`` it); ``method`` as for :meth:`GatewayClient.deliver`."""

        async def requests() -> AsyncIterator[common_pb2.Envelope]:
            yield envelope

        return self._deliver_call(method, requests(), timeout, wait_for_ready)


# Either transport: what the flavour-neutral code (event requests, commit listeners) is given.
AnyClient = GatewayClient | AsyncGatewayClient
