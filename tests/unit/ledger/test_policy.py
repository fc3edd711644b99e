"""Fabric's signature policy DSL and its evaluation (cauthdsl semantics)."""

from __future__ import annotations

import pytest
from fabric_protos.msp import msp_principal_pb2

from app.ledger.embedded.policy import PolicyError, Signer, evaluate, parse_policy, principal_orgs
from chaincode.runtime.policy import KeyEndorsementPolicy

POLICY = "OutOf(2,'TrafficAuthorityMSP.peer','BankAMSP.peer','BankBMSP.peer','InsurerMSP.peer')"


def peer(msp: str) -> Signer:
    return Signer(msp, "peer", f"{msp}-peer".encode())


def test_outof_parses_like_policydsl() -> None:
    envelope = parse_policy(POLICY)
    assert envelope.version == 0
    assert envelope.rule.n_out_of.n == 2
    assert [r.signed_by for r in envelope.rule.n_out_of.rules] == [0, 1, 2, 3]
    roles = [msp_principal_pb2.MSPRole.FromString(p.principal) for p in envelope.identities]
    assert [r.msp_identifier for r in roles] == ["TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP"]
    assert {r.role for r in roles} == {msp_principal_pb2.MSPRole.PEER}


def test_and_or_nesting_and_quotes() -> None:
    envelope = parse_policy("""AND('A.member', OR("B.admin", 'C.client'))""")
    assert envelope.rule.n_out_of.n == 2
    inner = envelope.rule.n_out_of.rules[1].n_out_of
    assert inner.n == 1 and [r.signed_by for r in inner.rules] == [1, 2]
    assert principal_orgs(envelope) == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("signers", "ok"),
    [
        (["BankAMSP"], False),
        (["BankAMSP", "BankBMSP"], True),
        (["InsurerMSP", "TrafficAuthorityMSP"], True),
        (["RegulatorMSP", "BankAMSP"], False),
    ],
)
def test_evaluate_outof(signers: list[str], ok: bool) -> None:
    assert evaluate(parse_policy(POLICY), [peer(m) for m in signers]) is ok


def test_one_signer_satisfies_one_principal_only() -> None:
    envelope = parse_policy("AND('A.member','A.member')")
    assert not evaluate(envelope, [peer("A")])
    assert evaluate(envelope, [peer("A"), Signer("A", "peer", b"second")])


def test_roles_need_the_matching_node_ou() -> None:
    assert not evaluate(parse_policy("OR('A.peer')"), [Signer("A", "client", b"x")])
    assert evaluate(parse_policy("OR('A.member')"), [Signer("A", "client", b"x")])
    assert evaluate(parse_policy("OR('A.admin')"), [Signer("A", "admin", b"x")])


def test_key_level_policy_from_the_runtime_is_understood() -> None:
    sbe = KeyEndorsementPolicy()
    sbe.add_orgs("PEER", "TrafficAuthorityMSP", "BankAMSP")
    from app.ledger.embedded.policy import envelope_from_bytes

    envelope = envelope_from_bytes(sbe.policy())
    assert not evaluate(envelope, [peer("TrafficAuthorityMSP")])
    assert evaluate(envelope, [peer("TrafficAuthorityMSP"), peer("BankAMSP")])


@pytest.mark.parametrize(
    "bad",
    ["", "OR(", "AND('A.member'", "OutOf(3,'A.member','B.member')", "OR('A.boss')", "XOR('A.member')"],
)
def test_bad_policies_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(PolicyError):
        parse_policy(bad)
