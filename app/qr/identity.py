"""Issue and verify vehicle QR identities.

Issuing (TrafficAuthority): make a :class:`VehicleCode`, sign it, render it. The caller then
records ``code_id`` and ``payload_sha256`` on chain (chaincode ``IssueQrIdentity``), which revokes
the vehicle's previous code: one vehicle, one code.

Verifying (anyone, e.g. a dealer scanning a windscreen): first the signature, offline, with the
authority's certificate; then — through a lookup the caller supplies (the gateway wires it to
``ResolveQrCode`` + ``GetVehicleStatus``) — whether the code is still the vehicle's current one and
the vehicle's live public status. The outcome is a value, not an exception, so a route can show
"forged", "revoked" or "valid" directly.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from app.qr.decode import QrDecodeError, decode_qr_photo
from app.qr.keys import DEFAULT_ISSUER, AuthorityKey, key_id, load_public_key, sign_raw, verify_raw
from app.qr.payload import MalformedCode, QrCodeError, SignedCode, VehicleCode, new_code_id, parse_scanned
from app.qr.render import render_png, render_svg


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """What the ledger says about a code id (public fields only)."""

    vin: str
    revoked: bool
    payload_sha256: str | None = None
    status: Mapping[str, Any] = field(default_factory=dict)  # live status: mortgaged, seized, insured...


CodeLookup = Callable[[str], CodeRecord | None]
AsyncCodeLookup = Callable[[str], Awaitable[CodeRecord | None]]


class Outcome(StrEnum):
    VALID = "valid"  # genuine, current, not revoked
    REVOKED = "revoked"  # genuine, but revoked or replaced by a newer code
    NOT_REGISTERED = "not_registered"  # genuine signature, but the ledger has no such code
    MISMATCH = "mismatch"  # genuine signature, but the ledger binds the code to other data
    SIGNATURE_ONLY = "signature_only"  # genuine; no ledger lookup was asked for (offline check)
    INVALID_SIGNATURE = "invalid_signature"  # forged or altered
    UNKNOWN_KEY = "unknown_key"  # signed by a key this verifier does not trust
    MALFORMED = "malformed"  # not one of our codes / unreadable


@dataclass(frozen=True, slots=True)
class Verification:
    outcome: Outcome
    reason: str
    code: VehicleCode | None = None
    record: CodeRecord | None = None

    @property
    def signature_valid(self) -> bool:
        return self.outcome in (
            Outcome.VALID,
            Outcome.REVOKED,
            Outcome.NOT_REGISTERED,
            Outcome.MISMATCH,
            Outcome.SIGNATURE_ONLY,
        )

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.VALID

    def public_view(self) -> dict[str, Any]:
        """A JSON-ready summary for a scan page or API answer (no personal data is in a code)."""
        view: dict[str, Any] = {"outcome": self.outcome.value, "reason": self.reason}
        if self.code is not None:
            view.update(
                code_id=self.code.code_id,
                vin=self.code.vin,
                issued_at=self.code.issued_at.isoformat(),
                issuer=self.code.issuer,
            )
        if self.record is not None:
            view.update(revoked=self.record.revoked, status=dict(self.record.status))
        return view


@dataclass(frozen=True, slots=True)
class IssuedCode:
    signed: SignedCode
    url: str

    @property
    def code(self) -> VehicleCode:
        return self.signed.code

    @property
    def payload_sha256(self) -> str:
        return self.signed.code.payload_sha256

    def png(self, **options: Any) -> bytes:
        return render_png(self.url, **options)

    def svg(self, **options: Any) -> bytes:
        return render_svg(self.url, **options)


class QrIssuer:
    """Signs vehicle codes with the authority's key; ``base_url`` is the public scan site."""

    def __init__(self, key: AuthorityKey, base_url: str):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url: {base_url!r} must be an http(s) URL")
        self.key = key
        self.base_url = base_url.rstrip("/")

    def issue(self, vin: str, *, code_id: str | None = None, issued_at: datetime | None = None) -> IssuedCode:
        when = (issued_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        code = VehicleCode(code_id or new_code_id(), vin, when, self.key.issuer, self.key.key_id)
        signed = SignedCode(code, sign_raw(self.key.private_key, code.to_bytes()))
        return IssuedCode(signed, signed.url(self.base_url))


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """A public key the verifier accepts, and the issuer name codes signed by it must carry."""

    public_key: ec.EllipticCurvePublicKey
    issuer: str = DEFAULT_ISSUER

    @classmethod
    def from_pem(cls, pem: bytes, *, issuer: str = DEFAULT_ISSUER) -> TrustAnchor:
        return cls(load_public_key(pem), issuer)


class QrVerifier:
    """Checks scanned codes against trusted authority keys, and optionally against the ledger."""

    def __init__(self, anchors: Iterable[TrustAnchor], *, max_clock_skew: timedelta = timedelta(minutes=5)):
        self._anchors = {key_id(a.public_key): a for a in anchors}
        if not self._anchors:
            raise ValueError("anchors: at least one trusted authority key is needed")
        self.max_clock_skew = max_clock_skew

    @classmethod
    def for_authority(cls, key: AuthorityKey) -> QrVerifier:
        return cls([TrustAnchor(key.private_key.public_key(), key.issuer)])

    # -- offline --------------------------------------------------------------------------------
    def check_signature(self, scanned: str, *, now: datetime | None = None) -> Verification:
        """Parse and verify the signature only (works with no network at all)."""
        try:
            signed = parse_scanned(scanned)
        except QrCodeError as exc:
            return Verification(Outcome.MALFORMED, str(exc))
        code = signed.code
        anchor = self._anchors.get(code.key_id)
        if anchor is None:
            return Verification(
                Outcome.UNKNOWN_KEY,
                f"signed by key {code.key_id.hex()}, which is not a trusted authority key",
            )
        if not verify_raw(anchor.public_key, code.to_bytes(), signed.signature):
            return Verification(
                Outcome.INVALID_SIGNATURE, "signature does not match the code: forged or altered"
            )
        if code.issuer != anchor.issuer:
            return Verification(
                Outcome.INVALID_SIGNATURE,
                f"issuer {code.issuer!r} does not match the key's issuer {anchor.issuer!r}",
            )
        if code.issued_at > (now or datetime.now(UTC)) + self.max_clock_skew:
            return Verification(Outcome.INVALID_SIGNATURE, "issued_at lies in the future", code)
        return Verification(Outcome.SIGNATURE_ONLY, "genuine signature (ledger not consulted)", code)

    # -- with the ledger ------------------------------------------------------------------------
    def verify(
        self, scanned: str, lookup: CodeLookup | None = None, *, now: datetime | None = None
    ) -> Verification:
        first = self.check_signature(scanned, now=now)
        if first.outcome is not Outcome.SIGNATURE_ONLY or lookup is None:
            return first
        assert first.code is not None
        return _judge(first.code, lookup(first.code.code_id))

    async def averify(
        self, scanned: str, lookup: AsyncCodeLookup | CodeLookup, *, now: datetime | None = None
    ) -> Verification:
        first = self.check_signature(scanned, now=now)
        if first.outcome is not Outcome.SIGNATURE_ONLY:
            return first
        assert first.code is not None
        answer = lookup(first.code.code_id)
        record = await answer if inspect.isawaitable(answer) else answer
        return _judge(first.code, record)

    def verify_photo(self, image_bytes: bytes, lookup: CodeLookup | None = None) -> Verification:
        """Decode a photo and verify what it holds; a photo without a readable code is MALFORMED."""
        try:
            text = decode_qr_photo(image_bytes)
        except QrDecodeError as exc:
            return Verification(Outcome.MALFORMED, str(exc))
        return self.verify(text, lookup)

    async def averify_photo(self, image_bytes: bytes, lookup: AsyncCodeLookup | CodeLookup) -> Verification:
        """Async variant: decoding (CPU-bound, ~5-60 ms) runs in a worker thread."""
        try:
            text = await asyncio.to_thread(decode_qr_photo, image_bytes)
        except QrDecodeError as exc:
            return Verification(Outcome.MALFORMED, str(exc))
        return await self.averify(text, lookup)


def _judge(code: VehicleCode, record: CodeRecord | None) -> Verification:
    if record is None:
        return Verification(Outcome.NOT_REGISTERED, f"code {code.code_id} is not on the ledger", code)
    if record.vin != code.vin:
        return Verification(
            Outcome.MISMATCH, f"the ledger binds code {code.code_id} to another vehicle", code, record
        )
    if record.payload_sha256 is not None and not hmac.compare_digest(
        record.payload_sha256.lower(), code.payload_sha256
    ):
        return Verification(
            Outcome.MISMATCH, f"code {code.code_id} differs from the one recorded on the ledger", code, record
        )
    if record.revoked:
        return Verification(
            Outcome.REVOKED, f"code {code.code_id} was revoked (the vehicle has a newer code)", code, record
        )
    return Verification(Outcome.VALID, "genuine and current", code, record)


__all__ = [
    "AsyncCodeLookup",
    "CodeLookup",
    "CodeRecord",
    "IssuedCode",
    "MalformedCode",
    "Outcome",
    "QrIssuer",
    "QrVerifier",
    "TrustAnchor",
    "Verification",
]
