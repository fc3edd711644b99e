"""An in-process Gateway + Deliver gRPC service on 127.0.0.1 that checks what a real peer checks
(tx id, creator, signatures, low-S) and fails on demand the way a peer does (status + ErrorDetail
trailer), for the error paths a real network cannot produce at will."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    events_pb2,
    events_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc_status import rpc_status  # type: ignore[import-untyped]

from app.fabric_gateway.signing import curve_order, is_low_s


class Refused(Exception):
    def __init__(
        self, code: grpc.StatusCode, message: str, details: list[tuple[str, str, str]] | None = None
    ):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []


def abort(context: grpc.ServicerContext, refused: Refused) -> None:
    anys = []
    for address, msp_id, message in refused.details:
        packed = any_pb2.Any()
        packed.Pack(gateway_pb2.ErrorDetail(address=address, msp_id=msp_id, message=message))
        anys.append(packed)
    status = status_pb2.Status(code=refused.code.value[0], message=refused.message, details=anys)
    context.abort_with_status(rpc_status.to_status(status))


def verify(creator: bytes, message: bytes, signature: bytes) -> None:
    """Verify as Fabric's MSP does: ECDSA over SHA-256 with low-S, or Ed25519 over the message."""
    identity = identities_pb2.SerializedIdentity.FromString(creator)
    key = x509.load_pem_x509_certificate(identity.id_bytes).public_key()
    if not signature:
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "signature is empty")
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)
            if not is_low_s(signature, curve_order(key.curve.name)):
                raise Refused(grpc.StatusCode.PERMISSION_DENIED, "access denied: Invalid S")
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(grpc.StatusCode.PERMISSION_DENIED, "access denied: signature invalid") from None


@dataclass
class Behaviour:
    """What the fake does next; tests set these fields."""

    evaluate_error: Refused | None = None
    endorse_error: Refused | None = None
    submit_error: Refused | None = None
    commit_status_error: Refused | None = None
    commit_code: int = transaction_pb2.VALID
    commit_block: int = 7
    commit_hang: bool = False
    chaincode_status: int = 200
    # Chaincode events: (block, tx id, event name, payload); streamed from the requested position.
    chaincode_events: list[tuple[int, str, str, bytes]] = field(default_factory=list)
    # Drop the stream with UNAVAILABLE after sending this many responses (once), None to never drop.
    drop_events_after: int | None = None
    blocks: int = 0  # the fake ledger height for Deliver
    deliver_refusal: int | None = None  # answer Deliver requests with this common.Status instead
    drop_blocks_after: int | None = None


