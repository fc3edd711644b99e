"""The gateway's document service: encrypt + add to IPFS, fetch + decrypt + check, verify a copy.

Anchoring on chain is done by the API in the same request (AnchorDocument with the CID, the
plaintext's SHA-256 and size, and the key reference); this module does the off-chain half.
Blocking store calls run in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.documents.keystore import KEK_FILE, KeyWrap, StoreKeyRing, local_kek, store_org_keys
from app.store.config import open_component
from app.store.database import Database, SqliteDatabase
from ipfs.documents import DocumentVault, StoredDocument
from ipfs.envelope import Keyring
from ipfs.keyring import FileKeySource, KeyringFileError, KeySource
from ipfs.orgkeys import OrgKeyError, OrgKeys
from ipfs.port import ContentStore

log = logging.getLogger(__name__)

_EMPTY_RAW_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # a cheap existence probe


DOCUMENTS_DB = "documents.sqlite"
KEYRING_ENV = "MLEDGER_DOCUMENT_KEYRING"
PARTY_KEYS_ENV = "MLEDGER_DOCUMENT_PUBLIC_KEYS"


def org_keys(
    data_dir: Path,
    orgs: list[str],
    public_dir: Path | str | None = None,
    *,
    db: Database | None = None,
    wrap: KeyWrap | None = None,
) -> OrgKeys:
    """The private key-encryption keys of the orgs this gateway serves (in the off-chain store, sealed;
    made on first use, or adopted from the files of the earlier layout under ``keys/orgs``) and the
    consortium's public keys from ``public_dir`` (``$MLEDGER_DOCUMENT_PUBLIC_KEYS``; default: the
    data dir's ``keys/orgs``, enough for the embedded gateway that hosts every org)."""
    chosen = public_dir or os.environ.get(PARTY_KEYS_ENV) or None
    db = db or _sqlite(data_dir)
    wrap = wrap or local_kek(db, data_dir / "keys" / KEK_FILE)
    private_dir = data_dir / "keys" / "orgs"
    return store_org_keys(db, wrap, orgs, Path(chosen or private_dir), adopt_dir=private_dir)


def document_keys(
    data_dir: Path,
    keyring_file: Path | str | None = None,
    *,
    db: Database | None = None,
    wrap: KeyWrap | None = None,
) -> Keyring | KeySource:
    """The consortium key-ring file when one is configured, else this gateway's own key ring in the
    off-chain store (sealed; made on first use, or adopted from the earlier ``keys/*.key`` files).

    ``keyring_file`` unset falls back to ``$MLEDGER_DOCUMENT_KEYRING`` (the same variable as the
    setting), so callers that pass only the data dir still honour the operator's configuration.
    An unsafe or malformed file raises :class:`~ipfs.keyring.KeyringFileError`: the gateway does not
    start with keys it cannot trust.
    """
    chosen = keyring_file or os.environ.get(KEYRING_ENV) or None
    if chosen:
        return FileKeySource(Path(chosen))
    db = db or _sqlite(data_dir)
    wrap = wrap or local_kek(db, data_dir / "keys" / KEK_FILE)
    return StoreKeyRing(db, wrap, adopt_dir=data_dir / "keys")


def _sqlite(data_dir: Path) -> Database:
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(data_dir / DOCUMENTS_DB)


def store_and_kek(settings: Any, wrap: KeyWrap | None = None) -> tuple[Database, KeyWrap]:
    """The store the settings name for document keys (``documents.sqlite`` by default) and the KEK
    sealing them: ``wrap`` (the HSM's, passed by the composition root), or the KEK file."""
    data_dir = Path(settings.data_dir)
    db = open_component(settings, data_dir / DOCUMENTS_DB)
    if wrap is None:
        kek_file = getattr(settings, "document_kek_file", None) or data_dir / "keys" / KEK_FILE
        wrap = local_kek(db, Path(kek_file))
    return db, wrap


def _open_store(api_url: str | None, data_dir: Path) -> ContentStore:
    if api_url:
        from ipfs.kubo import KuboClient

        return KuboClient(api_url)
    from ipfs.embedded import EmbeddedContentStore

    return EmbeddedContentStore(data_dir / "ipfs")


@dataclass(frozen=True, slots=True)
class Verification:
    document_id: str
    matches: bool
    anchored_sha256: str
    presented_sha256: str
    anchored_size: int
    presented_size: int


