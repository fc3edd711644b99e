"""Document storage on IPFS: kubo RPC client, an embedded store with kubo's CIDs, encryption.

Pick a store with :func:`open_content_store`; the application depends on the port in
:mod:`ipfs.port` only.
"""

from __future__ import annotations

from pathlib import Path

from ipfs.documents import DocumentVault, StoredDocument
from ipfs.embedded import AsyncEmbeddedContentStore, EmbeddedContentStore
from ipfs.envelope import IntegrityError, Keyring, decrypt_document, encrypt_document
from ipfs.kubo import DEFAULT_API_URL, AsyncKuboClient, KuboClient, KuboError
from ipfs.multiformats import CID
from ipfs.port import (
    AddResult,
    AsyncContentStore,
    ContentNotFound,
    ContentStore,
    ContentStoreError,
    CorruptBlock,
    InvalidRequest,
    Stat,
    StoreUnavailable,
)

__all__ = [
    "CID",
    "DEFAULT_API_URL",
    "AddResult",
    "AsyncContentStore",
    "AsyncEmbeddedContentStore",
    "AsyncKuboClient",
    "ContentNotFound",
    "ContentStore",
    "ContentStoreError",
    "CorruptBlock",
    "DocumentVault",
    "EmbeddedContentStore",
    "IntegrityError",
    "InvalidRequest",
    "Keyring",
    "KuboClient",
    "KuboError",
    "Stat",
    "StoreUnavailable",
    "StoredDocument",
    "decrypt_document",
    "encrypt_document",
    "open_content_store",
]


def open_content_store(
    kind: str = "embedded", *, data_dir: Path | str = ".data/ipfs", api_url: str = DEFAULT_API_URL
) -> ContentStore:
    """``embedded`` → a blockstore under ``data_dir``; ``kubo`` → the daemon at ``api_url``."""
    if kind == "embedded":
        return EmbeddedContentStore(data_dir)
    if kind == "kubo":
        return KuboClient(api_url)
    raise ValueError(f"kind: {kind!r} is not 'embedded' or 'kubo'")
