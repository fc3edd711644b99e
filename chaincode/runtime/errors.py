"""Errors a contract raises and errors the ledger raises back into a contract.

``ContractError`` is the contract's way to refuse a call with a status; any other exception is
reported as status 500 with its message. ``PeerError`` is raised inside the contract when the peer
(or the in-process host) answers a stub call with ERROR, so a refused read or write can never be
mistaken for a value or a success.
"""

from __future__ import annotations


class ContractError(Exception):
    """A refused transaction: ``status`` (>= 400) and a ``message`` that names the reason.

    Usual statuses: 400 bad input, 403 refused by an access rule, 404 not found, 409 state conflict,
    500 anything else. ``ContractError("vehicle X not found", status=404)``; the positional form
    ``ContractError(404, "vehicle X not found")`` is accepted too.
    """

    default_status = 500

    def __init__(self, message: str | int, status: int | str | None = None) -> None:
        if isinstance(message, int) and isinstance(status, str):
            message, status = status, message
        if status is None:
            status = self.default_status
        if not isinstance(status, int) or isinstance(status, bool):
            raise TypeError(f"ContractError status must be an int, got {status!r}")
        if status < 400 or status > 599:
            raise ValueError(f"ContractError status must be 400..599, got {status}")
        super().__init__(str(message))
        self.message = str(message)
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class BadRequestError(ContractError):
    """Malformed or invalid input (400)."""

    default_status = 400


class ForbiddenError(ContractError):
    """Refused by an access rule (403)."""

    default_status = 403


class NotFoundError(ContractError):
    """The object the call names does not exist (404)."""

    default_status = 404


class ConflictError(ContractError):
    """The call does not fit the current state (409)."""

    default_status = 409


class PeerError(Exception):
    """The peer (or in-process host) refused a stub request; ``message`` is its error text."""

    def __init__(self, request: str, message: str) -> None:
        super().__init__(f"{request} failed: {message}")
        self.request = request
        self.message = message


class StubUsageError(ValueError):
    """A stub call with arguments Fabric would refuse (bad key, bad composite-key attribute...)."""
