"""Signed bearer tokens: a compact JWT (HS256) made with HMAC-SHA256 from the standard library.

A JWT so standard clients and tools can read it; HS256 because only this gateway issues and
checks its tokens. Expiry is enforced; the user's current state is re-read on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass


class TokenError(Exception):
    """The token is malformed, forged or expired (the message says which)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str  # "<msp_id>/<username>"
    role: str
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def issue_token(secret: bytes, subject: str, role: str, ttl_seconds: int, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {"sub": subject, "role": role, "iat": issued, "exp": issued + ttl_seconds}
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{_HEADER}.{body}".encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{_HEADER}.{body}.{_b64(signature)}"


def verify_token(secret: bytes, token: str, now: float | None = None) -> TokenClaims:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    header, body, signature = parts
    expected = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    try:
        presented = _unb64(signature)
    except ValueError as exc:
        raise TokenError("malformed token signature") from exc
    if not hmac.compare_digest(expected, presented):
        raise TokenError("bad token signature")
    try:
        if json.loads(_unb64(header)).get("alg") != "HS256":
            raise TokenError("unsupported token algorithm")
        claims = json.loads(_unb64(body))
        parsed = TokenClaims(
            subject=str(claims["sub"]),
            role=str(claims["role"]),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed token claims") from exc
    if parsed.expires_at <= int(now if now is not None else time.time()):
        raise TokenError("token expired")
    return parsed
