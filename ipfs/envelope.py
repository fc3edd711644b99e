"""Envelope encryption for documents: AES-256-GCM with a per-document key wrapped by a master key.

Why an envelope: each document gets its own random data key, so a master-key rotation only
re-wraps 48 bytes per document, and the key reference (``kid``) in the envelope says which master
key can open it. The document id is bound as associated data both when wrapping the data key and
when encrypting the content: an envelope copied onto another document's record fails to open.

Binary layout (what goes to IPFS)::

    b"MLENC1" | u16 big-endian header length | header (canonical JSON) | ciphertext ‖ 16-byte tag

    header = {"alg": "A256GCM", "kid": <master key id>, "n": <b64 nonce>,
              "wn": <b64 wrap nonce>, "wk": <b64 wrapped data key ‖ tag>}

Associated data of the content = magic ‖ header bytes ‖ document id, so the header cannot be
altered either. Nonces are 96-bit random values (one use per key: every data key is fresh).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ipfs.private_file import write_file_atomically

log = logging.getLogger(__name__)

MAGIC = b"MLENC1"
ALG = "A256GCM"
NONCE_BYTES = 12
KEY_BYTES = 32


class EnvelopeError(Exception):
    """Base class: an envelope could not be made or opened."""


class MalformedEnvelope(EnvelopeError):
    """The bytes are not an envelope of this format (the message says which part)."""


class UnknownKey(EnvelopeError):
    """The envelope names a master key that is not in the keyring (``kid`` says which)."""

    def __init__(self, message: str, kid: str = "") -> None:
        super().__init__(message)
        self.kid = kid


class IntegrityError(EnvelopeError):
    """Authentication failed: wrong document id, wrong key, or the envelope was altered."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise MalformedEnvelope(f"header field {what!r}: not base64url ({exc})") from None


def _check_doc_id(document_id: str) -> bytes:
    if not isinstance(document_id, str) or not document_id:
        raise ValueError("document_id: must be a non-empty string")
    return document_id.encode("utf-8")


