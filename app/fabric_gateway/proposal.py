"""A transaction proposal: evaluate it (query) or endorse it into a :class:`Transaction`.

The proposal's signature covers ``proposal_bytes``; for offline signing take
:meth:`ProposalBase.digest`, sign it elsewhere and rebuild with
``Gateway.new_signed_proposal(proposal.bytes(), signature)``. The blocking and asyncio proposals
differ only in :meth:`evaluate` and :meth:`endorse`, the methods that call the peer.
"""

from __future__ import annotations

import builtins
from typing import Any, Generic, TypeVar

from fabric_protos.gateway import gateway_pb2

from .options import DEFAULT, Timeout
from .session import AsyncSession, BlockingSession, Session
from .transaction import AsyncTransaction, Transaction

S = TypeVar("S", bound=Session[Any, Any])


class ProposalBase(Generic[S]):
    """Message state and signing shared by the blocking and asyncio proposals."""

    def __init__(self, session: S, proposed: gateway_pb2.ProposedTransaction, channel_name: str) -> None:
        self._session = session
        self._proposed = proposed
        self.channel_name = channel_name

    @property
    def transaction_id(self) -> str:
        return str(self._proposed.transaction_id)

    @property
    def endorsing_organizations(self) -> list[str]:
        return list(self._proposed.endorsing_organizations)

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.ProposedTransaction`` (carries the signature once set)."""
        return bytes(self._proposed.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What must be signed: the hash of the proposal bytes."""
        return self._session.signing_identity.digest(self._proposed.proposal.proposal_bytes)

    @property
    def signature(self) -> builtins.bytes:
        return bytes(self._proposed.proposal.signature)

    def _signed(self) -> Any:
        proposal = self._proposed.proposal
        if not proposal.signature:
            proposal.signature = self._session.signing_identity.sign(proposal.proposal_bytes)
        return proposal

    def _evaluate_request(self) -> gateway_pb2.EvaluateRequest:
        return gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            proposed_transaction=self._signed(),
            target_organizations=self._proposed.endorsing_organizations,
        )

    def _endorse_request(self) -> gateway_pb2.EndorseRequest:
        return gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            proposed_transaction=self._signed(),
            endorsing_organizations=self._proposed.endorsing_organizations,
        )

    def _prepared(self, response: gateway_pb2.EndorseResponse) -> gateway_pb2.PreparedTransaction:
        return gateway_pb2.PreparedTransaction(
            transaction_id=self.transaction_id, envelope=response.prepared_transaction
        )


class Proposal(ProposalBase[BlockingSession]):
    """Blocking proposal."""

    def evaluate(self, *, timeout: Timeout = DEFAULT) -> builtins.bytes:
        """Run the transaction on one peer without ordering it; returns the chaincode's payload."""
        response = self._session.client.evaluate(self._evaluate_request(), timeout)
        return bytes(response.result.payload)

    def endorse(self, *, timeout: Timeout = DEFAULT) -> Transaction:
        """Collect the endorsements the policy needs; returns the transaction ready to submit."""
        response = self._session.client.endorse(self._endorse_request(), timeout)
        return Transaction(self._session, self._prepared(response), self.channel_name)


class AsyncProposal(ProposalBase[AsyncSession]):
    """asyncio proposal."""

    async def evaluate(self, *, timeout: Timeout = DEFAULT) -> builtins.bytes:
        """Run the transaction on one peer without ordering it; returns the chaincode's payload."""
        response = await self._session.client.evaluate(self._evaluate_request(), timeout)
        return bytes(response.result.payload)

    async def endorse(self, *, timeout: Timeout = DEFAULT) -> AsyncTransaction:
        """Collect the endorsements the policy needs; returns the transaction ready to submit."""
        response = await self._session.client.endorse(self._endorse_request(), timeout)
        return AsyncTransaction(self._session, self._prepared(response), self.channel_name)
