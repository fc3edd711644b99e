"""Build transaction proposals exactly as Fabric's protoutil does (pure code, no I/O).

tx id = lowercase hex sha256(nonce ‖ creator); the peer recomputes it and refuses a mismatch.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf import timestamp_pb2

NONCE_SIZE = 24

Arg = str | bytes


def new_nonce() -> bytes:
    """24 random bytes, as the Go client and peer CLI use."""
    return os.urandom(NONCE_SIZE)


def compute_transaction_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction ID for a nonce and serialized creator."""
    return hashlib.sha256(nonce + creator).hexdigest()


def now_timestamp() -> timestamp_pb2.Timestamp:
    ns = time.time_ns()
    return timestamp_pb2.Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def to_bytes(value: Arg, field: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{field}: expected str or bytes, got {type(value).__name__}")


def qualified_transaction_name(contract_name: str, transaction_name: str) -> str:
    """``contract:function`` when the chaincode has several named contracts, else the function."""
    if not transaction_name:
        raise ValueError("transaction_name: must not be empty")
    return f"{contract_name}:{transaction_name}" if contract_name else transaction_name


def signature_header(creator: bytes, nonce: bytes) -> common_pb2.SignatureHeader:
    return common_pb2.SignatureHeader(creator=creator, nonce=nonce)


def build_proposed_transaction(
    *,
    creator: bytes,
    channel_name: str,
    chaincode_name: str,
    transaction_name: str,
    args: Sequence[Arg] = (),
    transient: Mapping[str, Arg] | None = None,
    endorsing_organizations: Sequence[str] = (),
    nonce: bytes | None = None,
) -> gateway_pb2.ProposedTransaction:
    """An unsigned ``gateway.ProposedTransaction`` (signature to be set over ``proposal_bytes``)."""
    if not channel_name:
        raise ValueError("channel_name: must not be empty")
    if not chaincode_name:
        raise ValueError("chaincode_name: must not be empty")
    nonce = new_nonce() if nonce is None else nonce
    tx_id = compute_transaction_id(nonce, creator)
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode_name)
    spec = chaincode_pb2.ChaincodeSpec(
        type=chaincode_pb2.ChaincodeSpec.NODE,
        chaincode_id=chaincode_id,
        input=chaincode_pb2.ChaincodeInput(
            args=[transaction_name.encode("utf-8")] + [to_bytes(a, f"args[{i}]") for i, a in enumerate(args)]
        ),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=spec)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel_name,
        tx_id=tx_id,
        timestamp=now_timestamp(),
        epoch=0,
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id).SerializeToString(),
    )
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header(creator, nonce).SerializeToString(),
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(),
        TransientMap={k: to_bytes(v, f"transient[{k!r}]") for k, v in (transient or {}).items()},
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())
    return gateway_pb2.ProposedTransaction(
        transaction_id=tx_id,
        proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
        endorsing_organizations=list(endorsing_organizations),
    )
