"""Subscription secrets at rest: AES-256-GCM under a key of this gateway (a 0600 file under its data
dir, or ``MLEDGER_NOTIFY_SECRET_KEY``). Hashing is not an option: the gateway needs the secret itself
to sign each delivery. The subscription id is the associated data, so a ciphertext moved to another
subscription does not decrypt."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.data_files import secure_file


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("notify secret key: must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path, configured: str | None = None) -> SecretBox:
        """From ``configured`` (base64url of 32 bytes) or the key file, created on first use."""
        if configured:
            return cls(base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4)))
        if path.exists():
            return cls(path.read_bytes())
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        tmp.replace(path)
        secure_file(path)
        return cls(key)

    def seal(self, secret: str, context: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], context.encode()).decode()
