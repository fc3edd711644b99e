"""Search certificates: read the facts as of a block, sign them with the issuing org's identity, record
the hash on chain, keep the signed document to serve it again, and check a certificate online.

Who may ask: dealers, banks and the vehicle office (the chaincode's rule ``certificate_request`` on
``GetSearchFacts`` and ``RecordSearchCertificate``, checked for the caller's own identity). The
certificate is signed by the issuing org's signing identity: in embedded mode an identity issued by the
caller's org CA (so the org's CA certificate verifies it); on a Fabric network the gateway org's
enrolled identity (``certificate_signing_msp_dir``), whose fabric-ca root is the org's public CA.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.certificates.document import SigningIdentity, body_hash, sign
from app.certificates.pdf import render_pdf
from app.ledger.port import Caller, ChaincodeRefused, LedgerPort
from app.services.errors import NotFound, NotPermitted, Unavailable
from app.services.reads import Reader
from app.settings import Settings
from app.store.config import open_component
from app.store.database import Database, SqliteDatabase, Tx
from app.store.migrations import migrate, sqlite_columns
from chaincode import consortium

log = logging.getLogger(__name__)

#: how often the facts are read again when a block commits between the height reads around them
COMPONENT = "certificates"
AS_OF_ATTEMPTS = 4
SIGNER_NAME = "search-certificate-signer"


NUMBER = r"^SC-[0-9]{8}-[0-9A-F]{12}$"


def certificates(state: Any) -> CertificateService:
    """The gateway's certificate service, made on first use (it needs the ledger's identities)."""
    service = state.extras.get("certificates")
    if service is None:
        try:
            service = CertificateService.from_settings(state.settings, state.ledger)
        except (ValueError, OSError) as exc:
            raise Unavailable(f"search certificates are not configured on this gateway: {exc}") from None
        state.extras["certificates"] = service
    return service  # type: ignore[no-any-return]


def org_name(msp_id: str) -> str:
    try:
        return consortium.org(msp_id).name
    except KeyError:
        return msp_id


def new_number(now: dt.datetime) -> str:
    """``SC-YYYYMMDD-`` and 12 random hex digits: unique, not guessable, sortable by day."""
    return f"SC-{now:%Y%m%d}-{secrets.token_hex(6).upper()}"


class CertificateStore:
    """The signed documents this gateway issued, in the off-chain store (``certificates.sqlite`` by
    default, the org's PostgreSQL with ``MLEDGER_STORE_URL``), so a PDF can be fetched again later
    from any replica."""

    def __init__(self, db: Path | Database) -> None:
        if isinstance(db, Path):
            db = SqliteDatabase(db)  # 0600 (its WAL/SHM inherit the mode)
        migrate(db, COMPONENT, legacy=_legacy_version if db.dialect == "sqlite" else None)
        self.db: Database = db
        self._owned = isinstance(db, SqliteDatabase)

    def put(self, document: dict[str, Any]) -> None:
        cert = document["certificate"]
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO certificates (number, vin, requested_by, document, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    cert["certificate_number"],
                    cert["vin"],
                    cert["requested_by"]["msp_id"],
                    json.dumps(document, sort_keys=True),
                    cert["issued_at"],
                ),
            )

    def get(self, number: str) -> dict[str, Any] | None:
        with self.db.reading() as tx:
            row = tx.one("SELECT document FROM certificates WHERE number = ?", (number,))
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        if self._owned:
            self.db.close()


def _legacy_version(tx: Tx) -> int:
    """A certificates.sqlite from before the store: its one table is version 1."""
    return 1 if sqlite_columns(tx, "certificates") is not None else 0


SignerFor = Callable[[str], SigningIdentity]


class CertificateService:
    """Issue and look up search certificates; ``signer_for(msp_id)`` gives the identity that signs for
    a requester of that org."""

    def __init__(
        self, ledger: LedgerPort, signer_for: SignerFor, base_url: str, db_path: Path | Database
    ) -> None:
        self.ledger = ledger
        self.signer_for = signer_for
        self.base_url = base_url.rstrip("/")
        self.store = CertificateStore(db_path)

    @classmethod
    def from_settings(cls, settings: Settings, ledger: LedgerPort) -> CertificateService:
        msp_dir: Path | None = getattr(settings, "certificate_signing_msp_dir", None)
        if msp_dir is not None:
            issuer_msp = str(getattr(settings, "certificate_issuer_msp", "") or settings.orgs[0])
            fixed = signing_identity_from_msp_dir(issuer_msp, Path(msp_dir))
            signer_for: SignerFor = lambda _msp: fixed  # noqa: E731
        else:
            identities = getattr(ledger, "identities", None)  # the embedded ledger's per-org CAs
            if identities is None:
                raise Unavailable(
                    "search certificates need a signing identity: set MLEDGER_CERTIFICATE_SIGNING_MSP_DIR "
                    "to the issuing org's enrolled MSP folder"
                )

            def signer_for(msp_id: str) -> SigningIdentity:
                issued = identities.issue(msp_id, SIGNER_NAME, {})
                return SigningIdentity.from_pem(msp_id, issued.key_pem, issued.cert_pem)

        db = open_component(settings, settings.data_dir / "certificates.sqlite")
        return cls(ledger, signer_for, settings.public_base_url, db)

    def verify_url(self, number: str) -> str:
        return f"{self.base_url}/certificates/{number}"

    async def _height(self) -> int:
        health = await self.ledger.health()
        try:
            return int(health.get("height", ""))
        except ValueError:
            raise Unavailable("the ledger did not report its block height") from None

    async def facts_as_of(self, read: Reader, caller: Caller, vin: str) -> tuple[dict[str, Any], int]:
        """The facts and the height they reflect: read between two equal height readings, so no block
        committed in between (a busy ledger is tried again a few times)."""
        for _ in range(AS_OF_ATTEMPTS):
            before = await self._height()
            facts = await read(caller, "GetSearchFacts", vin)
            if await self._height() == before:
                return facts, before
        raise Unavailable("the ledger kept committing blocks while the certificate was read; try again")

    async def issue(
        self, read: Reader, caller: Caller, vin: str, basis: str, owner_consent_id: str | None = None
    ) -> dict[str, Any]:
        """Read, sign, record on chain, keep; returns the signed document plus the recording tx.

        ``owner_consent_id``: a buyer's path — the owner's signed ``certificate_release`` consent to the
        caller's org, which the chaincode checks and spends when the hash is recorded."""
        if owner_consent_id is not None:
            basis = f"owner_consent:{owner_consent_id}"
        facts, height = await self.facts_as_of(read, caller, vin)
        now = dt.datetime.now(dt.UTC)
        number = new_number(now)
        signer = self.signer_for(caller.msp_id)
        body = {
            "certificate_number": number,
            "vin": facts["vin"],
            "as_of": {"block": height - 1, "height": height, "time": facts.pop("as_of")},
            "issued_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "issuer": {"msp_id": signer.msp_id, "name": org_name(signer.msp_id)},
            "requested_by": {
                "msp_id": caller.msp_id,
                "org_name": org_name(caller.msp_id),
                "user": caller.user_id,
                "basis": basis,
            },
            "facts": facts,
            "verify_url": self.verify_url(number),
        }
        document = sign(body, signer)
        record = {
            "certificate_number": number,
            "vin": body["vin"],
            "sha256": document["sha256"],
            "as_of_block": body["as_of"]["block"],
            "issuer": signer.msp_id,
        }
        if owner_consent_id is not None:
            record["owner_consent_id"] = owner_consent_id
        tx = await self.ledger.submit(caller, "RecordSearchCertificate", [json.dumps(record)])
        self.store.put(document)
        log.info(
            "search certificate %s issued for %s by %s (tx %s)", number, body["vin"], signer.msp_id, tx.tx_id
        )
        return {**document, "recorded": {"tx_id": tx.tx_id, "block_number": tx.block_number}}

    def document(self, number: str, caller: Caller | None) -> dict[str, Any]:
        """A certificate this gateway issued; only to its requester's org (or its issuer's)."""
        document = self.store.get(number)
        if document is None:
            raise NotFound(f"certificate {number}: not issued by this gateway")
        cert = document["certificate"]
        if caller is not None and caller.msp_id not in (
            cert["requested_by"]["msp_id"],
            cert["issuer"]["msp_id"],
        ):
            raise NotPermitted(f"certificate {number}: issued to {cert['requested_by']['org_name']}")
        return document

    def pdf(self, document: dict[str, Any]) -> bytes:
        return render_pdf(document)

    async def check_online(
        self, read: Reader, caller: Caller, number: str, sha256: str | None
    ) -> dict[str, Any]:
        """What the QR code opens: the on-chain record of ``number`` and whether ``sha256`` matches it."""
        try:
            record = await read(caller, "GetSearchCertificate", number)
        except ChaincodeRefused as exc:
            if exc.status == 404:
                return {
                    "valid": False,
                    "certificate_number": number,
                    "outcome": "not_recorded",
                    "reason": f"certificate {number} is not recorded on the ledger",
                }
            raise
        matches = sha256 is None or sha256.lower() == record.get("sha256")
        return {
            "valid": bool(sha256) and matches,
            "certificate_number": number,
            "outcome": "recorded" if matches else "hash_mismatch",
            "reason": (
                "the certificate's hash is recorded on the ledger"
                if matches
                else "the hash does not match the one recorded on the ledger: the copy was altered"
            ),
            "record": record,
        }


def signing_identity_from_msp_dir(msp_id: str, msp_dir: Path) -> SigningIdentity:
    """An enrolled identity's MSP folder (``keystore/`` + ``signcerts/``), as fabric-ca-client writes it."""
    keys = sorted((msp_dir / "keystore").glob("*"))
    certs = sorted((msp_dir / "signcerts").glob("*.pem"))
    if len(keys) != 1 or len(certs) != 1:
        raise Unavailable(
            f"certificate signing MSP folder {msp_dir}: expected one key in keystore/ and one cert in "
            f"signcerts/, found {len(keys)} and {len(certs)}"
        )
    return SigningIdentity.from_pem(msp_id, keys[0].read_bytes(), certs[0].read_bytes())


def recompute_hash(document: dict[str, Any]) -> str:
    return body_hash(document["certificate"])


__all__ = ["CertificateService", "CertificateStore", "signing_identity_from_msp_dir"]
