"""Password hashing with Argon2id (argon2-cffi), verifying older scrypt hashes until they are re-hashed.

Parameters follow OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): memory-hard, and cheap enough
that the login limiter (not the hash cost) is what stops guessing. Hashing runs in worker threads
(:mod:`app.users.login`), never on the event loop. ``scrypt$...`` hashes written by earlier versions
still verify and report :func:`needs_rehash`, so the next successful login stores an Argon2id hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)

# Dummy-hash input for unknown users, so "no such user" costs the same as "wrong password".
_DUMMY_PASSWORD = "no such user: this password hash only equalises timing"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded`` (Argon2id, or a legacy ``scrypt$`` hash)."""
    if encoded.startswith("scrypt$"):
        return _verify_scrypt(password, encoded)
    try:
        return _HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """A legacy scheme or weaker Argon2 parameters than today's: store a fresh hash at the next login."""
    if not encoded.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(encoded)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return _HASHER.hash(_DUMMY_PASSWORD)


def burn_dummy_verify(password: str) -> None:
    """Do the work of one verification for a user that does not exist (uniform response timing)."""
    verify_password(password, _dummy_hash())


def _verify_scrypt(password: str, encoded: str) -> bool:
    try:
        _scheme, n, r, p, salt_b64, digest_b64 = encoded.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=64 * 2**20
        )
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)
