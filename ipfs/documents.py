"""Documents: encrypt, store in IPFS, and read back with checks — what the gateway calls.

The chain records a document's CID, the SHA-256 of its plaintext and the key reference; the
bytes in IPFS are an AES-256-GCM envelope (see :mod:`ipfs.envelope`), so anyone on the private
swarm can fetch them but only holders of the master key can read them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from ipfs.envelope import (
    Envelope,
    IntegrityError,
    Keyring,
    UnknownKey,
    decrypt_document,
    encrypt_document,
    envelope_key_ref,
)
from ipfs.keyring import KeySource
from ipfs.port import ContentStore, ContentStoreError

log = logging.getLogger(__name__)


class DocumentMismatch(ContentStoreError):
    """The decrypted document does not hash to the SHA-256 recorded for it."""


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What to anchor on chain for a document."""

    document_id: str
    cid: str
    sha256: str  # hex digest of the plaintext
    size: int  # plaintext bytes
    key_ref: str  # id of the master key that wraps the data key


class DocumentVault:
    """Encrypted documents over any :class:`~ipfs.port.ContentStore` (kubo or embedded).

    ``keys`` is a fixed :class:`Keyring` or a :class:`~ipfs.keyring.KeySource` (the consortium key
    ring file, re-read when rotated); each operation takes the ring once, so it sees one version.
    """

    def __init__(self, store: ContentStore, keys: Keyring | KeySource, *, cid_version: int = 1):
        self.store = store
        self.keys = keys
        self.cid_version = cid_version

    @property
    def keyring(self) -> Keyring:
        """The key ring as of now (the current key wraps new documents)."""
        return self.keys.current()

    def put(self, document_id: str, content: bytes) -> StoredDocument:
        envelope = encrypt_document(content, document_id=document_id, keyring=self.keyring)
        added = self.store.add(envelope, cid_version=self.cid_version, pin=True)
        log.info("stored document %s as %s", document_id, added.cid)
        return StoredDocument(
            document_id=document_id,
            cid=added.cid,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            key_ref=envelope_key_ref(envelope),
        )

    def get(
        self, document_id: str, cid: str, *, sha256: str | None = None, key_ref: str | None = None
    ) -> bytes:
        """Fetch, decrypt and (when the recorded digest is given) check a document.

        With the anchored ``key_ref``, a missing key fails with :class:`UnknownKey` before anything
        is fetched, and an envelope wrapped with another key than the one anchored is refused.
        """
        keyring = self.keyring
        if key_ref is not None and key_ref not in keyring:
            raise UnknownKey(f"document {document_id!r}: key {key_ref!r} is not in the key ring", key_ref)
        envelope = self.store.cat(cid)
        if key_ref is not None and Envelope.parse(envelope).kid != key_ref:
            raise IntegrityError(
                f"document {document_id!r}: the envelope at {cid} is not wrapped with "
                f"the anchored key {key_ref}"
            )
        content = decrypt_document(envelope, document_id=document_id, keyring=keyring)
        if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256.lower():
            raise DocumentMismatch(
                f"document {document_id!r} at {cid}: SHA-256 differs from the recorded {sha256}"
            )
        return content
