"""Envelope version 2: one data key, wrapped separately for each party org's X25519 key.

Why: a version-1 envelope (:mod:`ipfs.envelope`) wraps the data key with a master key every gateway
held, so any gateway could read any document. Here only the orgs named as the document's parties can
unwrap it, each with its own private key (:mod:`ipfs.orgkeys`); the party list is part of the
authenticated header, so nobody can add or drop a party without breaking the envelope.

Binary layout::

    b"MLENC2" | u16 big-endian header length | header (canonical JSON) | ciphertext ‖ 16-byte tag

    header = {"alg": "A256GCM", "v": 2, "n": <b64 nonce>,
              "parties": {<MSP ID>: {"kid": <org key id>, "epk": <b64 ephemeral X25519 public key>,
                                      "wn": <b64 wrap nonce>, "wk": <b64 wrapped data key ‖ tag>}}}

Per party: an ephemeral X25519 key agreement with the org's public key, HKDF-SHA256 (salt = ephemeral
‖ org public key, info binds the document id and the MSP ID) gives the key that wraps the data key with
AES-256-GCM (associated data: the MSP ID and the document id). The content's associated data is
magic ‖ header ‖ document id, as in version 1.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ipfs.envelope import (
    ALG,
    NONCE_BYTES,
    EnvelopeError,
    IntegrityError,
    MalformedEnvelope,
    UnknownKey,
    _b64,
    _check_doc_id,
    _unb64,
)
from ipfs.orgkeys import key_id, public_bytes

MAGIC = b"MLENC2"
VERSION = 2
#: The ``encryption_key_ref`` anchored for a version-2 envelope (the keys are per party, in the header).
KEY_REF = "mlenc2"


class NotAParty(EnvelopeError):
    """The org asking is not among the document's parties (its key never wrapped the data key)."""

    def __init__(self, message: str, msp_id: str) -> None:
        super().__init__(message)
        self.msp_id = msp_id


def is_party_envelope(data: bytes) -> bool:
    return data.startswith(MAGIC)


def _kek(shared: bytes, epk: bytes, recipient: bytes, doc: bytes, msp_id: str) -> bytes:
    info = b"mledger-doc-kek\0" + doc + b"\0" + msp_id.encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=info).derive(shared)


def _wrap_aad(msp_id: str, doc: bytes) -> bytes:
    return b"mledger-dek2\0" + msp_id.encode("utf-8") + b"\0" + doc


def encrypt_for_parties(
    plaintext: bytes, *, document_id: str, recipients: dict[str, X25519PublicKey]
) -> bytes:
    """Encrypt ``plaintext`` with a fresh data key wrapped for each org in ``recipients``."""
    doc = _check_doc_id(document_id)
    if not recipients:
        raise ValueError("parties: a document needs at least one party org")
    data_key = AESGCM.generate_key(bit_length=256)
    parties: dict[str, dict[str, str]] = {}
    for msp_id in sorted(recipients):
        recipient = recipients[msp_id]
        ephemeral = X25519PrivateKey.generate()
        epk = public_bytes(ephemeral.public_key())
        kek = _kek(ephemeral.exchange(recipient), epk, public_bytes(recipient), doc, msp_id)
        wrap_nonce = secrets.token_bytes(NONCE_BYTES)
        wrapped = AESGCM(kek).encrypt(wrap_nonce, data_key, _wrap_aad(msp_id, doc))
        parties[msp_id] = {
            "kid": key_id(recipient),
            "epk": _b64(epk),
            "wn": _b64(wrap_nonce),
            "wk": _b64(wrapped),
        }
    nonce = secrets.token_bytes(NONCE_BYTES)
    header = {"alg": ALG, "v": VERSION, "n": _b64(nonce), "parties": parties}
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("ascii")
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, MAGIC + header_bytes + doc)
    return MAGIC + len(header_bytes).to_bytes(2, "big") + header_bytes + ciphertext


