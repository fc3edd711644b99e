"""Owner identities for the contract tests: fabric-ca-shaped certificates with role owner, and signing."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from chaincode.mortgage.owners import canonical_json
from chaincode.runtime.testing import TestIdentity, make_identity


@cache
def owner_identity(account_id: str) -> TestIdentity:
    return make_identity("TrafficAuthorityMSP", account_id, {"role": "owner"})


def sign(identity: TestIdentity, document: dict[str, Any], *, raw: bool = False) -> str:
    """base64 ECDSA P-256/SHA-256 over the canonical JSON; ``raw``: r‖s as WebCrypto returns it."""
    key = serialization.load_pem_private_key(identity.key_pem, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(canonical_json(document), ec.ECDSA(hashes.SHA256()))
    if raw:
        r, s = decode_dss_signature(der)
        der = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return base64.b64encode(der).decode()


def signed_document(consent: dict[str, Any]) -> dict[str, Any]:
    return json.loads(consent["signed_document"])
