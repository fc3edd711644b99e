"""Documents: encrypt, store in IPFS, and read back with checks — what the gateway calls.

The chain records a document's CID, the SHA-256 of its plaintext, the key reference and its party
orgs; the bytes in IPFS are an AES-256-GCM envelope whose data key is wrapped for each party org
(version 2, :mod:`ipfs.party_envelope`), so anyone on the private swarm can fetch them but only a
party org's own key opens them. Version-1 envelopes (one consortium master key,
:mod:`ipfs.envelope`) stay readable.
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
from ipfs.orgkeys import OrgKeyError, OrgKeys
from ipfs.party_envelope import KEY_REF as PARTY_KEY_REF
from ipfs.party_envelope import decrypt_as_party, encrypt_for_parties, is_party_envelope
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
    key_ref: str  # id of the master key that wraps the data key, or "mlenc2" (per-party keys)
    parties: tuple[str, ...] = ()  # the orgs the data key is wrapped for (version 2)


class DocumentVault:
    """Encrypted documents over any :class:`~ipfs.port.ContentStore` (kubo or embedded).

    ``keys`` is a fixed :class:`Keyring` or a :class:`~ipfs.keyring.KeySource` (the consortium key
    ring file, re-read when rotated); each operation takes the ring once, so it sees one version.
    """

    def __init__(
        self,
        store: ContentStore,
        keys: Keyring | KeySource,
        *,
        cid_version: int = 1,
        org_keys: OrgKeys | None = None,
    ):
        self.store = store
        self.keys = keys
        self.cid_version = cid_version
        self.org_keys = org_keys

    @property
    def keyring(self) -> Keyring:
        """The key ring as of now (the current key wraps new documents)."""
        return self.keys.current()

    def put(self, document_id: str, content: bytes, parties: list[str] | None = None) -> StoredDocument:
        """Encrypt and add; with ``parties`` the data key is wrapped for each of those orgs only
        (version 2), without them for the consortium master key (version 1, legacy)."""
        if parties is not None:
            if self.org_keys is None:
                raise OrgKeyError("org keys: this vault has none, cannot wrap for parties")
            recipients = self.org_keys.recipients(parties)
            envelope = encrypt_for_parties(content, document_id=document_id, recipients=recipients)
            key_ref = PARTY_KEY_REF
        else:
            envelope = encrypt_document(content, document_id=document_id, keyring=self.keyring)
            key_ref = envelope_key_ref(envelope)
        added = self.store.add(envelope, cid_version=self.cid_version, pin=True)
        log.info("stored document %s as %s", document_id, added.cid)
        return StoredDocument(
            document_id=document_id,
            cid=added.cid,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            key_ref=key_ref,
            parties=tuple(sorted(set(parties))) if parties is not None else (),
        )

    def get(
        self,
        document_id: str,
        cid: str,
        *,
        sha256: str | None = None,
        key_ref: str | None = None,
        reader: str | None = None,
    ) -> bytes:
        """Fetch, decrypt and (when the recorded digest is given) check a document.

        A version-2 envelope opens only with the private key of ``reader`` (the caller's org), never
        with another org's key this gateway may hold. For a version-1 envelope, with the anchored
        ``key_ref`` a missing master key fails with :class:`UnknownKey` before anything is fetched,
        and an envelope wrapped with another key than the one anchored is refused.
        """
        if key_ref == PARTY_KEY_REF:
            content = self._get_as_party(document_id, cid, reader)
        else:
            keyring = self.keyring
            if key_ref is not None and key_ref not in keyring:
                raise UnknownKey(f"document {document_id!r}: key {key_ref!r} is not in the key ring", key_ref)
            envelope = self.store.cat(cid)
            if is_party_envelope(envelope):
                raise IntegrityError(
                    f"document {document_id!r}: the envelope at {cid} is per-party (v2) but the anchor "
                    f"names master key {key_ref}"
                )
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

    def _get_as_party(self, document_id: str, cid: str, reader: str | None) -> bytes:
        if reader is None:
            raise OrgKeyError(f"document {document_id!r}: a per-party document is opened for one org only")
        if self.org_keys is None:
            raise OrgKeyError("org keys: this gateway has none, cannot open per-party documents")
        private_key = self.org_keys.private_key(reader)  # before fetching anything
        envelope = self.store.cat(cid)
        if not is_party_envelope(envelope):
            raise IntegrityError(f"document {document_id!r}: the envelope at {cid} is not per-party (v2)")
        return decrypt_as_party(envelope, document_id=document_id, msp_id=reader, private_key=private_key)
