"""Creating keys inside the token: EC P-256 signing key pairs and AES key-wrapping keys.

Every private or secret key is made with CKA_SENSITIVE true and CKA_EXTRACTABLE false, so the
token refuses to reveal its value or to wrap it out; CKA_ID of a signing key is its subject key
identifier (SHA-256 of the public point), the convention Fabric's own PKCS#11 provider uses.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from app.fabric_gateway.pkcs11_signer import Pkcs11Signer
from app.hsm.token import HsmError, Token

_PRIVATE_TEMPLATE = {
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
}


def generate_signing_key(token: Token, label: str) -> ec.EllipticCurvePublicKey:
    """A new non-extractable P-256 key pair labelled ``label``; returns its public key."""
    existing = list(token.session.get_objects({Attribute.LABEL: label, Attribute.KEY_TYPE: KeyType.EC}))
    if existing:
        raise HsmError(f"HSM key {label!r}: a key with that label already exists in {token.where}")
    with token.lock:
        params = token.session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        public, private = params.generate_keypair(
            store=True,
            label=label,
            public_template={Attribute.VERIFY: True, Attribute.TOKEN: True},
            private_template=_PRIVATE_TEMPLATE,
        )
        key = public_key_of(public)
        ski = ski_of(key)
        public[Attribute.ID] = ski
        private[Attribute.ID] = ski
    return key


def public_key_of(public: Any) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(encode_ec_public_key(public))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise HsmError("HSM: the public key is not an EC key")
    return key


def ski_of(key: ec.EllipticCurvePublicKey) -> bytes:
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return hashlib.sha256(point).digest()


def signing_key_public(token: Token, label: str) -> ec.EllipticCurvePublicKey:
    return public_key_of(token.public_key(label))


def signer_for(token: Token, label: str) -> Pkcs11Signer:
    """A Fabric signer (low-S DER over SHA-256) whose key stays in the token."""
    return Pkcs11Signer(_LockedKey(token, token.private_key(label)), Mechanism.ECDSA)


class _LockedKey:
    """Serialises use of the shared session across every signer of the token."""

    def __init__(self, token: Token, key: Any) -> None:
        self._token = token
        self._key = key

    def sign(self, data: bytes, *, mechanism: Any = Mechanism.ECDSA) -> bytes:
        with self._token.lock:
            return bytes(self._key.sign(data, mechanism=mechanism))


def generate_wrapping_key(token: Token, label: str) -> None:
    """A new non-extractable AES-256 key labelled ``label`` that only wraps and unwraps."""
    existing = list(token.session.get_objects({Attribute.LABEL: label, Attribute.KEY_TYPE: KeyType.AES}))
    if existing:
        raise HsmError(f"HSM key {label!r}: a key with that label already exists in {token.where}")
    with token.lock:
        token.session.generate_key(
            KeyType.AES,
            256,
            label=label,
            store=True,
            template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.WRAP: True,
                Attribute.UNWRAP: True,
                Attribute.ENCRYPT: False,
                Attribute.DECRYPT: False,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
            },
        )
