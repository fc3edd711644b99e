"""Owner sign-in by challenge: the gateway never holds (nor sees) the owner's key.

The gateway issues a one-time challenge bound to the owner account the browser or CLI names (a random
nonce, a short expiry); the owner's device signs the challenge document with the key of their own
fabric-ca enrolment (WebCrypto on the phone page, ``cryptography`` in the CLI); the gateway verifies the
signature against the certificate the vehicle office registered on chain for that account. A challenge
is spent by its first answer, right or wrong, so it can be neither replayed nor guessed at.

Challenges live in the off-chain store (``owner_challenges``), so every replica of the office's gateway
accepts an answer to a challenge another replica issued, and still only once.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app.store.database import Database

PURPOSE = "mledger-owner-signin/v1"
CHALLENGE_TTL_SECONDS = 120
KEEP_SECONDS = 86400  # spent or expired challenges are swept after a day
MAX_OPEN = 5  # unanswered, unexpired challenges per account: an anonymous caller cannot pile up rows
#: the pseudonymous enrolment id the contract accepts as an owner account (chaincode/mortgage/owners.py)
ACCOUNT_ID = re.compile(r"^owner-[A-Za-z0-9]{6,40}$")
CHALLENGE_ID = re.compile(r"^och_[0-9a-f]{32}$")


class OwnerSignInError(ValueError):
    """A refused sign-in step; ``field`` names what was wrong, ``status`` the HTTP answer it maps to."""

    def __init__(self, field: str, reason: str, status: int = 401) -> None:
        super().__init__(f"field '{field}': {reason}")
        self.field = field
        self.status = status


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge_id: str
    account_id: str
    nonce: str
    expires_at: float

    @property
    def document(self) -> str:
        """What the owner signs: canonical JSON (sorted keys, no whitespace), UTF-8."""
        body = {
            "purpose": PURPOSE,
            "challenge_id": self.challenge_id,
            "account_id": self.account_id,
            "nonce": self.nonce,
            "expires_at": datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"))


def check_account_id(account_id: str) -> str:
    if not ACCOUNT_ID.fullmatch(account_id or ""):
        raise OwnerSignInError(
            "account_id", "must be an owner enrolment id 'owner-' + 6..40 letters/digits", 400
        )
    return account_id


class OwnerChallenges:
    """Issue and spend challenges (one row each in the off-chain store)."""

    def __init__(self, db: Database, ttl_seconds: int = CHALLENGE_TTL_SECONDS) -> None:
        self._db = db
        self.ttl_seconds = ttl_seconds

    def issue(self, account_id: str, now: float | None = None) -> Challenge:
        now = time.time() if now is None else now
        challenge = Challenge(
            challenge_id="och_" + secrets.token_hex(16),
            account_id=check_account_id(account_id),
            nonce=secrets.token_urlsafe(32),
            expires_at=float(int(now) + self.ttl_seconds),
        )
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM owner_challenges WHERE expires_at < ?", (now - KEEP_SECONDS,))
            row = tx.one(
                "SELECT COUNT(*) FROM owner_challenges WHERE account_id = ? AND used_at IS NULL"
                " AND expires_at >= ?",
                (challenge.account_id, now),
            )
            if row is not None and int(row[0]) >= MAX_OPEN:
                raise OwnerSignInError(
                    "account_id", f"{MAX_OPEN} challenges are open for this account: answer one or wait", 429
                )
            tx.execute(
                "INSERT INTO owner_challenges (challenge_id, account_id, nonce, issued_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (challenge.challenge_id, challenge.account_id, challenge.nonce, now, challenge.expires_at),
            )
        return challenge

    def spend(self, challenge_id: str, account_id: str, now: float | None = None) -> Challenge:
        """The challenge, marked used; OwnerSignInError when it is unknown, used, expired or issued for
        another account. Spent by this call whatever the signature turns out to be."""
        now = time.time() if now is None else now
        if not CHALLENGE_ID.fullmatch(challenge_id or ""):
            raise OwnerSignInError("challenge_id", "not a challenge id (och_ + 32 hex digits)", 400)
        with self._db.transaction() as tx:
            row = tx.one(
                "SELECT account_id, nonce, expires_at, used_at FROM owner_challenges WHERE challenge_id = ?",
                (challenge_id,),
            )
            if row is None:
                raise OwnerSignInError("challenge_id", "unknown challenge (ask for a new one)")
            bound, nonce, expires_at, used_at = row
            if used_at is not None:
                raise OwnerSignInError("challenge_id", "already used (a challenge answers one sign-in)")
            tx.execute("UPDATE owner_challenges SET used_at = ? WHERE challenge_id = ?", (now, challenge_id))
        if bound != account_id:
            raise OwnerSignInError(
                "account_id", f"the challenge was issued for another account, not {account_id}"
            )
        if now > float(expires_at):
            raise OwnerSignInError("challenge_id", "expired (ask for a new one and sign it at once)")
        return Challenge(challenge_id, str(bound), str(nonce), float(expires_at))


def signature_der(value: str) -> bytes:
    """Base64 of DER or of WebCrypto's raw ``r‖s`` (64 bytes), as DER."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise OwnerSignInError("signature", "not base64", 400) from None
    if len(raw) == 64:
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return raw


def certificate_sha256(certificate_pem: str) -> str:
    cert = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    return cert.fingerprint(hashes.SHA256()).hex()


def verify_answer(
    challenge: Challenge, signature: str, certificate_pem: str, now: float | None = None
) -> None:
    """OwnerSignInError unless ``signature`` signs the challenge document with the key of
    ``certificate_pem`` (the account's registered certificate), and that certificate is valid now."""
    cert = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    at = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise OwnerSignInError("account_id", "the account's registered certificate is not valid now", 403)
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise OwnerSignInError("account_id", "the account's registered certificate has no ECDSA key", 403)
    der = signature_der(signature)
    try:
        key.verify(der, challenge.document.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise OwnerSignInError(
            "signature",
            f"does not verify against the certificate registered for {challenge.account_id} "
            "(signed with another key, or over another document)",
        ) from None


def sign_challenge(private_key_pem: bytes, document: str, password: bytes | None = None) -> str:
    """The owner's side (CLI): base64 DER ECDSA P-256/SHA-256 over the challenge document."""
    key = serialization.load_pem_private_key(private_key_pem, password)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise OwnerSignInError("key", "must be the ECDSA P-256 key of the owner's enrolment", 400)
    return base64.b64encode(key.sign(document.encode("utf-8"), ec.ECDSA(hashes.SHA256()))).decode("ascii")
