"""The transport: grpc stubs for the Gateway and Deliver services, mapping failures to stage errors.

Everything above this module (proposal, transaction, commit, events) is shared by the blocking and
asyncio APIs; only these two small classes differ.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from .errors import CommitStatusError, EndorseError, EvaluateError, SubmitError
from .options import Deadlines, Timeout, resolve

if TYPE_CHECKING:
    from .commit_listener import CommitListeners

logger = logging.getLogger(__name__)

DELIVER_METHODS = ("Deliver", "DeliverFiltered", "DeliverWithPrivateData")


class GatewayClient:
    """Blocking transport over a ``grpc.Channel``."""

    def __init__(self, channel: grpc.Channel, deadlines: Deadlines) -> None:
        if isinstance(channel, grpc.aio.Channel):
            raise TypeError("channel: a grpc.aio channel needs connect_async(), not connect()")
        self.channel = channel
        self.deadlines = deadlines
        self._gateway = gateway_pb2_grpc.GatewayStub(channel)
        self._deliver = events_pb2_grpc.DeliverStub(channel)
        # Set by connect(): the per-channel commit listeners (None: always use CommitStatus calls).
        self.commit_listeners: CommitListeners | None = None

    def evaluate(
        self, request: gateway_pb2.EvaluateRequest, timeout: Timeout
    ) -> gateway_pb2.EvaluateResponse:
        try:
            return self._gateway.Evaluate(request, timeout=resolve(timeout, self.deadlines.evaluate))
        except grpc.RpcError as exc:
            raise EvaluateError.from_rpc_error(exc) from None

    def endorse(self, request: gateway_pb2.EndorseRequest, timeout: Timeout) -> gateway_pb2.EndorseResponse:
        try:
            return self._gateway.Endorse(request, timeout=resolve(timeout, self.deadlines.endorse))
        except grpc.RpcError as exc:
            raise EndorseError.from_rpc_error(exc, transaction_id=request.transaction_id) from None

    def submit(self, request: gateway_pb2.SubmitRequest, timeout: Timeout) -> gateway_pb2.SubmitResponse:
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
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            return self._gateway.CommitStatus(
                request,
                timeout=resolve(timeout, self.deadlines.commit_status),
                wait_for_ready=wait_for_ready,
            )
        except grpc.RpcError as exc:
            raise CommitStatusError.from_rpc_error(exc, transaction_id=transaction_id) from None

    def chaincode_events(
        self,
        request: gateway_pb2.SignedChaincodeEventsRequest,
        timeout: Timeout,
        wait_for_ready: bool = False,
    ) -> Any:
        return self._gateway.ChaincodeEvents(
            request, timeout=resolve(timeout, self.deadlines.chaincode_events), wait_for_ready=wait_for_ready
        )

    def deliver(
        self, method: str, envelope: common_pb2.Envelope, timeout: Timeout, wait_for_ready: bool = False
    ) -> Any:
        call = getattr(self._deliver, method)
        return call(
            iter([envelope]),
            timeout=resolve(timeout, self.deadlines.block_events),
            wait_for_ready=wait_for_ready,
        )


class AsyncGatewayClient:
    """asyncio transport over a ``grpc.aio.Channel``."""

    def __init__(self, channel: grpc.aio.Channel, deadlines: Deadlines) -> None:
        if not isinstance(channel, grpc.aio.Channel):
            raise TypeError("channel: connect_async() needs a grpc.aio channel")
        self.channel = channel
        self.deadlines = deadlines
        self._gateway = gateway_pb2_grpc.GatewayStub(channel)
        self._deliver = events_pb2_grpc.DeliverStub(channel)
        # Set by connect(): the per-channel commit listeners (None: always use CommitStatus calls).
        self.commit_listeners: CommitListeners | None = None

    async def evaluate(
        self, request: gateway_pb2.EvaluateRequest, timeout: Timeout
    ) -> gateway_pb2.EvaluateResponse:
        try:
            return await self._gateway.Evaluate(request, timeout=resolve(timeout, self.deadlines.evaluate))
        except grpc.RpcError as exc:
            raise EvaluateError.from_rpc_error(exc) from None

    async def endorse(
        self, request: gateway_pb2.EndorseRequest, timeout: Timeout
    ) -> gateway_pb2.EndorseResponse:
        try:
            return await self._gateway.Endorse(request, timeout=resolve(timeout, self.deadlines.endorse))
        except grpc.RpcError as exc:
            raise EndorseError.from_rpc_error(exc, transaction_id=request.transaction_id) from None

    async def submit(
        self, request: gateway_pb2.SubmitRequest, timeout: Timeout
    ) -> gateway_pb2.SubmitResponse:
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
    ) -> gateway_pb2.CommitStatusResponse:
        try:
            return await self._gateway.CommitStatus(
                request,
                timeout=resolve(timeout, self.deadlines.commit_status),
                wait_for_ready=wait_for_ready,
            )
        except grpc.RpcError as exc:
            raise CommitStatusError.from_rpc_error(exc, transaction_id=transaction_id) from None

    def chaincode_events(
        self,
        request: gateway_pb2.SignedChaincodeEventsRequest,
        timeout: Timeout,
        wait_for_ready: bool = False,
    ) -> Any:
        return self._gateway.ChaincodeEvents(
            request, timeout=resolve(timeout, self.deadlines.chaincode_events), wait_for_ready=wait_for_ready
        )

    def deliver(
        self, method: str, envelope: common_pb2.Envelope, timeout: Timeout, wait_for_ready: bool = False
    ) -> Any:
        call = getattr(self._deliver, method)

        async def requests() -> Any:
            yield envelope

        return call(
            requests(),
            timeout=resolve(timeout, self.deadlines.block_events),
            wait_for_ready=wait_for_ready,
        )
