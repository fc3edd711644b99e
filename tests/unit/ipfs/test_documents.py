"""Encrypted documents over the embedded store: what the gateway anchors and reads back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ipfs import DocumentVault, EmbeddedContentStore, IntegrityError, Keyring
from ipfs.documents import DocumentMismatch


def test_put_get_and_checks(tmp_path: Path) -> None:
    store = EmbeddedContentStore(tmp_path / "ipfs")
    vault = DocumentVault(store, Keyring.load_or_create(tmp_path / "keys"))
    content = b"%PDF-1.7 lien registration certificate" * 100
    stored = vault.put("LIEN-1/certificate", content)
    assert stored.cid.startswith("bafy") or stored.cid.startswith("bafk")
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content) and stored.key_ref == vault.keyring.active
    assert content not in store.cat(stored.cid)  # IPFS holds ciphertext only
    assert vault.get("LIEN-1/certificate", stored.cid, sha256=stored.sha256) == content
    with pytest.raises(IntegrityError):
        vault.get("LIEN-2/certificate", stored.cid)
    with pytest.raises(DocumentMismatch, match="SHA-256 differs"):
        vault.get("LIEN-1/certificate", stored.cid, sha256="00" * 32)
