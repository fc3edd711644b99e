"""The embedded ledger's hashing and signing rules, checked against blocks of the real network.

The embedded ledger computes block data hashes, header hashes, tx ids and endorsement signatures
"as Fabric does"; here those same functions must reproduce what a Fabric 2.5 orderer and peers
actually wrote.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2

from app.ledger.embedded import protocol
from app.ledger.port import Caller

from .conftest import fabric_ledger

pytestmark = pytest.mark.fabric


async def test_real_blocks_match_the_embedded_hashing_and_signatures(fabric_network: object) -> None:
    ledger = fabric_ledger(fabric_network)
    try:
        # make sure there is a fresh endorser transaction to look at
        admin = Caller("admin", "TrafficAuthorityMSP", {"role": "admin"})
        config = json.loads(await ledger.evaluate(admin, "GetConfig", []))
        result = await ledger.submit(
            admin,
            "SetConfig",
            [
                json.dumps(
                    {"ltv_cap": config["ltv_cap"], "valuation_max_age_days": config["valuation_max_age_days"]}
                )
            ],
        )
        number = result.block_number
        block = common_pb2.Block.FromString(await ledger._qscc("GetBlockByNumber", str(number)))
        previous = common_pb2.Block.FromString(await ledger._qscc("GetBlockByNumber", str(number - 1)))
        info = ledger_pb2.BlockchainInfo.FromString(await ledger._qscc("GetChainInfo"))

        assert block.header.data_hash == protocol.block_data_hash(block.data)
        assert block.header.previous_hash == protocol.block_header_hash(previous.header)
        if info.height == number + 1:
            assert info.currentBlockHash == protocol.block_header_hash(block.header)
        assert info.height > number

        tx_filter = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
        checked = 0
        for index, raw in enumerate(block.data.data):
            envelope = common_pb2.Envelope.FromString(raw)
            payload = common_pb2.Payload.FromString(envelope.payload)
            header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            if header.type != common_pb2.ENDORSER_TRANSACTION:
                continue
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            assert protocol.tx_id_for(signature_header.nonce, signature_header.creator) == header.tx_id
            creator = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
            creator_key = x509.load_pem_x509_certificate(creator.id_bytes).public_key()
            assert isinstance(creator_key, ec.EllipticCurvePublicKey)
            assert protocol.verify(creator_key, envelope.signature, envelope.payload)  # low-S, SHA-256
            tx = transaction_pb2.Transaction.FromString(payload.data)
            action = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
            prp = action.action.proposal_response_payload
            for endorsement in action.action.endorsements:
                endorser = identities_pb2.SerializedIdentity.FromString(endorsement.endorser)
                key = x509.load_pem_x509_certificate(endorser.id_bytes).public_key()
                assert isinstance(key, ec.EllipticCurvePublicKey)
                assert protocol.verify(key, endorsement.signature, prp + endorsement.endorser), endorser.mspid
            if header.tx_id == result.tx_id:
                assert tx_filter[index] == transaction_pb2.VALID
                assert len(action.action.endorsements) >= 2  # OutOf(2, ...) as planned by the Gateway
            checked += 1
        assert checked >= 1
        assert hashlib.sha256(b"".join(block.data.data)).digest() == block.header.data_hash
    finally:
        await ledger.close()
