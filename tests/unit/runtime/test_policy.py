"""KeyEndorsementPolicy produces Go statebased's envelope: NOutOf(all) over sorted ROLE principals."""

from __future__ import annotations

import pytest
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from chaincode.runtime.policy import KeyEndorsementPolicy, PolicyError, RoleType


def test_policy_envelope_structure_and_roundtrip() -> None:
    ep = KeyEndorsementPolicy()
    ep.add_orgs(RoleType.PEER, "TrafficAuthorityMSP", "BankAMSP")
    ep.add_orgs("MEMBER", "InsurerMSP")
    raw = ep.policy()
    env = policies_pb2.SignaturePolicyEnvelope.FromString(raw)
    assert env.version == 0
    assert env.rule.n_out_of.n == 3
    assert [r.signed_by for r in env.rule.n_out_of.rules] == [0, 1, 2]
    roles = []
    for ident in env.identities:
        assert ident.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE
        role = msp_principal_pb2.MSPRole.FromString(ident.principal)
        roles.append((role.msp_identifier, role.role))
    assert roles == [
        ("BankAMSP", msp_principal_pb2.MSPRole.PEER),
        ("InsurerMSP", msp_principal_pb2.MSPRole.MEMBER),
        ("TrafficAuthorityMSP", msp_principal_pb2.MSPRole.PEER),
    ]
    again = KeyEndorsementPolicy(raw)
    assert again.list_orgs() == ["BankAMSP", "InsurerMSP", "TrafficAuthorityMSP"]
    assert again.role_of("InsurerMSP") is RoleType.MEMBER
    assert again.policy() == raw  # deterministic bytes
    again.del_orgs("InsurerMSP", "NotThere")
    assert again.list_orgs() == ["BankAMSP", "TrafficAuthorityMSP"]


def test_empty_and_bad_policies() -> None:
    assert KeyEndorsementPolicy(None).list_orgs() == []
    assert KeyEndorsementPolicy(b"").list_orgs() == []
    with pytest.raises(PolicyError):
        KeyEndorsementPolicy(b"\xff\x01garbage")
    with pytest.raises(PolicyError, match="role type"):
        KeyEndorsementPolicy().add_orgs("ADMIN", "X")
