"""Per-org key-encryption keys (X25519): each org's private key stays on its own gateway.

Why: a document's data key is wrapped once per party org (:mod:`ipfs.party_envelope`), so a gateway
can open a document only with the private key of an org it serves — a shared master key would let any
gateway that fetched the ciphertext read it. Uploaders need every party's *public* key: each gateway
writes its orgs' public keys to a directory that the consortium shares out of band (as it shares its
MSP certificates); the embedded gateway, hosting every org in one process, keeps all private keys but
still opens a document only with the caller's org key.

Files: ``<private dir>/<MSP>.x25519`` raw 32-byte private key (0600, dir 0700);
``<public dir>/<MSP>.pub`` the standard base64 of the raw 32-byte public key. A key id is a
fingerprint of the public key (``ok-<16 hex>``). Key material never appears in messages or logs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ipfs.private_file import write_file_atomically

log = logging.getLogger(__name__)

_MSP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$")


class OrgKeyError(ValueError):
    """An org key is missing, unsafe or malformed (the message names the org and the file)."""


def public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: X25519PublicKey) -> str:
    """A stable, non-secret id of an org's key pair (fingerprint of the public key)."""
    return "ok-" + hashlib.sha256(b"mledger-org-key-id\0" + public_bytes(key)).hexdigest()[:16]


def _check_msp(msp_id: str) -> str:
    if not _MSP.match(msp_id):
        raise OrgKeyError(f"org key: {msp_id!r} is not an MSP ID")
    return msp_id


class OrgKeys:
    """Private keys of the orgs this gateway serves and public keys of every party org."""

    def __init__(
        self,
        private: dict[str, X25519PrivateKey],
        public: dict[str, X25519PublicKey],
        public_dir: Path | None = None,
    ) -> None:
        self._private = dict(private)
        self._public = {**public, **{msp: key.public_key() for msp, key in private.items()}}
        self._public_dir = public_dir  # re-read for an org whose key was published after start

    def __repr__(self) -> str:  # never show key material
        return f"OrgKeys(held={sorted(self._private)}, public={sorted(self._public)})"

    @property
    def held(self) -> list[str]:
        """The orgs whose private key this gateway holds."""
        return sorted(self._private)

    def private_key(self, msp_id: str) -> X25519PrivateKey:
        try:
            return self._private[msp_id]
        except KeyError:
            raise OrgKeyError(
                f"org key: this gateway holds no private key of {msp_id} (it serves {self.held})"
            ) from None

    def public_key(self, msp_id: str) -> X25519PublicKey:
        if msp_id not in self._public and self._public_dir is not None and _MSP.match(msp_id):
            path = self._public_dir / f"{msp_id}.pub"
            if path.is_file():
                self._public[msp_id] = _read_public(path)
        try:
            return self._public[msp_id]
        except KeyError:
            raise OrgKeyError(
                f"org key: no public key of {msp_id} is known to this gateway; add its {msp_id}.pub "
                "to the shared public-key directory"
            ) from None

    def recipients(self, parties: Iterable[str]) -> dict[str, X25519PublicKey]:
        return {msp: self.public_key(msp) for msp in sorted(set(parties))}

    @classmethod
    def generate(cls, orgs: Iterable[str]) -> OrgKeys:
        """Fresh keys held in memory (tests, tools)."""
        return cls({_check_msp(msp): X25519PrivateKey.generate() for msp in orgs}, {})

    @classmethod
    def load_or_create(
        cls, private_dir: Path | str, orgs: Iterable[str], public_dir: Path | str | None = None
    ) -> OrgKeys:
        """Keys of ``orgs`` from ``private_dir`` (created on first use), their public keys published to
        ``public_dir`` (default: the same folder), and every other org's public key read from there."""
        private_path = Path(private_dir)
        public_path = Path(public_dir) if public_dir is not None else private_path
        private_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        private: dict[str, X25519PrivateKey] = {}
        with _locked(private_path):
            for msp in orgs:
                private[_check_msp(msp)] = _load_or_create_private(private_path / f"{msp}.x25519")
        return cls.published(private, public_path)

    @classmethod
    def published(cls, private: dict[str, X25519PrivateKey], public_dir: Path | str) -> OrgKeys:
        """``private`` (held however the gateway keeps them) with their public keys published to
        ``public_dir`` and every other org's public key read from there."""
        public_path = Path(public_dir)
        public_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(public_path):
            for msp, key in private.items():
                _publish(public_path / f"{_check_msp(msp)}.pub", msp, key.public_key())
        public = {file.stem: _read_public(file) for file in sorted(public_path.glob("*.pub"))}
        keys = cls(private, public, public_path)
        log.info("org keys: held %s, public keys of %s", keys.held, sorted(keys._public))
        return keys


def read_private(path: Path) -> X25519PrivateKey | None:
    """An org's private key file of the file layout (None when there is none), checked as on load."""
    return _load_or_create_private(path) if path.exists() else None


def private_raw(key: X25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory / ".orgkeys.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _load_or_create_private(path: Path) -> X25519PrivateKey:
    if not path.exists():
        key = X25519PrivateKey.generate()
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        write_file_atomically(path, raw, 0o600)
        log.info("org key: created %s (%s)", path, key_id(key.public_key()))
        return key
    mode = path.stat().st_mode & 0o077
    if mode:
        raise OrgKeyError(f"org key {path}: permissions too open (group/other may read it); chmod 600 it")
    raw = path.read_bytes()
    if len(raw) != 32:
        raise OrgKeyError(f"org key {path}: must hold 32 raw bytes, got {len(raw)}")
    return X25519PrivateKey.from_private_bytes(raw)


def _read_public(path: Path) -> X25519PublicKey:
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError):
        raise OrgKeyError(f"org public key {path}: not standard base64") from None
    if len(raw) != 32:
        raise OrgKeyError(f"org public key {path}: must decode to 32 bytes, got {len(raw)}")
    return X25519PublicKey.from_public_bytes(raw)


def _publish(path: Path, msp: str, key: X25519PublicKey) -> None:
    text = base64.b64encode(public_bytes(key)).decode("ascii") + "\n"
    if path.exists():
        if public_bytes(_read_public(path)) == public_bytes(key):
            return
        raise OrgKeyError(
            f"org public key {path}: differs from this gateway's private key of {msp}; another key pair "
            "of the org is already published (copy the org's key, do not make a second one)"
        )
    write_file_atomically(path, text.encode("ascii"), 0o644)
