"""QR identity wiring: the authority key, the issuer, the verifier and the issued payloads we hold.

The chain records only a code's id and payload hash; the signed payload (the QR's text) is kept by
the issuing gateway (SQLite) so it can render the current code as PNG/SVG again later.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from app.api.errors import ApiError
from app.data_files import secure_file
from app.qr import AuthorityKey, QrIssuer, QrVerifier, TrustAnchor
from app.settings import Settings


class QrService:
    """``key`` signs (TrafficAuthority's gateway); ``trusted`` are extra certificates to verify with."""

    def __init__(
        self, key: AuthorityKey | None, base_url: str, db_path: Path, trusted: list[TrustAnchor] | None = None
    ) -> None:
        self.key = key
        self._issuer = QrIssuer(key, base_url) if key is not None else None
        anchors = list(trusted or [])
        if key is not None:
            anchors.append(TrustAnchor(key.private_key.public_key(), key.issuer))
        self.verifier = QrVerifier(anchors)
        secure_file(db_path)  # 0600 in a 0700 folder (its WAL/SHM inherit the mode)
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS qr_payloads (code_id TEXT PRIMARY KEY, vin TEXT NOT NULL,"
            " payload TEXT NOT NULL, created_at REAL NOT NULL)"
        )
        self._lock = threading.Lock()

    @property
    def issuer(self) -> QrIssuer:
        if self._issuer is None:
            raise ApiError(403, "this gateway holds no QR signing key: codes are issued by TrafficAuthority")
        return self._issuer

    @classmethod
    def from_settings(cls, settings: Settings) -> QrService:
        trusted = (
            [TrustAnchor.from_pem(settings.qr_trusted_cert.read_bytes())] if settings.qr_trusted_cert else []
        )
        key: AuthorityKey | None
        if settings.qr_signing_msp_dir is not None:
            key = AuthorityKey.from_msp_dir(settings.qr_signing_msp_dir)
        elif settings.backend == "embedded" or not trusted:
            key = AuthorityKey.load_or_create_embedded(settings.data_dir / "qr")
        else:
            key = None
        return cls(key, settings.public_base_url, settings.data_dir / "qr.sqlite", trusted)

    def remember(self, code_id: str, vin: str, payload: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO qr_payloads (code_id, vin, payload, created_at) VALUES (?, ?, ?, ?)",
                (code_id, vin, payload, time.time()),
            )

    def payload(self, code_id: str) -> str | None:
        row = self._db.execute("SELECT payload FROM qr_payloads WHERE code_id = ?", (code_id,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()