class Keyring:
    """Master keys by id; ``active`` names the one new envelopes are wrapped with."""

    def __init__(self, keys: dict[str, bytes], active: str):
        for kid, key in keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"master key {kid!r}: must be {KEY_BYTES} bytes, got {len(key)}")
        if active not in keys:
            raise ValueError(f"active key {active!r}: not among the keys {sorted(keys)}")
        self._keys = dict(keys)
        self.active = active

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(kids={sorted(self._keys)}, active={self.active!r})"

    @property
    def kids(self) -> list[str]:
        """The ids of every key held (non-secret fingerprints), sorted."""
        return sorted(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def current(self) -> Keyring:
        """A fixed ring is its own key source (see :class:`ipfs.keyring.KeySource`)."""
        return self

    @staticmethod
    def key_id(key: bytes) -> str:
        """A stable, non-secret id for a master key (a truncated hash of a derived value)."""
        return "mk-" + hashlib.sha256(b"mledger-master-key-id\0" + key).hexdigest()[:16]

    @classmethod
    def generate(cls) -> Keyring:
        key = AESGCM.generate_key(bit_length=256)
        kid = cls.key_id(key)
        return cls({kid: key}, kid)

    def get(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            have = sorted(self._keys)
            raise UnknownKey(f"key reference {kid!r} is not in the keyring (have {have})", kid) from None

    def add(self, key: bytes, *, make_active: bool = False) -> str:
        if len(key) != KEY_BYTES:
            raise ValueError(f"master key: must be {KEY_BYTES} bytes, got {len(key)}")
        kid = self.key_id(key)
        self._keys[kid] = key
        if make_active:
            self.active = kid
        return kid

    @classmethod
    def load_or_create(cls, directory: Path | str) -> Keyring:
        """Keys stored as ``<kid>.key`` (raw 32 bytes, mode 0600); ``ACTIVE`` names the active one.

        Creates a first key when the directory has none (the embedded mode's ``.data/`` keys).
        """
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(path):  # two processes starting at once must not each make a first key
            return cls._load_or_create_locked(path)

    @classmethod
    def _load_or_create_locked(cls, path: Path) -> Keyring:
        keys: dict[str, bytes] = {}
        for file in sorted(path.glob("*.key")):
            key = file.read_bytes()
            kid = cls.key_id(key)
            if file.stem != kid:
                raise ValueError(f"master key file {file}: its content does not match its name ({kid})")
            keys[kid] = key
        active_file = path / "ACTIVE"
        if not keys:
            key = AESGCM.generate_key(bit_length=256)
            kid = cls.key_id(key)
            write_file_atomically(path / f"{kid}.key", key)
            write_file_atomically(active_file, kid.encode("ascii"))
            log.info("created master key %s in %s", kid, path)
            return cls({kid: key}, kid)
        active = active_file.read_text().strip() if active_file.exists() else sorted(keys)[0]
        return cls(keys, active)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed envelope: its header fields and the ciphertext (with tag)."""

    kid: str
    nonce: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    ciphertext: bytes
    header_bytes: bytes

    @classmethod
    def parse(cls, data: bytes) -> Envelope:
        if len(data) < len(MAGIC) + 2 or not data.startswith(MAGIC):
            raise MalformedEnvelope("magic: not an encrypted document envelope (expected MLENC1)")
        hlen = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 2], "big")
        start = len(MAGIC) + 2
        header_bytes = data[start : start + hlen]
        if len(header_bytes) != hlen:
            raise MalformedEnvelope("header: truncated")
        try:
            header = json.loads(header_bytes)
        except ValueError as exc:
            raise MalformedEnvelope(f"header: not JSON ({exc})") from None
        if not isinstance(header, dict):
            raise MalformedEnvelope("header: not a JSON object")
        if header.get("alg") != ALG:
            raise MalformedEnvelope(f"header field 'alg': {header.get('alg')!r} is not {ALG}")
        for name in ("kid", "n", "wn", "wk"):
            if not isinstance(header.get(name), str):
                raise MalformedEnvelope(f"header field {name!r}: missing or not a string")
        nonce = _unb64(header["n"], "n")
        wrap_nonce = _unb64(header["wn"], "wn")
        if len(nonce) != NONCE_BYTES or len(wrap_nonce) != NONCE_BYTES:
            raise MalformedEnvelope("header: nonces must be 96 bits")
        ciphertext = data[start + hlen :]
        if len(ciphertext) < 16:
            raise MalformedEnvelope("ciphertext: shorter than the GCM tag")
        return cls(header["kid"], nonce, wrap_nonce, _unb64(header["wk"], "wk"), ciphertext, header_bytes)


def _wrap_aad(kid: str, doc: bytes) -> bytes:
    return b"mledger-dek\0" + kid.encode("utf-8") + b"\0" + doc


def encrypt_document(plaintext: bytes, *, document_id: str, keyring: Keyring) -> bytes:
    """Encrypt ``plaintext`` for ``document_id`` with a fresh data key wrapped by the active key."""
    doc = _check_doc_id(document_id)
    kid = keyring.active
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(keyring.get(kid)).encrypt(wrap_nonce, data_key, _wrap_aad(kid, doc))
    nonce = secrets.token_bytes(NONCE_BYTES)
    header = {"alg": ALG, "kid": kid, "n": _b64(nonce), "wn": _b64(wrap_nonce), "wk": _b64(wrapped)}
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("ascii")
    aad = MAGIC + header_bytes + doc
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    return MAGIC + len(header_bytes).to_bytes(2, "big") + header_bytes + ciphertext


def decrypt_document(envelope: bytes, *, document_id: str, keyring: Keyring) -> bytes:
    """Open an envelope made for ``document_id``; raises :class:`IntegrityError` if anything differs."""
    doc = _check_doc_id(document_id)
    env = Envelope.parse(envelope)
    master = keyring.get(env.kid)
    try:
        data_key = AESGCM(master).decrypt(env.wrap_nonce, env.wrapped_key, _wrap_aad(env.kid, doc))
    except InvalidTag:
        raise IntegrityError(
            f"document {document_id!r}: the data key does not unwrap with {env.kid} "
            "(envelope made for another document, or its header was altered)"
        ) from None
    try:
        return AESGCM(data_key).decrypt(env.nonce, env.ciphertext, MAGIC + env.header_bytes + doc)
    except InvalidTag:
        raise IntegrityError(
            f"document {document_id!r}: integrity check failed (ciphertext or header altered)"
        ) from None


def envelope_key_ref(envelope: bytes) -> str:
    """The master key id an envelope is wrapped with (to record beside its CID)."""
    return Envelope.parse(envelope).kid
