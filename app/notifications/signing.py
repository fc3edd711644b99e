"""Webhook signatures: ``X-Mledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` (Stripe's scheme).

The MAC covers ``"<t>." + raw body`` under the subscription's secret, so a receiver can check the body
was sent by us and is recent (a replayed request with an old ``t`` is refused by the tolerance). Several
``v1=`` values may appear (during a secret rotation); one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Mledger-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match."""


def new_secret() -> str:
    """A fresh per-subscription secret (shown to the subscriber once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={compute(secret, t, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a signature header; return its timestamp or raise :class:`SignatureError`."""
    if not header:
        raise SignatureError(f"{SIGNATURE_HEADER}: missing")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"{SIGNATURE_HEADER}: expected t=<seconds>,v1=<hex>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(f"{SIGNATURE_HEADER}: timestamp outside the {tolerance}s tolerance")
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError(f"{SIGNATURE_HEADER}: no matching v1 signature")
    return timestamp
