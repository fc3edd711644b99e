"""Per-stage deadlines and event reconnection settings."""

from __future__ import annotations

from dataclasses import dataclass


class _Default:
    """Marker for "use the gateway's default deadline" (None means "no deadline")."""

    _instance: _Default | None = None

    def __new__(cls) -> _Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()
Timeout = float | None | _Default


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Seconds each Gateway call may take; None waits for ever. Streams have none by default."""

    evaluate: float | None = 5.0
    endorse: float | None = 15.0
    submit: float | None = 5.0
    commit_status: float | None = 60.0
    chaincode_events: float | None = None
    block_events: float | None = None


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How an event listener resubscribes (from where it stopped) after the peer goes away.

    ``max_attempts`` counts consecutive failed resubscriptions; None retries for ever.
    """

    enabled: bool = True
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    max_attempts: int | None = None

    def allows(self, attempt: int) -> bool:
        """Whether resubscription number ``attempt`` (1 = the first after a failure) may be made."""
        return self.enabled and (self.max_attempts is None or attempt <= self.max_attempts)

    def backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.initial_backoff * (2.0 ** max(0, attempt - 1)))


def resolve(timeout: Timeout, default: float | None) -> float | None:
    return default if isinstance(timeout, _Default) else timeout
