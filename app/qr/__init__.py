"""The vehicle QR identity: signed codes, PNG/SVG rendering, photo decoding, verification.

Pure functions and classes; the gateway wires them into routes. Typical use::

    key = AuthorityKey.load_or_create_embedded(".data/qr")       # or AuthorityKey.from_msp_dir(...)
    issued = QrIssuer(key, "https://ledger.example").issue(vin)  # record issued.code.code_id and
    png = issued.png()                                           # issued.payload_sha256 on chain
    verdict = QrVerifier.for_authority(key).verify_photo(photo_bytes, lookup)
"""

from __future__ import annotations

from app.qr.decode import NoQrCodeFound, QrDecodeError, decode_qr_codes, decode_qr_photo
from app.qr.identity import (
    AsyncCodeLookup,
    CodeLookup,
    CodeRecord,
    IssuedCode,
    Outcome,
    QrIssuer,
    QrVerifier,
    TrustAnchor,
    Verification,
)
from app.qr.keys import AuthorityKey, KeyConfigError
from app.qr.payload import MalformedCode, QrCodeError, SignedCode, VehicleCode, parse_scanned
from app.qr.render import qr_version, render_png, render_svg

__all__ = [
    "AsyncCodeLookup",
    "AuthorityKey",
    "CodeLookup",
    "CodeRecord",
    "IssuedCode",
    "KeyConfigError",
    "MalformedCode",
    "NoQrCodeFound",
    "Outcome",
    "QrCodeError",
    "QrDecodeError",
    "QrIssuer",
    "QrVerifier",
    "SignedCode",
    "TrustAnchor",
    "VehicleCode",
    "Verification",
    "decode_qr_codes",
    "decode_qr_photo",
    "parse_scanned",
    "qr_version",
    "render_png",
    "render_svg",
]
