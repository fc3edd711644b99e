"""The gateway's document keys in the off-chain store, sealed by a key-encryption key (KEK).

Two kinds of key open documents: the master keys of the key ring (version-1 envelopes; ``current``
wraps new ones) and each served org's X25519 private key (version-2, per-party envelopes). Kept in
files under one gateway's data dir, a second replica of the org could not open what the first
wrapped, nor see a rotation. Here they are rows of the store (:mod:`app.store`: a SQLite file by
default, the org's PostgreSQL shared by its replicas), each sealed by a KEK the rows never hold:

- :class:`LocalKek`: AES-256-GCM under a 32-byte key in a 0600 file (``<data dir>/keys/store.kek``
  by default, or ``MLEDGER_DOCUMENT_KEK_FILE``); every replica of the org is given the same file.
- an HSM key (:class:`app.hsm.wrapping.TokenKeyWrapper`, ``MLEDGER_HSM_WRAP_KEY_LABEL``): AES key
  wrap inside the token; the KEK never leaves it.

Each row names the KEK that sealed it (``kek_id``, a fingerprint, never the key), so a replica given
another KEK fails with a message naming both ids. A key is checked against its id after unsealing
(a master key's id is its fingerprint, an org key's id the fingerprint of its public key), so a row
moved or swapped is refused. The key files of the earlier layout (``keys/*.key`` + ``ACTIVE``,
``keys/orgs/<MSP>.x25519``) are adopted into an empty store on first open and left in place.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.store.database import Database, Tx
from app.store.migrations import migrate
from ipfs.envelope import Keyring
from ipfs.keyring import KeyringFileError
from ipfs.orgkeys import OrgKeys, key_id, private_raw, read_private
from ipfs.private_file import write_file_atomically

log = logging.getLogger(__name__)

COMPONENT = "documents"
KEK_FILE = "store.kek"


class KeyStoreError(KeyringFileError):
    """The stored document keys cannot be used (wrong KEK, tampered row); the message names ids only."""


class KeyWrap(Protocol):
    """Seals key material for storage; ``kek_id`` names the sealing key (no secret)."""

    @property
    def kek_id(self) -> str: ...

    def seal(self, key: bytes, context: str) -> bytes: ...

    def open(self, sealed: bytes, context: str) -> bytes: ...


class LocalKek:
    """AES-256-GCM with the row's context (key id / org) as associated data."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyStoreError(f"document KEK: must be 32 bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self.kek_id = "kek-" + hashlib.sha256(b"mledger-document-kek\0" + key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"LocalKek({self.kek_id})"

    @classmethod
    def from_file(cls, path: Path, *, create: bool) -> LocalKek:
        """The KEK in ``path`` (0600); made there when missing and ``create`` (a store with no keys)."""
        if not path.exists():
            if not create:
                raise KeyStoreError(
                    f"document KEK {path.name}: missing, and the store holds keys sealed by a KEK; "
                    "give this gateway the org's KEK file (MLEDGER_DOCUMENT_KEK_FILE)"
                )
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_file_atomically(path, secrets.token_bytes(32))
            log.info("document KEK created (%s)", path.name)
        if path.stat().st_mode & 0o077:
            raise KeyStoreError(f"document KEK {path}: permissions too open; chmod 600 it")
        return cls(path.read_bytes())

    def seal(self, key: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, key, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode())
        except InvalidTag:
            raise KeyStoreError(f"document key {context}: does not open with KEK {self.kek_id}") from None


def store_holds_keys(db: Database) -> bool:
    migrate(db, COMPONENT)
    with db.reading() as tx:
        row = tx.one(
            "SELECT (SELECT COUNT(*) FROM document_master_keys) + (SELECT COUNT(*) FROM document_org_keys)"
        )
    return bool(row and row[0])


def local_kek(db: Database, path: Path) -> LocalKek:
    """The KEK file for this store: created only while the store holds no sealed key."""
    return LocalKek.from_file(path, create=not store_holds_keys(db))


def _context(kind: str, name: str) -> str:
    return f"mledger-{kind}:{name}"


