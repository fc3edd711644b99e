"""Transaction facts read from a signed proposal, as fabric-chaincode-go's stub reads them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2

from chaincode.runtime.fakepeer import build_signed_proposal
from chaincode.runtime.proposal import ProposalError, facts_from_signed_proposal


def test_facts_from_a_signed_proposal() -> None:
    ts = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    nonce = bytes(range(24))
    sp = build_signed_proposal(
        "tx1", "vehicles", "mortgage", [b"Fn", b"a"], b"creator", ts, {"k": b"v"}, nonce
    )
    facts = facts_from_signed_proposal("tx1", "vehicles", [b"Fn", b"a"], sp.SerializeToString(), {"d": b"1"})
    assert facts.creator == b"creator"
    assert facts.timestamp == ts
    assert facts.transient == {"k": b"v"}
    assert facts.decorations == {"d": b"1"}
    # binding = sha256(nonce || creator || epoch as uint64 little-endian); epoch is 0 here
    assert facts.binding == hashlib.sha256(nonce + b"creator" + b"\x00" * 8).digest()
    assert facts.signed_proposal == sp.SerializeToString()


def test_no_proposal_gives_only_ids_and_args() -> None:
    facts = facts_from_signed_proposal("tx", "ch", [b"x"], None)
    assert (facts.tx_id, facts.channel_id, facts.args, facts.creator, facts.binding) == (
        "tx",
        "ch",
        [b"x"],
        b"",
        b"",
    )


def test_wrong_header_type_and_garbage_are_refused() -> None:
    sp = build_signed_proposal("t", "c", "cc", [], b"me", datetime.now(UTC))
    prop = proposal_pb2.Proposal.FromString(sp.proposal_bytes)
    hdr = common_pb2.Header.FromString(prop.header)
    chdr = common_pb2.ChannelHeader.FromString(hdr.channel_header)
    chdr.type = common_pb2.MESSAGE
    hdr.channel_header = chdr.SerializeToString()
    prop.header = hdr.SerializeToString()
    sp.proposal_bytes = prop.SerializeToString()
    with pytest.raises(ProposalError, match="invalid channel header type"):
        facts_from_signed_proposal("t", "c", [], sp.SerializeToString())
    with pytest.raises(ProposalError):
        facts_from_signed_proposal("t", "c", [], b"\xff\xff not a proposal")
