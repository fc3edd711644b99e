"""Key-level endorsement policies, as fabric-chaincode-go's ``pkg/statebased``.

A policy is a set of MSP IDs, each with a role (PEER or MEMBER); ``policy()`` serializes a
``common.SignaturePolicyEnvelope`` that requires one signature from EVERY listed org
(NOutOf(n) over the orgs sorted by MSP ID), byte-for-byte what the Go package produces.
"""

from __future__ import annotations

from enum import StrEnum

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2


class RoleType(StrEnum):
    MEMBER = "MEMBER"
    PEER = "PEER"


_ROLE_TO_PROTO = {
    RoleType.MEMBER: msp_principal_pb2.MSPRole.MEMBER,
    RoleType.PEER: msp_principal_pb2.MSPRole.PEER,
}


class PolicyError(ValueError):
    """A policy that this helper cannot express or parse."""


class KeyEndorsementPolicy:
    """Build or edit the endorsement policy attached to one key (state-based endorsement)."""

    def __init__(self, policy: bytes | None = None) -> None:
        self._orgs: dict[str, int] = {}
        if policy:
            envelope = policies_pb2.SignaturePolicyEnvelope()
            try:
                envelope.ParseFromString(policy)
            except Exception as exc:
                raise PolicyError(f"not a SignaturePolicyEnvelope: {exc}") from exc
            for identity in envelope.identities:
                if identity.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
                    continue  # like Go: only ROLE principals are understood
                role = msp_principal_pb2.MSPRole()
                role.ParseFromString(identity.principal)
                self._orgs[role.msp_identifier] = role.role

    def add_orgs(self, role: RoleType | str, *msp_ids: str) -> None:
        """Require an endorsement from each of ``msp_ids`` with ``role`` (PEER or MEMBER)."""
        try:
            proto_role = _ROLE_TO_PROTO[RoleType(role)]
        except ValueError as exc:
            raise PolicyError(f"role type {role!r} does not exist (use PEER or MEMBER)") from exc
        for msp_id in msp_ids:
            if not msp_id:
                raise PolicyError("MSP ID must not be empty")
            self._orgs[msp_id] = proto_role

    def del_orgs(self, *msp_ids: str) -> None:
        for msp_id in msp_ids:
            self._orgs.pop(msp_id, None)

    def list_orgs(self) -> list[str]:
        return sorted(self._orgs)

    def role_of(self, msp_id: str) -> RoleType | None:
        value = self._orgs.get(msp_id)
        for role, proto_role in _ROLE_TO_PROTO.items():
            if proto_role == value:
                return role
        return None

    def envelope(self) -> policies_pb2.SignaturePolicyEnvelope:
        msp_ids = self.list_orgs()
        principals = []
        rules = []
        for i, msp_id in enumerate(msp_ids):
            role = msp_principal_pb2.MSPRole(role=self._orgs[msp_id], msp_identifier=msp_id)
            principals.append(
                msp_principal_pb2.MSPPrincipal(
                    principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                    principal=role.SerializeToString(),
                )
            )
            rules.append(policies_pb2.SignaturePolicy(signed_by=i))
        rule = policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=len(msp_ids), rules=rules)
        )
        return policies_pb2.SignaturePolicyEnvelope(version=0, rule=rule, identities=principals)

    def policy(self) -> bytes:
        """The serialized ``common.SignaturePolicyEnvelope`` to pass to set_state_validation_parameter."""
        return bytes(self.envelope().SerializeToString(deterministic=True))