class StoreKeyRing:
    """The master key ring as rows (a :class:`~ipfs.keyring.KeySource`): every operation sees the
    ring as stored now, so a key rotated on one replica is current on all of them. One read of the
    ring's generation per operation; keys are unsealed again only when it changed."""

    def __init__(self, db: Database, wrap: KeyWrap, *, adopt_dir: Path | None = None) -> None:
        self.db = db
        self.wrap = wrap
        self._lock = threading.Lock()
        self._cached: tuple[int, Keyring] | None = None
        migrate(db, COMPONENT)
        with db.transaction(lock="mledger-documents:keyring") as tx:
            if tx.one("SELECT 1 FROM document_key_state WHERE id = 1") is None:
                adopted = _adoptable(adopt_dir)
                ring = adopted or Keyring.generate()
                for kid in ring.kids:
                    self._insert(tx, kid, ring.get(kid))
                tx.execute(
                    "INSERT INTO document_key_state (id, current_kid, generation) VALUES (1, ?, 1)",
                    (ring.active,),
                )
                how = "adopted from the key files" if adopted else "new"
                log.info("document key ring in the store (%s): current %s", how, ring.active)

    def _insert(self, tx: Tx, kid: str, key: bytes) -> None:
        sealed = self.wrap.seal(key, _context("master-key", kid))
        tx.execute(
            "INSERT INTO document_master_keys (kid, sealed, kek_id, created_at) VALUES (?, ?, ?, ?)",
            (kid, sealed, self.wrap.kek_id, time.time()),
        )

    def current(self) -> Keyring:
        with self.db.reading() as tx:
            state = tx.one("SELECT current_kid, generation FROM document_key_state WHERE id = 1")
            if state is None:
                raise KeyStoreError("document key ring: the store holds none")
            cached = self._cached
            if cached is not None and cached[0] == int(state[1]):
                return cached[1]
            rows = tx.all("SELECT kid, sealed, kek_id FROM document_master_keys")
        keys: dict[str, bytes] = {}
        for kid, sealed, kek in rows:
            if kek != self.wrap.kek_id:
                raise KeyStoreError(
                    f"document key {kid}: sealed by KEK {kek}, this gateway has {self.wrap.kek_id}; "
                    "give every replica of the org the same KEK"
                )
            key = self.wrap.open(bytes(sealed), _context("master-key", str(kid)))
            if Keyring.key_id(key) != kid:
                raise KeyStoreError(f"document key {kid}: the stored key is not the one its id names")
            keys[str(kid)] = key
        ring = Keyring(keys, str(state[0]))
        with self._lock:
            self._cached = (int(state[1]), ring)
        return ring

    def rotate(self) -> Keyring:
        """A fresh key, current from now on for every replica; older keys stay for reading."""
        key = Keyring.generate()
        kid = key.active
        with self.db.transaction(lock="mledger-documents:keyring") as tx:
            self._insert(tx, kid, key.get(kid))
            tx.execute(
                "UPDATE document_key_state SET current_kid = ?, generation = generation + 1 WHERE id = 1",
                (kid,),
            )
        log.info("document key ring rotated: current %s", kid)
        return self.current()


def _has_files(directory: Path) -> bool:
    return any(directory.glob("*.key"))


def _adoptable(directory: Path | None) -> Keyring | None:
    """The earlier layout's key ring (``<kid>.key`` + ``ACTIVE``), if the data dir has one."""
    if directory is None or not _has_files(directory):
        return None
    return Keyring.load_or_create(directory)


def store_org_keys(
    db: Database, wrap: KeyWrap, orgs: list[str], public_dir: Path, *, adopt_dir: Path | None = None
) -> OrgKeys:
    """The served orgs' private keys from the store (made, or adopted from ``adopt_dir``'s
    ``<MSP>.x25519`` files, on first use; one key pair per org for all its replicas), their public keys
    published to ``public_dir`` as before."""
    migrate(db, COMPONENT)
    private: dict[str, X25519PrivateKey] = {}
    for msp in orgs:
        with db.transaction(lock=f"mledger-documents:org:{msp}") as tx:
            row = tx.one("SELECT key_id, sealed, kek_id FROM document_org_keys WHERE msp_id = ?", (msp,))
            if row is None:
                key = (read_private(adopt_dir / f"{msp}.x25519") if adopt_dir else None) or (
                    X25519PrivateKey.generate()
                )
                sealed = wrap.seal(private_raw(key), _context("org-key", msp))
                row = (key_id(key.public_key()), sealed, wrap.kek_id)
                tx.execute(
                    "INSERT INTO document_org_keys (msp_id, key_id, sealed, kek_id, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (msp, row[0], row[1], row[2], time.time()),
                )
        kid, kek = str(row[0]), str(row[2])
        if kek != wrap.kek_id:
            raise KeyStoreError(
                f"org key of {msp} ({kid}): sealed by KEK {kek}, this gateway has {wrap.kek_id}; "
                "give every replica of the org the same KEK"
            )
        key = X25519PrivateKey.from_private_bytes(wrap.open(bytes(row[1]), _context("org-key", msp)))
        if key_id(key.public_key()) != kid:
            raise KeyStoreError(f"org key of {msp}: the stored key is not {kid}")
        private[msp] = key
    return OrgKeys.published(private, public_dir)
