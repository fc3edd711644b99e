"""QR identity use cases: issue a code, verify a scanned one with the vehicle's live status, and the
gateway's own scanner identity for anonymous scans.

The chain records only a code's id and payload hash; the signed payload (the QR's text) is kept by
the issuing gateway (the off-chain store, app/store) so it can render the current code as PNG/SVG
again later. The API and the web pages both verify through :func:`verify`, so a dealer's phone
sees the same verdict on either.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from app.ledger.port import Caller, ChaincodeRefused
from app.qr import AuthorityKey, CodeRecord, QrIssuer, QrVerifier, TrustAnchor
from app.services.errors import NotFound, NotPermitted, Unavailable
from app.services.reads import Reader
from app.settings import Settings
from app.store.config import open_component
from app.store.database import Database, SqliteDatabase
from app.store.migrations import migrate
from app.users.enrolment import Enroller
from app.users.provision import ensure_service_identity
from app.users.roles import SCANNER_USER, Role

log = logging.getLogger(__name__)

COMPONENT = "qr"


class QrService:
    """``key`` signs (TrafficAuthority's gateway); ``trusted`` are extra certificates to verify with."""

    def __init__(
        self,
        key: AuthorityKey | None,
        base_url: str,
        db: Path | Database,
        trusted: list[TrustAnchor] | None = None,
    ) -> None:
        self.key = key
        self._issuer = QrIssuer(key, base_url) if key is not None else None
        anchors = list(trusted or [])
        if key is not None:
            anchors.append(TrustAnchor(key.private_key.public_key(), key.issuer))
        self.verifier = QrVerifier(anchors)
        if isinstance(db, Path):
            db = SqliteDatabase(db)  # 0600 in a 0700 folder (its WAL/SHM inherit the mode)
        migrate(db, COMPONENT)
        self._db: Database = db
        self._owned = isinstance(db, SqliteDatabase)

    @property
    def issuer(self) -> QrIssuer:
        if self._issuer is None:
            raise NotPermitted("this gateway holds no QR signing key: codes are issued by TrafficAuthority")
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
        db = open_component(settings, settings.data_dir / "qr.sqlite")
        return cls(key, settings.public_base_url, db, trusted)

    def remember(self, code_id: str, vin: str, payload: str) -> None:
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO qr_payloads (code_id, vin, payload, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (code_id) DO UPDATE SET vin = excluded.vin, payload = excluded.payload,"
                " created_at = excluded.created_at",
                (code_id, vin, payload, time.time()),
            )

    def payload(self, code_id: str) -> str | None:
        with self._db.transaction() as tx:
            row = tx.one("SELECT payload FROM qr_payloads WHERE code_id = ?", (code_id,))
        return str(row[0]) if row else None

    def close(self) -> None:
        if self._owned:
            self._db.close()


def configured(qr: QrService | None) -> QrService:
    """The gateway's QR service, or Unavailable (503) when it could not be set up at start-up."""
    if qr is None:
        raise Unavailable("QR identity is not configured on this gateway")
    return qr


async def verify(qr: QrService | None, read: Reader, caller: Caller, text: str) -> dict[str, Any]:
    """A scanned code's verdict: the authority's signature, revocation on the ledger and the vehicle's
    live public status (public fields only), read as ``caller`` (a viewer, or the scanner identity)."""
    service = configured(qr)

    async def lookup(code_id: str) -> CodeRecord | None:
        try:
            record = await read(caller, "ResolveQrCode", code_id)
        except ChaincodeRefused as exc:
            if exc.status == 404:
                return None
            raise
        status = await read(caller, "GetVehicleStatus", record["vin"])
        return CodeRecord(
            vin=record["vin"],
            revoked=bool(record.get("revoked")),
            payload_sha256=record.get("payload_sha256"),
            status=status if isinstance(status, dict) else {},
        )

    verdict = await service.verifier.averify(text, lookup)
    return {"valid": verdict.ok, "signature_valid": verdict.signature_valid, **verdict.public_view()}


async def current_payload(qr: QrService | None, read: Reader, caller: Caller, vin: str) -> str:
    """The signed text of the vehicle's current code, when this gateway issued it (NotFound if not)."""
    record = await read(caller, "GetQrIdentity", vin)
    payload = configured(qr).payload(str(record.get("code_id"))) if isinstance(record, dict) else None
    if payload is None:
        raise NotFound(f"vehicle {vin}: the current code was not issued by this gateway")
    return payload


# --- the scanner identity ------------------------------------------------------------------------


def scanner_org(orgs: list[str]) -> str:
    """The org whose ``qr-scanner`` identity reads for anonymous scans: the dealers', else the first."""
    return "DealerMSP" if "DealerMSP" in orgs else orgs[0]


def scanner_caller(orgs: list[str]) -> Caller:
    """The gateway's own identity for anonymous scans (rule public_status: any consortium role)."""
    return Caller(user_id=SCANNER_USER, msp_id=scanner_org(orgs), attributes={"role": Role.scanner.value})


def ensure_scanner_identity(settings: Settings, enroller: Enroller) -> str:
    """On the real network, enrol the gateway's ``qr-scanner`` identity (role scanner) with the org's
    fabric-ca once, so anonymous scans need no manual step (embedded mode issues it on first use).

    Returns what happened; a CA that cannot enrol it is logged, not fatal: the gateway still serves
    everything else and anonymous scans answer 401 naming the missing identity.
    """
    return ensure_service_identity(settings, enroller, scanner_org(settings.orgs), SCANNER_USER, Role.scanner)
