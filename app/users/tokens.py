"""Signed bearer tokens: JWTs (HS256) issued and checked with PyJWT.

A JWT so standard clients and tools can read it; HS256 because only this gateway issues and checks
its tokens. Each token carries a unique ``jti`` so logout can revoke exactly that token (the
revocation list lives in the user store until the token would have expired anyway). Only HS256 is
accepted on verification (no ``alg: none``, no algorithm confusion); ``sub``, ``role``, ``iat``,
``exp`` and ``jti`` are required.

A token's signature and claims are checked once per process (a bounded LRU of verified tokens, keyed
by key and token: only tokens signed with the key get in); its expiry is checked on every use, and the
revocation list and the user are looked up by the caller on every request.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
_REQUIRED = ["sub", "role", "iat", "exp", "jti"]
VERIFIED_CACHE_SIZE = 4096  # distinct live tokens a process keeps verified (older ones are re-verified)


class TokenError(Exception):
    """The token is malformed, forged or expired (the message says which)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str  # "<msp_id>/<username>"
    role: str
    issued_at: int
    expires_at: int
    token_id: str  # the jti: what a logout revokes
    binding: str | None = None  # an owner session: the SHA-256 of the certificate it signed in with


def issue_token(
    secret: bytes,
    subject: str,
    role: str,
    ttl_seconds: int,
    now: float | None = None,
    binding: str | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "role": role,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    if binding is not None:
        claims["cfp"] = binding
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: bytes, token: str, now: float | None = None) -> TokenClaims:
    """The token's claims; TokenError when it is malformed, not signed by ``secret`` or expired."""
    parsed = _verified(secret, token)
    if parsed.expires_at <= (time.time() if now is None else int(now)):
        raise TokenError("token expired")
    return parsed


@functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verified(secret: bytes, token: str) -> TokenClaims:
    """Signature, algorithm and required claims, checked once per (key, token): a failure raises and is
    not cached; the expiry is not checked here (``verify_token`` checks it on every use)."""
    options = {"require": _REQUIRED, "verify_exp": False, "verify_iat": False}
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options=options)  # type: ignore[arg-type]
        return TokenClaims(
            subject=str(claims["sub"]),
            role=str(claims["role"]),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            token_id=str(claims["jti"]),
            binding=str(claims["cfp"]) if claims.get("cfp") is not None else None,
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenError("bad token signature") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise TokenError("unsupported token algorithm") from exc
    except jwt.DecodeError as exc:
        raise TokenError("malformed token") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise TokenError(f"malformed token claims: {exc}") from exc
