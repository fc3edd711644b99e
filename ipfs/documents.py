"""Documents: encrypt, store in IPFS, and read back with checks — what the gateway calls.

The chain records a document's CID, the SHA-256 of its plaintext and the key reference; the
bytes in IPFS are an AES-256-GCM envelope (see :mod:`ipfs.envelope`), so anyone on the private
swarm can fetch them but only holders of the master key can read them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from ipfs.envelope import Keyring, decrypt_document, encrypt_document, envelope_key_ref
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
    """Encrypted documents over any :class:`~ipfs.port.ContentStore` (kubo or embedded)."""

    def __init__(self, store: ContentStore, keyring: Keyring, *, cid_version: int = 1):
        self.store = store
        self.keyring = keyring
        self.cid_version = cid_version

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

    def get(self, document_id: str, cid: str, *, sha256: str | None = None) -> bytes:
        """Fetch, decrypt and (when the recorded digest is given) check a document."""
        envelope = self.store.cat(cid)
        content = decrypt_document(envelope, document_id=document_id, keyring=self.keyring)
        if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256.lower():
            raise DocumentMismatch(
                f"document {document_id!r} at {cid}: SHA-256 differs from the recorded {sha256}"
            )
        return content
