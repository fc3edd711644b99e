"""The gateway's document service: encrypt + add to IPFS, fetch + decrypt + check, verify a copy.

Anchoring on chain is done by the API in the same request (AnchorDocument with the CID, the
plaintext's SHA-256 and size, and the key reference); this module does the off-chain half.
Blocking store calls run in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from ipfs.documents import DocumentVault, StoredDocument
from ipfs.envelope import Keyring
from ipfs.port import ContentStore

log = logging.getLogger(__name__)

_EMPTY_RAW_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # a cheap existence probe


@dataclass(frozen=True, slots=True)
class Verification:
    document_id: str
    matches: bool
    anchored_sha256: str
    presented_sha256: str
    anchored_size: int
    presented_size: int


class DocumentService:
    def __init__(self, store: ContentStore, keyring: Keyring, *, cid_version: int = 1) -> None:
        self.store = store
        self.vault = DocumentVault(store, keyring, cid_version=cid_version)

    @classmethod
    def embedded(cls, data_dir: Path) -> DocumentService:
        from ipfs.embedded import EmbeddedContentStore

        return cls(EmbeddedContentStore(data_dir / "ipfs"), Keyring.load_or_create(data_dir / "keys"))

    @classmethod
    def kubo(cls, api_url: str, data_dir: Path) -> DocumentService:
        from ipfs.kubo import KuboClient

        return cls(KuboClient(api_url), Keyring.load_or_create(data_dir / "keys"))

    async def put(self, document_id: str, content: bytes) -> StoredDocument:
        return await asyncio.to_thread(self.vault.put, document_id, content)

    async def get(self, document_id: str, cid: str, sha256: str) -> bytes:
        """Fetch, decrypt and check against the anchored digest (raises on any mismatch)."""
        return await asyncio.to_thread(self.vault.get, document_id, cid, sha256=sha256)

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
        probe = getattr(self.store, "version", None)
        try:
            if probe is not None:
                await asyncio.to_thread(probe)
            else:
                await asyncio.to_thread(self.store.has, _EMPTY_RAW_CID)
        except Exception as exc:
            return f"down: {exc}"
        return "ok"
