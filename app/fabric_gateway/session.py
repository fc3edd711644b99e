"""What every request object of one gateway needs: the transport, the signer and the commit listeners.

Generic in the transport and listener flavour so that the blocking classes see a
:class:`GatewayClient` and the asyncio ones an :class:`AsyncGatewayClient`, while the code that
builds and signs messages is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from .client import AsyncGatewayClient, GatewayClient
from .commit_listener import AsyncCommitListener, CommitListener, CommitListeners
from .options import ReconnectPolicy
from .signing_identity import SigningIdentity

ClientT = TypeVar("ClientT", bound=GatewayClient | AsyncGatewayClient)
ListenerT = TypeVar("ListenerT", bound=CommitListener | AsyncCommitListener)


@dataclass(frozen=True, slots=True)
class Session(Generic[ClientT, ListenerT]):
    """One identity on one grpc channel; ``listeners`` None: commit status from CommitStatus calls.

    ``reconnect`` is how event iterators resubscribe after the peer goes away."""

    client: ClientT
    signing_identity: SigningIdentity
    reconnect: ReconnectPolicy
    listeners: CommitListeners[ListenerT] | None = None


BlockingSession = Session[GatewayClient, CommitListener]
AsyncSession = Session[AsyncGatewayClient, AsyncCommitListener]
