"""Document data keys wrapped by a key-encryption key that stays in the token.

AES key wrap with padding (RFC 5649, ``CKM_AES_KEY_WRAP_PAD``) runs inside the token: the data key
is put into the token as a short-lived session object, wrapped by the non-extractable KEK, and the
session object destroyed. Unwrapping makes a session key from the wrapped bytes and reads its value
out (a data key is used by the gateway to decrypt one document; the KEK never leaves the token).
"""

from __future__ import annotations

from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from app.hsm.token import HsmError, Token

MECHANISM = Mechanism.AES_KEY_WRAP_PAD


class TokenKeyWrapper:
    """Wraps and unwraps 16/24/32-byte AES data keys with the token's KEK labelled ``label``."""

    def __init__(self, token: Token, label: str) -> None:
        self._token = token
        self.label = label
        self._kek: Any = token.secret_key(label)

    def __repr__(self) -> str:
        return f"TokenKeyWrapper(label={self.label!r}, {self._token.where})"

    @property
    def kek_id(self) -> str:
        """Names the sealing key for the document key store (``app.documents.keystore.KeyWrap``)."""
        return f"hsm:{self.label}"

    def seal(self, key: bytes, context: str) -> bytes:
        """Key wrap has no associated data: the store checks each unsealed key against its id."""
        return self.wrap(key)

    def open(self, sealed: bytes, context: str) -> bytes:
        return self.unwrap(sealed)

    def wrap(self, data_key: bytes) -> bytes:
        if len(data_key) not in (16, 24, 32):
            raise ValueError(f"data_key: {len(data_key)} bytes is not an AES key length")
        with self._token.lock:
            temp = self._token.session.create_object(
                {
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.AES,
                    Attribute.VALUE: data_key,
                    Attribute.TOKEN: False,
                    Attribute.SENSITIVE: False,
                    Attribute.EXTRACTABLE: True,
                }
            )
            try:
                return bytes(self._kek.wrap_key(temp, mechanism=MECHANISM))
            except pkcs11.exceptions.PKCS11Error as exc:
                raise HsmError(f"HSM key {self.label!r}: wrap failed: {type(exc).__name__}") from None
            finally:
                temp.destroy()

    def unwrap(self, wrapped: bytes) -> bytes:
        with self._token.lock:
            try:
                key = self._kek.unwrap_key(
                    ObjectClass.SECRET_KEY,
                    KeyType.AES,
                    wrapped,
                    mechanism=MECHANISM,
                    store=False,
                    template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
                )
            except pkcs11.exceptions.PKCS11Error as exc:
                raise HsmError(
                    f"HSM key {self.label!r}: unwrap failed ({type(exc).__name__}): not wrapped by this key"
                ) from None
            try:
                return bytes(key[Attribute.VALUE])
            finally:
                key.destroy()
