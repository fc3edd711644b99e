"""Domain errors of the service layer: what went wrong in a use case, not how an edge shows it.

Each class carries the status class of its failure (as the ledger port's errors do), so the API's
one formatter (``app.api.errors``) and the web pages translate every service failure the same way.
``details`` name the field and the reason where one field is to blame.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; ``status`` is the HTTP-like class of the failure (the edges map it, nothing else)."""

    status = 500

    def __init__(self, message: str, *, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(ServiceError):
    """Bad input from the caller (a field and its reason in ``details``)."""

    status = 400


class NotPermitted(ServiceError):
    """An access rule refuses the caller (the rule is named in the message)."""

    status = 403


class NotFound(ServiceError):
    """What was asked for does not exist (or is not held here)."""

    status = 404


class TooLarge(ServiceError):
    """An upload or body over its limit."""

    status = 413


class IntegrityFailed(ServiceError):
    """Stored content does not match what the ledger anchored (a bad gateway: the store lied)."""

    status = 502


class Unavailable(ServiceError):
    """A dependency of the use case is down or not configured on this gateway (IPFS, keys, QR key)."""

    status = 503


def field_error(cls: type[ServiceError], field: str, reason: str, message: str | None = None) -> ServiceError:
    """``cls`` naming one field: ``"<field>: <reason>"`` unless a fuller message is given."""
    return cls(message or f"{field}: {reason}", details=[{"field": field, "reason": reason}])
