"""Keys in a real SoftHSM2 token: signatures Fabric accepts, a private key that cannot be exported,
a CSR signed inside the token, document data keys wrapped and unwrapped by a token KEK."""

from __future__ import annotations

import hashlib
import secrets

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from app.fabric_gateway import hashing
from app.fabric_gateway.signing import curve_order, is_low_s
from app.hsm.csr import build_csr
from app.hsm.keys import generate_signing_key, generate_wrapping_key, signer_for
from app.hsm.token import HsmError, Token
from app.hsm.wrapping import TokenKeyWrapper

N = curve_order("secp256r1")


def _label(kind: str) -> str:
    return f"test/{kind}/{secrets.token_hex(4)}"


def test_token_signatures_are_low_s_der_over_sha256_and_verify(token: Token) -> None:
    label = _label("sign")
    public = generate_signing_key(token, label)
    signer = signer_for(token, label)
    assert signer.preferred_hash is hashing.sha256
    for i in range(40):  # a raw token signature is high-S about half the time
        message = f"proposal {i}".encode()
        digest = hashlib.sha256(message).digest()
        der = signer(digest)
        assert is_low_s(der, N)
        public.verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        public.verify(der, message, ec.ECDSA(hashes.SHA256()))


def test_private_key_is_sensitive_and_cannot_be_read_or_wrapped_out(token: Token) -> None:
    label = _label("sign")
    generate_signing_key(token, label)
    key = token.private_key(label)
    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        key[Attribute.VALUE]
    # a wrapping key of our own (extractable session key) cannot take it out of the token either
    kek = token.session.generate_key(
        KeyType.AES, 256, store=False, template={Attribute.WRAP: True, Attribute.EXTRACTABLE: True}
    )
    try:
        with pytest.raises(pkcs11.exceptions.KeyUnextractable):
            kek.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
    finally:
        kek.destroy()
    # nor can the attribute be flipped back
    with pytest.raises(pkcs11.exceptions.PKCS11Error):
        key[Attribute.EXTRACTABLE] = True


def test_csr_is_signed_inside_the_token(token: Token) -> None:
    label = _label("csr")
    public = generate_signing_key(token, label)
    csr = build_csr("loan-officer-7", public, signer_for(token, label))
    assert csr.is_signature_valid
    assert csr.public_key() == public
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "loan-officer-7"


def test_document_keys_wrap_and_unwrap_in_the_token(token: Token) -> None:
    label = _label("kek")
    generate_wrapping_key(token, label)
    kek = token.secret_key(label)
    assert kek[Attribute.EXTRACTABLE] is False and kek[Attribute.SENSITIVE] is True
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        kek[Attribute.VALUE]
    wrapper = TokenKeyWrapper(token, label)
    data_key = secrets.token_bytes(32)
    wrapped = wrapper.wrap(data_key)
    assert data_key not in wrapped and len(wrapped) == 40  # RFC 5649: 8 bytes longer
    assert wrapper.unwrap(wrapped) == data_key
    assert data_key.hex() not in repr(wrapper)
    # another KEK cannot open it, and a tampered blob is refused
    other = _label("kek")
    generate_wrapping_key(token, other)
    with pytest.raises(HsmError, match="unwrap failed"):
        TokenKeyWrapper(token, other).unwrap(wrapped)
    with pytest.raises(HsmError, match="unwrap failed"):
        wrapper.unwrap(wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    # no temporary key is left behind in the session
    leftovers = list(
        token.session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.TOKEN: False})
    )
    assert leftovers == []


def test_missing_key_label_is_named(token: Token) -> None:
    with pytest.raises(HsmError) as info:
        token.private_key("no/such/key")
    assert "'no/such/key'" in str(info.value) and "slot" in str(info.value)
