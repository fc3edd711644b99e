"""Endorsement: real signatures, the chaincode policy, key-level policies, the endorsement plan."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2

from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.port import TransactionInvalidated

from .conftest import BANK_A, DEALER, INSURER, OFFICER


def _transaction(ledger: EmbeddedLedger, block_number: int, tx_id: str) -> tuple[common_pb2.Payload, list]:
    block = ledger.block(block_number)
    assert block is not None
    for raw in block.data.data:
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        if header.tx_id == tx_id:
            tx = transaction_pb2.Transaction.FromString(payload.data)
            action = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
            return payload, [action.action.proposal_response_payload, list(action.action.endorsements)]
    raise AssertionError(f"tx {tx_id} not in block {block_number}")


def _endorser_msps(ledger: EmbeddedLedger, block_number: int, tx_id: str) -> list[str]:
    _, (_, endorsements) = _transaction(ledger, block_number, tx_id)
    return sorted(identities_pb2.SerializedIdentity.FromString(e.endorser).mspid for e in endorsements)


async def test_endorsements_are_real_signatures_and_tx_id_is_fabrics(ledger: EmbeddedLedger) -> None:
    result = await ledger.submit(BANK_A, "Put", ["k", "v"])
    payload, (prp, endorsements) = _transaction(ledger, result.block_number, result.tx_id)
    signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
    assert hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest() == result.tx_id
    assert identities_pb2.SerializedIdentity.FromString(signature_header.creator).mspid == "BankAMSP"
    assert len(endorsements) == 2  # OutOf(2, ...): BankA (caller's org first) + one more
    for endorsement in endorsements:
        ident = identities_pb2.SerializedIdentity.FromString(endorsement.endorser)
        cert = x509.load_pem_x509_certificate(ident.id_bytes)
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(endorsement.signature, prp + endorsement.endorser, ec.ECDSA(hashes.SHA256()))
        assert proposal_response_pb2.ProposalResponsePayload.FromString(prp).proposal_hash
    assert "BankAMSP" in _endorser_msps(ledger, result.block_number, result.tx_id)


async def test_too_few_endorsers_is_endorsement_policy_failure(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["k", "before"])
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit(OFFICER, "Put", ["k", "after"], endorsing_orgs=["TrafficAuthorityMSP"])
    assert info.value.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    assert await ledger.evaluate(OFFICER, "Get", ["k"]) == b"before"  # state untouched
    status = await ledger.transaction_status(info.value.tx_id)
    assert status is not None and status.validation_code == "ENDORSEMENT_POLICY_FAILURE"


async def test_named_endorsers_satisfying_the_policy_commit(ledger: EmbeddedLedger) -> None:
    result = await ledger.submit(DEALER, "Put", ["d", "1"], endorsing_orgs=["BankBMSP", "InsurerMSP"])
    assert _endorser_msps(ledger, result.block_number, result.tx_id) == ["BankBMSP", "InsurerMSP"]


async def test_unknown_endorsing_org_is_refused_before_ordering(ledger: EmbeddedLedger) -> None:
    height = ledger.height()
    with pytest.raises(Exception, match="no peers available"):
        await ledger.submit(OFFICER, "Put", ["x", "1"], endorsing_orgs=["RegulatorMSP", "BankAMSP"])
    assert ledger.height() == height


async def test_key_level_policy_overrides_chaincode_policy(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["car", "v1"])
    await ledger.submit(OFFICER, "LockToOrgs", ["car", '["BankBMSP", "InsurerMSP"]'])
    # satisfies the chaincode policy (2 of 4) but not the key's policy (BankB AND Insurer)
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit(OFFICER, "Put", ["car", "v2"], endorsing_orgs=["TrafficAuthorityMSP", "BankAMSP"])
    assert info.value.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    assert await ledger.evaluate(OFFICER, "Get", ["car"]) == b"v1"
    # the default plan reads the key's policy and asks BankB and Insurer
    result = await ledger.submit(OFFICER, "Put", ["car", "v3"])
    assert _endorser_msps(ledger, result.block_number, result.tx_id) == ["BankBMSP", "InsurerMSP"]
    # a key without a key-level policy in the same tx still needs the chaincode policy (checked once)
    other = await ledger.submit(INSURER, "Put", ["other", "x"])
    assert len(_endorser_msps(ledger, other.block_number, other.tx_id)) == 2


async def test_setting_a_key_policy_is_checked_against_the_old_policy(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["lot", "v1"])
    await ledger.submit(OFFICER, "LockToOrgs", ["lot", '["InsurerMSP"]'])
    # changing the policy needs the CURRENT key policy (Insurer), not the new one
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit(OFFICER, "LockToOrgs", ["lot", '["BankAMSP"]'], endorsing_orgs=["BankAMSP"])
    assert info.value.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    ok = await ledger.submit(OFFICER, "LockToOrgs", ["lot", '["BankAMSP"]'], endorsing_orgs=["InsurerMSP"])
    assert ok.validation_code == "VALID"


async def test_chaincode_refusal_writes_nothing(ledger: EmbeddedLedger) -> None:
    height = ledger.height()
    with pytest.raises(Exception) as info:
        await ledger.submit(OFFICER, "PutPrivate", ["taBank", "k"])  # no transient value
    assert getattr(info.value, "status", None) == 400
    assert "transient field 'value' is required" in str(info.value)
    assert ledger.height() == height


async def test_key_level_policy_on_a_private_key(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "PutPrivate", ["openRead", "deed"], transient={"value": b"v1"})
    await ledger.submit(OFFICER, "LockPrivateToOrgs", ["openRead", "deed", '["InsurerMSP", "BankBMSP"]'])
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit(
            OFFICER,
            "PutPrivate",
            ["openRead", "deed"],
            transient={"value": b"v2"},
            endorsing_orgs=["TrafficAuthorityMSP", "BankAMSP"],
        )
    assert info.value.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    assert await ledger.evaluate(OFFICER, "GetPrivate", ["openRead", "deed"]) == b"v1"
    result = await ledger.submit(OFFICER, "PutPrivate", ["openRead", "deed"], transient={"value": b"v3"})
    assert _endorser_msps(ledger, result.block_number, result.tx_id) == ["BankBMSP", "InsurerMSP"]
    assert await ledger.evaluate(OFFICER, "GetPrivate", ["openRead", "deed"]) == b"v3"


def test_an_empty_key_policy_is_unsatisfiable_as_in_the_fabric_endorser() -> None:
    """Fabric's endorser takes a present-but-empty VALIDATION_PARAMETER as the key's policy (never met)."""
    from app.ledger.embedded.plan import UNSATISFIABLE, choose_orgs

    orgs = ["TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP"]
    assert choose_orgs([UNSATISFIABLE], orgs, "TrafficAuthorityMSP") is None
