"""The blocking and asyncio flavours: which classes do a gateway's I/O, bound to its session.

:class:`Gateway` and :class:`Network` are written once and build everything through a
:class:`Flavor`; only the classes whose methods wait on the peer (contract, proposal, transaction,
commit, event iterators) come in a blocking and an asyncio kind, as httpx splits only its transports
and the methods that send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from .block_events import BlockEventsRequest
from .chaincode_events import ChaincodeEventsRequest
from .event_stream import EventSource
from .events import ChaincodeEvent
from .options import ReconnectPolicy
from .session import Session
from .signing_identity import SigningIdentity

S = TypeVar("S", bound=Session[Any, Any])
C = TypeVar("C")  # contract
P = TypeVar("P")  # proposal
T = TypeVar("T")  # transaction
M = TypeVar("M")  # commit
E = TypeVar("E")  # chaincode events iterator
B = TypeVar("B")  # block events iterator


@dataclass(frozen=True, slots=True)
class Flavor(Generic[C, P, T, M, E, B]):
    """Constructors of one gateway's I/O objects, already bound to its session."""

    session: Session[Any, Any]
    contract: Callable[[str, str, str], C]
    proposal: Callable[[gateway_pb2.ProposedTransaction, str], P]
    transaction: Callable[[gateway_pb2.PreparedTransaction, str], T]
    commit: Callable[[gateway_pb2.SignedCommitStatusRequest, str], M]
    chaincode_events: Callable[[EventSource[ChaincodeEvent], ReconnectPolicy], E]
    block_events: Callable[[EventSource[Any], ReconnectPolicy], B]

    def chaincode_events_request(
        self, signed: gateway_pb2.SignedChaincodeEventsRequest
    ) -> ChaincodeEventsRequest[E]:
        session = self.session
        return ChaincodeEventsRequest(
            session.client, session.signing_identity, signed, session.reconnect, self.chaincode_events
        )

    def block_events_request(self, envelope: common_pb2.Envelope, kind: str) -> BlockEventsRequest[B]:
        session = self.session
        return BlockEventsRequest(
            session.client, session.signing_identity, envelope, kind, session.reconnect, self.block_events
        )


def bind(
    session: S,
    contract: Callable[
        [Callable[[gateway_pb2.ProposedTransaction, str], P], SigningIdentity, str, str, str], C
    ],
    proposal: Callable[[S, gateway_pb2.ProposedTransaction, str], P],
    transaction: Callable[[S, gateway_pb2.PreparedTransaction, str], T],
    commit: Callable[[S, gateway_pb2.SignedCommitStatusRequest, str], M],
    chaincode_events: Callable[[EventSource[ChaincodeEvent], ReconnectPolicy], E],
    block_events: Callable[[EventSource[Any], ReconnectPolicy], B],
) -> Flavor[C, P, T, M, E, B]:
    """A flavour from its classes: ``bind(session, Contract, Proposal, ..., EventIterator, ...)``."""

    def new_proposal(proposed: gateway_pb2.ProposedTransaction, channel_name: str) -> P:
        return proposal(session, proposed, channel_name)

    def new_contract(channel_name: str, chaincode_name: str, contract_name: str) -> C:
        return contract(new_proposal, session.signing_identity, channel_name, chaincode_name, contract_name)

    return Flavor(
        session=session,
        contract=new_contract,
        proposal=new_proposal,
        transaction=lambda prepared, channel_name: transaction(session, prepared, channel_name),
        commit=lambda signed, transaction_id: commit(session, signed, transaction_id),
        chaincode_events=chaincode_events,
        block_events=block_events,
    )
