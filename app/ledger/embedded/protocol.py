"""Fabric's transaction and block messages, built and hashed the way a peer and orderer do.

The embedded ledger stores real ``common.Block`` messages: envelopes carrying the signed proposal
header, the endorsed ``ProposalResponsePayload`` (with the ``TxReadWriteSet``) and the endorsements.
Hashes follow Fabric: tx id = sha256(nonce ‖ creator); proposal hash = sha256(channel header ‖
signature header ‖ proposal payload without the transient map); block data hash = sha256 of the
concatenated envelopes; block header hash = sha256 of the ASN.1 DER ``{number, previous, data}``;
endorsement signature over ``prp bytes ‖ endorser``; signatures ECDSA P-256/SHA-256 with low S.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from fabric_protos.common import common_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf.timestamp_pb2 import Timestamp

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

VALIDATION_CODES: dict[int, str] = {
    value.number: name for name, value in transaction_pb2.TxValidationCode.DESCRIPTOR.values_by_name.items()
}


def code_name(code: int) -> str:
    return VALIDATION_CODES.get(code, f"UNKNOWN_{code}")


def tx_id_for(nonce: bytes, creator: bytes) -> str:
    return hashlib.sha256(nonce + creator).hexdigest()


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """ECDSA/SHA-256 signature in DER with S normalised to the lower half, as Fabric requires."""
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    if s > _P256_ORDER // 2:
        s = _P256_ORDER - s
    return encode_dss_signature(r, s)


def verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    """Verify a low-S ECDSA/SHA-256 signature (a high-S one is refused, like Fabric's bccsp)."""
    try:
        _, s = decode_dss_signature(signature)
        if s > _P256_ORDER // 2:
            return False
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def timestamp_of(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC).replace(tzinfo=None))
    return stamp


def datetime_of(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime().replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BuiltProposal:
    """A proposal as the client builds it, with the pieces later stages need."""

    tx_id: str
    proposal: proposal_pb2.Proposal
    signed: proposal_pb2.SignedProposal
    header: common_pb2.Header
    payload_for_tx: bytes  # ChaincodeProposalPayload without the transient map

    @property
    def proposal_hash(self) -> bytes:
        digest = hashlib.sha256()
        digest.update(self.header.channel_header)
        digest.update(self.header.signature_header)
        digest.update(self.payload_for_tx)
        return digest.digest()


def build_proposal(
    *,
    channel: str,
    chaincode: str,
    creator: bytes,
    nonce: bytes,
    timestamp: datetime,
    args: list[bytes],
    transient: dict[str, bytes] | None,
    signing_key: ec.EllipticCurvePrivateKey,
) -> BuiltProposal:
    tx_id = tx_id_for(nonce, creator)
    cc_id = chaincode_pb2.ChaincodeID(name=chaincode)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=tx_id,
        timestamp=timestamp_of(timestamp),
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=cc_id).SerializeToString(),
    )
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )
    spec = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            chaincode_id=cc_id, input=chaincode_pb2.ChaincodeInput(args=args)
        )
    )
    payload_for_tx = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString()).SerializeToString()
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=spec.SerializeToString(), TransientMap=transient or {}
    ).SerializeToString()
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload)
    proposal_bytes = proposal.SerializeToString()
    signed = proposal_pb2.SignedProposal(
        proposal_bytes=proposal_bytes, signature=sign(signing_key, proposal_bytes)
    )
    return BuiltProposal(tx_id, proposal, signed, header, payload_for_tx)


def build_response_payload(
    *,
    proposal_hash: bytes,
    chaincode: str,
    results: bytes,
    event: chaincode_event_pb2.ChaincodeEvent | None,
    status: int,
    message: str,
    payload: bytes,
) -> bytes:
    action = proposal_pb2.ChaincodeAction(
        results=results,
        events=event.SerializeToString() if event is not None else b"",
        response=proposal_response_pb2.Response(status=status, message=message, payload=payload),
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
    )
    return proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=proposal_hash, extension=action.SerializeToString()
    ).SerializeToString()


def endorse(
    prp_bytes: bytes, endorser: bytes, key: ec.EllipticCurvePrivateKey
) -> proposal_response_pb2.Endorsement:
    return proposal_response_pb2.Endorsement(endorser=endorser, signature=sign(key, prp_bytes + endorser))


def build_envelope(
    built: BuiltProposal,
    prp_bytes: bytes,
    endorsements: list[proposal_response_pb2.Endorsement],
    signing_key: ec.EllipticCurvePrivateKey,
) -> common_pb2.Envelope:
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=built.payload_for_tx,
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=prp_bytes, endorsements=endorsements
        ),
    )
    tx = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=built.header.signature_header, payload=action_payload.SerializeToString()
            )
        ]
    )
    payload = common_pb2.Payload(header=built.header, data=tx.SerializeToString()).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=sign(signing_key, payload))


# --- blocks ------------------------------------------------------------------------------
def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return b"\x02" + _der_length(len(body)) + body


def _der_octets(value: bytes) -> bytes:
    return b"\x04" + _der_length(len(value)) + value


def block_header_bytes(header: common_pb2.BlockHeader) -> bytes:
    """ASN.1 DER of Fabric's ``asn1Header{Number, PreviousHash, DataHash}`` (protoutil.BlockHeaderBytes)."""
    body = _der_integer(header.number) + _der_octets(header.previous_hash) + _der_octets(header.data_hash)
    return b"\x30" + _der_length(len(body)) + body


def block_header_hash(header: common_pb2.BlockHeader) -> bytes:
    return hashlib.sha256(block_header_bytes(header)).digest()


def block_data_hash(data: common_pb2.BlockData) -> bytes:
    return hashlib.sha256(b"".join(data.data)).digest()


def new_block(number: int, previous_hash: bytes, envelopes: list[bytes]) -> common_pb2.Block:
    data = common_pb2.BlockData(data=envelopes)
    header = common_pb2.BlockHeader(
        number=number, previous_hash=previous_hash, data_hash=block_data_hash(data)
    )
    metadata = common_pb2.BlockMetadata(metadata=[b""] * len(common_pb2.BlockMetadataIndex.keys()))
    return common_pb2.Block(header=header, data=data, metadata=metadata)


def sign_block(block: common_pb2.Block, signer: bytes, key: ec.EllipticCurvePrivateKey, nonce: bytes) -> None:
    """Add the orderer's SIGNATURES metadata: sign(value ‖ signature header ‖ header bytes)."""
    signature_header = common_pb2.SignatureHeader(creator=signer, nonce=nonce).SerializeToString()
    value = b""
    signature = sign(key, value + signature_header + block_header_bytes(block.header))
    metadata = common_pb2.Metadata(
        value=value,
        signatures=[common_pb2.MetadataSignature(signature_header=signature_header, signature=signature)],
    )
    block.metadata.metadata[common_pb2.SIGNATURES] = metadata.SerializeToString()


def block_signature(block: common_pb2.Block) -> tuple[bytes, bytes, bytes] | None:
    """(creator, signed message, signature) of the block's orderer signature, if any."""
    raw = block.metadata.metadata[common_pb2.SIGNATURES] if block.metadata.metadata else b""
    if not raw:
        return None
    metadata = common_pb2.Metadata()
    metadata.ParseFromString(raw)
    if not metadata.signatures:
        return None
    sig = metadata.signatures[0]
    header = common_pb2.SignatureHeader()
    header.ParseFromString(sig.signature_header)
    message = metadata.value + sig.signature_header + block_header_bytes(block.header)
    return header.creator, message, sig.signature
