"""An identity bound to its signer and hash function: the one thing every request needs."""

from __future__ import annotations

from . import hashing
from .identity import Identity
from .signing import Sign


class SigningIdentity:
    """Serializes the creator once and signs ``hash(message)`` with the configured signer.

    ``sign`` may be None for a gateway used only with offline signing; asking it to sign then
    fails with a message saying so.
    """

    def __init__(self, identity: Identity, sign: Sign | None, hash_function: hashing.HashFunction) -> None:
        self.identity = identity
        self._sign = sign
        self.hash = hash_function
        self._creator = identity.serialize()

    @property
    def creator(self) -> bytes:
        """Serialized ``msp.SerializedIdentity`` of the client."""
        return self._creator

    @property
    def can_sign(self) -> bool:
        return self._sign is not None

    def digest(self, message: bytes) -> bytes:
        """What the signer is given for ``message``."""
        return self.hash(message)

    def sign(self, message: bytes) -> bytes:
        if self._sign is None:
            raise RuntimeError(
                "signing: this gateway has no signer; sign the digest offline and use new_signed_*"
            )
        return self._sign(self.hash(message))