@dataclass(frozen=True, slots=True)
class PartyEnvelope:
    nonce: bytes
    parties: dict[str, dict[str, str]]
    ciphertext: bytes
    header_bytes: bytes

    @classmethod
    def parse(cls, data: bytes) -> PartyEnvelope:
        if len(data) < len(MAGIC) + 2 or not data.startswith(MAGIC):
            raise MalformedEnvelope("magic: not a version-2 document envelope (expected MLENC2)")
        hlen = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 2], "big")
        start = len(MAGIC) + 2
        header_bytes = data[start : start + hlen]
        if len(header_bytes) != hlen:
            raise MalformedEnvelope("header: truncated")
        try:
            header: Any = json.loads(header_bytes)
        except ValueError as exc:
            raise MalformedEnvelope(f"header: not JSON ({exc})") from None
        if not isinstance(header, dict) or header.get("alg") != ALG or header.get("v") != VERSION:
            raise MalformedEnvelope(f"header: expected alg {ALG} and v {VERSION}")
        parties = header.get("parties")
        if not isinstance(parties, dict) or not parties:
            raise MalformedEnvelope("header field 'parties': missing or empty")
        for msp_id, entry in parties.items():
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(name), str) for name in ("kid", "epk", "wn", "wk")
            ):
                raise MalformedEnvelope(f"header field 'parties.{msp_id}': needs kid, epk, wn, wk")
        if not isinstance(header.get("n"), str):
            raise MalformedEnvelope("header field 'n': missing")
        nonce = _unb64(header["n"], "n")
        if len(nonce) != NONCE_BYTES:
            raise MalformedEnvelope("header: nonces must be 96 bits")
        ciphertext = data[start + hlen :]
        if len(ciphertext) < 16:
            raise MalformedEnvelope("ciphertext: shorter than the GCM tag")
        return cls(nonce, parties, ciphertext, header_bytes)


def envelope_parties(data: bytes) -> list[str]:
    """The orgs an envelope is wrapped for."""
    return sorted(PartyEnvelope.parse(data).parties)


def decrypt_as_party(
    envelope: bytes, *, document_id: str, msp_id: str, private_key: X25519PrivateKey
) -> bytes:
    """Open ``envelope`` with the private key of ``msp_id``; :class:`NotAParty` if it was not wrapped
    for that org, :class:`IntegrityError` if anything was altered."""
    doc = _check_doc_id(document_id)
    env = PartyEnvelope.parse(envelope)
    entry = env.parties.get(msp_id)
    if entry is None:
        raise NotAParty(
            f"document {document_id!r}: {msp_id} is not one of its parties ({sorted(env.parties)})", msp_id
        )
    own = private_key.public_key()
    if entry["kid"] != key_id(own):
        raise UnknownKey(
            f"document {document_id!r}: wrapped for {msp_id} key {entry['kid']}, "
            f"this gateway holds {key_id(own)}",
            entry["kid"],
        )
    epk = _unb64(entry["epk"], f"parties.{msp_id}.epk")
    try:
        kek = _kek(
            private_key.exchange(X25519PublicKey.from_public_bytes(epk)), epk, public_bytes(own), doc, msp_id
        )
        data_key = AESGCM(kek).decrypt(
            _unb64(entry["wn"], f"parties.{msp_id}.wn"),
            _unb64(entry["wk"], f"parties.{msp_id}.wk"),
            _wrap_aad(msp_id, doc),
        )
    except (InvalidTag, ValueError):
        raise IntegrityError(
            f"document {document_id!r}: the data key does not unwrap for {msp_id} "
            "(envelope made for another document, or its header was altered)"
        ) from None
    try:
        return AESGCM(data_key).decrypt(env.nonce, env.ciphertext, MAGIC + env.header_bytes + doc)
    except InvalidTag:
        raise IntegrityError(
            f"document {document_id!r}: integrity check failed (ciphertext or header altered)"
        ) from None