class DocumentService:
    """``keys``: the consortium key ring (a file every authorised gateway holds) or, by default, this
    gateway's key ring in its off-chain store (then only this org's replicas can read its documents)."""

    def __init__(
        self,
        store: ContentStore,
        keys: Keyring | KeySource,
        *,
        cid_version: int = 1,
        org_keys: OrgKeys | None = None,
    ) -> None:
        self.store = store
        self.vault = DocumentVault(store, keys, cid_version=cid_version, org_keys=org_keys)

    @classmethod
    def from_settings(
        cls, settings: Any, *, store: ContentStore | None = None, wrap: KeyWrap | None = None
    ) -> DocumentService:
        """The content store and keys the settings name (``ipfs_url``, ``document_keyring``,
        ``store_url``, ``data_dir``); ``wrap``: the HSM key sealing the stored keys, if any."""
        data_dir = Path(settings.data_dir)
        db, kek = store_and_kek(settings, wrap)
        keys = document_keys(data_dir, getattr(settings, "document_keyring", None), db=db, wrap=kek)
        orgs = list(getattr(settings, "orgs", []) or [])
        public = getattr(settings, "document_public_keys", None)
        party_keys = org_keys(data_dir, orgs, public, db=db, wrap=kek)
        if store is None:
            store = _open_store(getattr(settings, "ipfs_url", None), data_dir)
        return cls(store, keys, org_keys=party_keys)

    @classmethod
    def embedded(
        cls, data_dir: Path, *, keyring_file: Path | None = None, orgs: list[str] | None = None
    ) -> DocumentService:
        db = _sqlite(data_dir)
        keys = document_keys(data_dir, keyring_file, db=db)
        return cls(_open_store(None, data_dir), keys, org_keys=org_keys(data_dir, orgs or [], db=db))

    @classmethod
    def kubo(
        cls, api_url: str, data_dir: Path, *, keyring_file: Path | None = None, orgs: list[str] | None = None
    ) -> DocumentService:
        db = _sqlite(data_dir)
        keys = document_keys(data_dir, keyring_file, db=db)
        return cls(_open_store(api_url, data_dir), keys, org_keys=org_keys(data_dir, orgs or [], db=db))

    async def put(self, document_id: str, content: bytes, parties: list[str] | None = None) -> StoredDocument:
        """Encrypt for ``parties`` (each org's own key; version 2) and add to IPFS."""
        return await asyncio.to_thread(self.vault.put, document_id, content, parties)

    async def get(
        self, document_id: str, cid: str, sha256: str, key_ref: str | None = None, reader: str | None = None
    ) -> bytes:
        """Fetch, decrypt and check against the anchored digest (raises on any mismatch).

        ``reader``: the caller's org; a per-party document opens only with that org's own key
        (:class:`~ipfs.party_envelope.NotAParty` when the org is not a party). ``key_ref``: the
        anchored key reference; for a legacy document a gateway without that master key raises
        :class:`~ipfs.envelope.UnknownKey` (its ``kid`` names the key) before fetching anything.
        """
        return await asyncio.to_thread(
            self.vault.get, document_id, cid, sha256=sha256, key_ref=key_ref, reader=reader
        )

    @staticmethod
    def verify(document_id: str, anchor: dict[str, object], content: bytes) -> Verification:
        presented = hashlib.sha256(content).hexdigest()
        anchored = str(anchor.get("sha256", ""))
        anchored_size = int(anchor.get("size", -1))  # type: ignore[call-overload]
        return Verification(
            document_id=document_id,
            matches=presented == anchored.lower() and len(content) == anchored_size,
            anchored_sha256=anchored,
            presented_sha256=presented,
            anchored_size=anchored_size,
            presented_size=len(content),
        )

    async def health(self) -> str:
        try:  # documents cannot be stored or read without usable keys (no path: readyz is public)
            await asyncio.to_thread(self.vault.keys.current)
        except (KeyringFileError, OrgKeyError) as exc:
            log.error("%s", exc)
            return "down: document key ring unusable"
        probe = getattr(self.store, "version", None)
        try:
            if probe is not None:
                await asyncio.to_thread(probe)
            else:
                await asyncio.to_thread(self.store.has, _EMPTY_RAW_CID)
        except Exception as exc:
            return f"down: {exc}"
        return "ok"
