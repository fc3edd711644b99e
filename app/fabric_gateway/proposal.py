"""A transaction proposal: evaluate it (query) or endorse it into a :class:`Transaction`.

The proposal's signature covers ``proposal_bytes``; for offline signing take :meth:`digest`,
sign it elsewhere and rebuild with ``Gateway.new_signed_proposal(proposal.bytes(), signature)``.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from fabric_protos.gateway import gateway_pb2

from .options import DEFAULT, Timeout
from .signing_identity import SigningIdentity
from .transaction import AsyncTransaction, Transaction

if TYPE_CHECKING:
    from .client import AsyncGatewayClient, GatewayClient


class ProposalBase:
    """Message state and signing shared by the blocking and asyncio proposals."""

    def __init__(
        self,
        signing_identity: SigningIdentity,
        proposed: gateway_pb2.ProposedTransaction,
        channel_name: str,
    ) -> None:
        self._signing_identity = signing_identity
        self._proposed = proposed
        self.channel_name = channel_name

    @property
    def transaction_id(self) -> str:
        return self._proposed.transaction_id

    @property
    def endorsing_organizations(self) -> list[str]:
        return list(self._proposed.endorsing_organizations)

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.ProposedTransaction`` (carries the signature once set)."""
        return self._proposed.SerializeToString()

    def digest(self) -> builtins.bytes:
        """What must be signed: the hash of the proposal bytes."""
        return self._signing_identity.digest(self._proposed.proposal.proposal_bytes)

    @property
    def signature(self) -> builtins.bytes:
        return self._proposed.proposal.signature

    def _ensure_signed(self) -> None:
        if not self._proposed.proposal.signature:
            self._proposed.proposal.signature = self._signing_identity.sign(
                self._proposed.proposal.proposal_bytes
            )

    def _evaluate_request(self) -> gateway_pb2.EvaluateRequest:
        self._ensure_signed()
        return gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            proposed_transaction=self._proposed.proposal,
            target_organizations=self._proposed.endorsing_organizations,
        )

    def _endorse_request(self) -> gateway_pb2.EndorseRequest:
        self._ensure_signed()
        return gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            proposed_transaction=self._proposed.proposal,
            endorsing_organizations=self._proposed.endorsing_organizations,
        )

    def _prepared(self, response: gateway_pb2.EndorseResponse) -> gateway_pb2.PreparedTransaction:
        return gateway_pb2.PreparedTransaction(
            transaction_id=self.transaction_id, envelope=response.prepared_transaction
        )


class Proposal(ProposalBase):
    """Blocking proposal."""

    def __init__(
        self,
        client: GatewayClient,
        signing_identity: SigningIdentity,
        proposed: gateway_pb2.ProposedTransaction,
        channel_name: str,
    ) -> None:
        super().__init__(signing_identity, proposed, channel_name)
        self._client = client

    def evaluate(self, *, timeout: Timeout = DEFAULT) -> builtins.bytes:
        """Run the transaction on one peer without ordering it; returns the chaincode's payload."""
        response = self._client.evaluate(self._evaluate_request(), timeout)
        return response.result.payload

    def endorse(self, *, timeout: Timeout = DEFAULT) -> Transaction:
        """Collect the endorsements the policy needs; returns the transaction ready to submit."""
        response = self._client.endorse(self._endorse_request(), timeout)
        return Transaction(self._client, self._signing_identity, self._prepared(response), self.channel_name)


class AsyncProposal(ProposalBase):
    """asyncio proposal."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        proposed: gateway_pb2.ProposedTransaction,
        channel_name: str,
    ) -> None:
        super().__init__(signing_identity, proposed, channel_name)
        self._client = client

    async def evaluate(self, *, timeout: Timeout = DEFAULT) -> builtins.bytes:
        """Run the transaction on one peer without ordering it; returns the chaincode's payload."""
        response = await self._client.evaluate(self._evaluate_request(), timeout)
        return response.result.payload

    async def endorse(self, *, timeout: Timeout = DEFAULT) -> AsyncTransaction:
        """Collect the endorsements the policy needs; returns the transaction ready to submit."""
        response = await self._client.endorse(self._endorse_request(), timeout)
        return AsyncTransaction(
            self._client, self._signing_identity, self._prepared(response), self.channel_name
        )