class FakeGateway(gateway_pb2_grpc.GatewayServicer, events_pb2_grpc.DeliverServicer):
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[tuple[str, Any]] = []  # (call, protobuf request)
        self.submitted: list[common_pb2.Envelope] = []
        self.events_requests: list[gateway_pb2.ChaincodeEventsRequest] = []
        self.deliver_requests: list[ab_pb2.SeekInfo] = []
        # Submitted transactions the fake "committed": block number -> [(tx id, validation code)].
        self.committed: dict[int, list[tuple[str, int]]] = {}
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------
    def _check_proposal(self, tx_id: str, channel_id: str, signed: proposal_pb2.SignedProposal) -> tuple:
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        verify(signature_header.creator, signed.proposal_bytes, signed.signature)
        expected = hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
        if channel_header.tx_id != expected or tx_id != expected:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"incorrectly formed transaction id {tx_id}")
        if channel_header.channel_id != channel_id:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "channel id mismatch")
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
        return proposal, header, signature_header, payload, spec

    def _response_payload(self, spec: chaincode_pb2.ChaincodeSpec, payload) -> bytes:
        args = [a.decode() for a in spec.input.args]
        if spec.chaincode_id.name == "qscc" and args[:1] == ["GetChainInfo"]:  # a peer that joined at block 0
            return ledger_pb2.BlockchainInfo(height=self.behaviour.blocks).SerializeToString()
        transient = ",".join(f"{k}={v.decode()}" for k, v in sorted(payload.TransientMap.items()))
        return ("|".join(args) + (f"|transient:{transient}" if transient else "")).encode()

    # -- Gateway ---------------------------------------------------------------------------
    def Evaluate(self, request, context):
        try:
            self.requests.append(("evaluate", request))
            if self.behaviour.evaluate_error:
                raise self.behaviour.evaluate_error
            _, _, _, payload, spec = self._check_proposal(
                request.transaction_id, request.channel_id, request.proposed_transaction
            )
            return gateway_pb2.EvaluateResponse(
                result=proposal_response_pb2.Response(
                    status=200, payload=self._response_payload(spec, payload)
                )
            )
        except Refused as refused:
            abort(context, refused)

    def Endorse(self, request, context):
        try:
            self.requests.append(("endorse", request))
            if self.behaviour.endorse_error:
                raise self.behaviour.endorse_error
            proposal, header, signature_header, payload, spec = self._check_proposal(
                request.transaction_id, request.channel_id, request.proposed_transaction
            )
            action = proposal_pb2.ChaincodeAction(
                response=proposal_response_pb2.Response(
                    status=self.behaviour.chaincode_status, payload=self._response_payload(spec, payload)
                )
            )
            response_payload = proposal_response_pb2.ProposalResponsePayload(
                proposal_hash=hashlib.sha256(proposal.SerializeToString()).digest(),
                extension=action.SerializeToString(),
            )
            without_transient = proposal_pb2.ChaincodeProposalPayload(input=payload.input)
            action_payload = transaction_pb2.ChaincodeActionPayload(
                chaincode_proposal_payload=without_transient.SerializeToString(),
                action=transaction_pb2.ChaincodeEndorsedAction(
                    proposal_response_payload=response_payload.SerializeToString(),
                    endorsements=[proposal_response_pb2.Endorsement(endorser=b"peer", signature=b"sig")],
                ),
            )
            tx = transaction_pb2.Transaction(
                actions=[
                    transaction_pb2.TransactionAction(
                        header=signature_header.SerializeToString(),
                        payload=action_payload.SerializeToString(),
                    )
                ]
            )
            envelope_payload = common_pb2.Payload(header=header, data=tx.SerializeToString())
            return gateway_pb2.EndorseResponse(
                prepared_transaction=common_pb2.Envelope(payload=envelope_payload.SerializeToString())
            )
        except Refused as refused:
            abort(context, refused)

    def Submit(self, request, context):
        try:
            self.requests.append(("submit", request))
            envelope = request.prepared_transaction
            if not envelope.signature:
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "prepared transaction must be signed")
            payload = common_pb2.Payload.FromString(envelope.payload)
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            verify(signature_header.creator, envelope.payload, envelope.signature)
            if self.behaviour.submit_error:
                raise self.behaviour.submit_error
            with self._lock:
                self.submitted.append(envelope)
                if not self.behaviour.commit_hang:  # commit it in the next block (at commit_block or later)
                    number = max(self.behaviour.blocks, self.behaviour.commit_block)
                    self.committed.setdefault(number, []).append(
                        (request.transaction_id, self.behaviour.commit_code)
                    )
                    self.behaviour.blocks = number + 1
            return gateway_pb2.SubmitResponse()
        except Refused as refused:
            abort(context, refused)

    def CommitStatus(self, request, context):
        try:
            self.requests.append(("commit_status", request))
            inner = gateway_pb2.CommitStatusRequest.FromString(request.request)
            verify(inner.identity, request.request, request.signature)
            if self.behaviour.commit_status_error:
                raise self.behaviour.commit_status_error
            if self.behaviour.commit_hang:
                while context.is_active():
                    time.sleep(0.02)
                return gateway_pb2.CommitStatusResponse()
            for number, transactions in self.committed.items():
                for tx_id, code in transactions:
                    if tx_id == inner.transaction_id:
                        return gateway_pb2.CommitStatusResponse(result=code, block_number=number)
            return gateway_pb2.CommitStatusResponse(
                result=self.behaviour.commit_code, block_number=self.behaviour.commit_block
            )
        except Refused as refused:
            abort(context, refused)

    def ChaincodeEvents(self, request, context) -> Iterator[gateway_pb2.ChaincodeEventsResponse]:
        try:
            inner = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
            verify(inner.identity, request.request, request.signature)
        except Refused as refused:
            abort(context, refused)
            return
        self.events_requests.append(inner)
        start = inner.start_position
        first = start.specified.number if start.WhichOneof("Type") == "specified" else None
        if first is None:  # next commit: after the last block we know
            first = max((e[0] for e in self.behaviour.chaincode_events), default=-1) + 1
        skipping = bool(inner.after_transaction_id)
        sent = 0
        blocks = sorted({e[0] for e in self.behaviour.chaincode_events if e[0] >= first})
        for block in blocks:
            events = []
            for number, tx_id, name, data in self.behaviour.chaincode_events:
                if number != block:
                    continue
                if skipping and block == first:
                    if tx_id == inner.after_transaction_id:
                        skipping = False
                    continue
                events.append(
                    chaincode_event_pb2.ChaincodeEvent(
                        chaincode_id=inner.chaincode_id, tx_id=tx_id, event_name=name, payload=data
                    )
                )
            if block != first:
                skipping = False
            if not events:
                continue
            if self.behaviour.drop_events_after is not None and sent >= self.behaviour.drop_events_after:
                self.behaviour.drop_events_after = None
                context.abort(grpc.StatusCode.UNAVAILABLE, "peer going away")
            yield gateway_pb2.ChaincodeEventsResponse(events=events, block_number=block)
            sent += 1
        while context.is_active():
            time.sleep(0.02)

    # -- Deliver ---------------------------------------------------------------------------
    def _deliver(self, request_iterator, context, make):
        envelope = next(request_iterator)
        payload = common_pb2.Payload.FromString(envelope.payload)
        channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        if channel_header.type != common_pb2.DELIVER_SEEK_INFO:
            yield events_pb2.DeliverResponse(status=common_pb2.BAD_REQUEST)
            return
        try:
            verify(signature_header.creator, envelope.payload, envelope.signature)
        except Refused:
            yield events_pb2.DeliverResponse(status=common_pb2.FORBIDDEN)
            return
        seek = ab_pb2.SeekInfo.FromString(payload.data)
        self.deliver_requests.append(seek)
        if self.behaviour.deliver_refusal is not None:
            yield events_pb2.DeliverResponse(status=self.behaviour.deliver_refusal)
            return
        start = seek.start.WhichOneof("Type")
        if start == "specified":
            number = seek.start.specified.number
        elif start == "newest":  # a channel always has its genesis block
            self.behaviour.blocks = max(1, self.behaviour.blocks)
            number = self.behaviour.blocks - 1
        else:
            number = self.behaviour.blocks
        sent = 0
        while context.is_active():
            if number < self.behaviour.blocks:
                if self.behaviour.drop_blocks_after is not None and sent >= self.behaviour.drop_blocks_after:
                    self.behaviour.drop_blocks_after = None
                    context.abort(grpc.StatusCode.UNAVAILABLE, "peer going away")
                yield make(number, channel_header.channel_id)
                number += 1
                sent += 1
            else:
                time.sleep(0.02)

    def Deliver(self, request_iterator, context):
        def make(number: int, channel: str) -> events_pb2.DeliverResponse:
            block = common_pb2.Block(header=common_pb2.BlockHeader(number=number))
            block.data.data.append(_tx_envelope(number, channel))
            block.metadata.metadata.extend([b"", b"", bytes([transaction_pb2.VALID]), b"", b""])
            return events_pb2.DeliverResponse(block=block)

        yield from self._deliver(request_iterator, context, make)

    def DeliverFiltered(self, request_iterator, context):
        def make(number: int, channel: str) -> events_pb2.DeliverResponse:
            block = events_pb2.FilteredBlock(channel_id=channel, number=number)
            block.filtered_transactions.add(txid=f"tx{number}", tx_validation_code=transaction_pb2.VALID)
            for tx_id, code in self.committed.get(number, []):
                block.filtered_transactions.add(txid=tx_id, tx_validation_code=code)
            return events_pb2.DeliverResponse(filtered_block=block)

        yield from self._deliver(request_iterator, context, make)

    def DeliverWithPrivateData(self, request_iterator, context):
        def make(number: int, channel: str) -> events_pb2.DeliverResponse:
            block = common_pb2.Block(header=common_pb2.BlockHeader(number=number))
            return events_pb2.DeliverResponse(
                block_and_private_data=events_pb2.BlockAndPrivateData(block=block)
            )

        yield from self._deliver(request_iterator, context, make)


def _tx_envelope(number: int, channel: str) -> bytes:
    creator = identities_pb2.SerializedIdentity(mspid="BankAMSP", id_bytes=b"cert").SerializeToString()
    header = common_pb2.Header(
        channel_header=common_pb2.ChannelHeader(
            type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel, tx_id=f"tx{number}"
        ).SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator).SerializeToString(),
    )
    return common_pb2.Envelope(
        payload=common_pb2.Payload(header=header).SerializeToString()
    ).SerializeToString()


class FakeServer:
    """The fake on a real grpc server; ``restart()`` stops it and serves again on the same port."""

    def __init__(self) -> None:
        self.service = FakeGateway()
        self.port = 0
        self._server: grpc.Server | None = None
        self.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        gateway_pb2_grpc.add_GatewayServicer_to_server(self.service, server)
        events_pb2_grpc.add_DeliverServicer_to_server(self.service, server)
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def restart(self, pause: float = 0.3) -> None:
        self.stop()
        time.sleep(pause)
        self.start()
