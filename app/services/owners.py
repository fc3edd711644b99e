"""Owner consents at the gateway: the terms a grantee asks for, and the owner's signature over them.

The gateway never holds an owner's consent key. It hands out the canonical document the owner signs
(:func:`signed_document`); the owner signs it on their own device — the phone page's WebCrypto with the
PKCS#8 key from their fabric-ca enrolment, or :func:`sign_document` in the owner's own CLI — and the
signature is carried to the ledger, where the contract verifies it against the certificate the vehicle
office registered (chaincode/mortgage/owners.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.services.errors import IntegrityFailed, InvalidInput
from chaincode.mortgage.owners import canonical_json

#: what a consent shows (GetOwnerConsent's answer), as the interface between helpers promises
CONSENT_FIELDS = ("consent_id", "vin", "kind", "terms", "grantee", "status", "expires_at")


def signed_document(consent: dict[str, Any]) -> dict[str, Any]:
    """The document the owner signs, from a consent as GetOwnerConsent shows it."""
    raw = consent.get("signed_document")
    if not isinstance(raw, str):
        raise IntegrityFailed("consent: the ledger's answer has no signed_document")
    document: dict[str, Any] = json.loads(raw)
    return document


def sign_document(private_key_pem: bytes, document: dict[str, Any], password: bytes | None = None) -> str:
    """The owner's signature (base64 DER ECDSA P-256/SHA-256 over the canonical JSON): runs on the
    owner's side only — the owner's CLI — never in the gateway."""
    key = serialization.load_pem_private_key(private_key_pem, password)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise InvalidInput("key: must be the ECDSA P-256 key of the owner's enrolment")
    return base64.b64encode(key.sign(canonical_json(document), ec.ECDSA(hashes.SHA256()))).decode("ascii")


def consent_summary(consent: dict[str, Any]) -> dict[str, Any]:
    """What an owner page lists: the promised fields and what the owner signs, nothing else."""
    shown = {name: consent.get(name) for name in CONSENT_FIELDS}
    shown["owner_account"] = consent.get("owner_account")
    shown["signed_document"] = consent.get("signed_document")
    return shown


__all__ = ["CONSENT_FIELDS", "consent_summary", "sign_document", "signed_document"]
