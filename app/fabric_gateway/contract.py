"""A smart contract on a network: build proposals, or evaluate/submit in one call.

Proposal building is written once (:class:`ContractBase`); the blocking and asyncio contracts hold
only the convenience methods that wait on the peer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fabric_protos.gateway import gateway_pb2

from .commit_status import Status
from .options import DEFAULT, Timeout
from .proposal import AsyncProposal, Proposal
from .proposal_builder import Arg, build_proposed_transaction, qualified_transaction_name
from .signing_identity import SigningIdentity

P = TypeVar("P", bound=Proposal | AsyncProposal)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A committed, valid transaction: chaincode result, tx id and commit status (block number)."""

    transaction_id: str
    result: bytes
    status: Status


class ContractBase(Generic[P]):
    """Names and proposal building shared by the blocking and asyncio contracts."""

    def __init__(
        self,
        new_proposal: Callable[[gateway_pb2.ProposedTransaction, str], P],
        signing_identity: SigningIdentity,
        channel_name: str,
        chaincode_name: str,
        contract_name: str = "",
    ) -> None:
        if not chaincode_name:
            raise ValueError("chaincode_name: must not be empty")
        self._proposal = new_proposal
        self._signing_identity = signing_identity
        self.channel_name = channel_name
        self.chaincode_name = chaincode_name
        self.contract_name = contract_name

    def new_proposal(
        self,
        transaction_name: str,
        args: Sequence[Arg] = (),
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> P:
        """An unsigned proposal for the fine-grained (or offline-signing) flow."""
        if isinstance(args, str | bytes):
            raise TypeError("args: pass a sequence of arguments, not a single str/bytes")
        proposed = build_proposed_transaction(
            creator=self._signing_identity.creator,
            channel_name=self.channel_name,
            chaincode_name=self.chaincode_name,
            transaction_name=qualified_transaction_name(self.contract_name, transaction_name),
            args=args,
            transient=transient,
            endorsing_organizations=endorsing_organizations or (),
        )
        return self._proposal(proposed, self.channel_name)


class Contract(ContractBase[Proposal]):
    """Blocking contract."""

    def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        timeout: Timeout = DEFAULT,
    ) -> bytes:
        """Query: run on one peer, no ordering; returns the chaincode's payload."""
        proposal = self.new_proposal(transaction_name, args, transient, endorsing_organizations)
        return proposal.evaluate(timeout=timeout)

    def submit(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> Submitted:
        """Endorse, submit and wait for commit; raises CommitError unless the transaction is VALID."""
        transaction = self.new_proposal(transaction_name, args, transient, endorsing_organizations).endorse()
        status = transaction.submit().get_status().raise_for_status()
        return Submitted(transaction.transaction_id, transaction.result, status)

    def submit_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes:
        """Like :meth:`submit` but returns only the chaincode's payload (as the Go client)."""
        orgs = endorsing_organizations
        return self.submit(transaction_name, *args, transient=transient, endorsing_organizations=orgs).result


class AsyncContract(ContractBase[AsyncProposal]):
    """asyncio contract."""

    async def evaluate_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
        timeout: Timeout = DEFAULT,
    ) -> bytes:
        """Query: run on one peer, no ordering; returns the chaincode's payload."""
        proposal = self.new_proposal(transaction_name, args, transient, endorsing_organizations)
        return await proposal.evaluate(timeout=timeout)

    async def submit(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> Submitted:
        """Endorse, submit and wait for commit; raises CommitError unless the transaction is VALID."""
        proposal = self.new_proposal(transaction_name, args, transient, endorsing_organizations)
        transaction = await proposal.endorse()
        status = (await (await transaction.submit()).get_status()).raise_for_status()
        return Submitted(transaction.transaction_id, transaction.result, status)

    async def submit_transaction(
        self,
        transaction_name: str,
        *args: Arg,
        transient: Mapping[str, Arg] | None = None,
        endorsing_organizations: Sequence[str] | None = None,
    ) -> bytes:
        """Like :meth:`submit` but returns only the chaincode's payload (as the Go client)."""
        orgs = endorsing_organizations
        submitted = await self.submit(
            transaction_name, *args, transient=transient, endorsing_organizations=orgs
        )
        return submitted.result
