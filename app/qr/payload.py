"""The signed vehicle code carried by a QR identity ("one vehicle, one code").

A vehicle code names the code id, the VIN, the issue time and the issuer (the authority's MSP id),
plus a short id of the signing key so a verifier with several trusted certificates (after a key
rotation) knows which one to use. It is signed by the TrafficAuthority with ECDSA P-256 / SHA-256
and verifiable OFFLINE with the authority's certificate: the QR holds everything that is signed.

Binary payload, version 1 (all integers big-endian)::

    u8 version=1 | u8 len + code id (ASCII) | 17-byte VIN | u64 issued_at (unix s)
    | u8 len + issuer (UTF-8) | 8-byte key id

Signature: ECDSA over ``b"MLEDGER-QR\\0" + payload`` (domain separated), sent as r ‖ s (64 bytes)
with low S, like Fabric. Both travel base64url without padding:

    https://<host>/v/<payload>?s=<signature>        (the QR content)
    <payload>.<signature>                           (the compact token form)

About 210 characters with a typical host: QR version ~11 at error-correction level Q.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from chaincode.mortgage.vin import VinError, validate_vin

PAYLOAD_VERSION = 1
SIGNING_DOMAIN = b"MLEDGER-QR\0"
KEY_ID_BYTES = 8
_CODE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no look-alikes (0/O, 1/I/L, U/V)


class QrCodeError(ValueError):
    """Base class: a code could not be made, parsed or trusted; the message says which part and why."""


class MalformedCode(QrCodeError):
    """The scanned text is not one of our vehicle codes (or it is cut or garbled)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise MalformedCode(f"{what}: not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedCode(f"{what}: not base64url ({exc})") from None


def new_code_id() -> str:
    """A random, readable code id such as ``VC-7KX2M9QHTR4W`` (about 59 bits)."""
    return "VC-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


@dataclass(frozen=True, slots=True)
class VehicleCode:
    """What the authority vouches for: this code id belongs to this VIN, issued then, by us."""

    code_id: str
    vin: str
    issued_at: datetime
    issuer: str
    key_id: bytes

    def __post_init__(self) -> None:
        if not _CODE_ID_RE.match(self.code_id):
            raise QrCodeError(f"code_id: {self.code_id!r} must be 1-40 characters of A-Z a-z 0-9 _ -")
        try:
            validate_vin(self.vin)
        except VinError as exc:
            raise QrCodeError(f"vin: {exc}") from None
        if self.issued_at.tzinfo is None:
            raise QrCodeError("issued_at: must be timezone-aware (UTC)")
        issuer = self.issuer.encode("utf-8")
        if not 1 <= len(issuer) <= 64:
            raise QrCodeError("issuer: must be 1-64 bytes")
        if len(self.key_id) != KEY_ID_BYTES:
            raise QrCodeError(f"key_id: must be {KEY_ID_BYTES} bytes")

    def to_bytes(self) -> bytes:
        code = self.code_id.encode("ascii")
        issuer = self.issuer.encode("utf-8")
        ts = int(self.issued_at.timestamp())
        return (
            bytes([PAYLOAD_VERSION, len(code)])
            + code
            + self.vin.encode("ascii")
            + ts.to_bytes(8, "big")
            + bytes([len(issuer)])
            + issuer
            + self.key_id
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> VehicleCode:
        try:
            if data[0] != PAYLOAD_VERSION:
                raise MalformedCode(f"payload: version {data[0]} is not supported (expected 1)")
            off = 1
            n = data[off]
            code_id = data[off + 1 : off + 1 + n].decode("ascii")
            off += 1 + n
            vin = data[off : off + 17].decode("ascii")
            off += 17
            ts = int.from_bytes(data[off : off + 8], "big")
            off += 8
            n = data[off]
            issuer = data[off + 1 : off + 1 + n].decode("utf-8")
            off += 1 + n
            key_id = data[off : off + KEY_ID_BYTES]
            off += KEY_ID_BYTES
        except (IndexError, UnicodeDecodeError) as exc:
            raise MalformedCode(f"payload: truncated or garbled ({exc})") from None
        if off != len(data) or len(key_id) != KEY_ID_BYTES:
            raise MalformedCode("payload: length does not match its fields")
        try:
            issued_at = datetime.fromtimestamp(ts, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise MalformedCode("payload: issued_at out of range") from None
        try:
            return cls(code_id, vin, issued_at, issuer, key_id)
        except QrCodeError as exc:
            raise MalformedCode(f"payload: {exc}") from None

    @property
    def payload_sha256(self) -> str:
        """Hex SHA-256 of the payload bytes: what the chaincode records beside the code id."""
        return hashlib.sha256(self.to_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedCode:
    """A vehicle code with its signature, as it travels in the QR."""

    code: VehicleCode
    signature: bytes  # r ‖ s, 64 bytes

    @property
    def token(self) -> str:
        return f"{b64url(self.code.to_bytes())}.{b64url(self.signature)}"

    def url(self, base_url: str) -> str:
        """The QR content: ``<base_url>/v/<payload>?s=<signature>``."""
        return f"{base_url.rstrip('/')}/v/{b64url(self.code.to_bytes())}?s={b64url(self.signature)}"


def parse_scanned(text: str) -> SignedCode:
    """Parse what a scanner read: our URL form (any host) or the compact ``payload.sig`` token."""
    text = text.strip()
    if not text:
        raise MalformedCode("code: empty")
    if "://" in text:
        parts = urlsplit(text)
        match = re.search(r"/v/([A-Za-z0-9_-]+)/?$", parts.path)
        sigs = parse_qs(parts.query).get("s", [])
        if not match or len(sigs) != 1:
            raise MalformedCode("code: URL is not of the form <host>/v/<payload>?s=<signature>")
        payload_text, sig_text = match.group(1), sigs[0]
    else:
        payload_text, dot, sig_text = text.partition(".")
        if not dot:
            raise MalformedCode("code: expected <payload>.<signature> or a /v/ URL")
    payload = unb64url(payload_text, "payload")
    signature = unb64url(sig_text, "signature")
    if len(signature) != 64:
        raise MalformedCode(f"signature: expected 64 bytes (r ‖ s), got {len(signature)}")
    return SignedCode(VehicleCode.from_bytes(payload), signature)
