"""fabric-ca enrolment with the key made and kept in the token.

fabric-ca-client generates its own key file, so it cannot be used for the enrol step: the key pair
is generated in the token, the CSR signed there (app/hsm/csr.py), and the CSR sent to fabric-ca's
REST ``POST /enroll`` (HTTP basic auth with the enrolment secret). Registration still goes through
the registrar (fabric-ca-client ``register``, as for file keys). The wallet folder gets the
certificate and CA chain in the usual MSP layout and, instead of a ``keystore/`` key, a
``pkcs11.json`` naming the key label (never the PIN).
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, KeyType

from app.data_files import secure_dir
from app.fabric_gateway import Identity, identity_from_pem
from app.fabric_gateway.pkcs11_signer import Pkcs11Signer
from app.hsm.csr import build_csr
from app.hsm.keys import generate_signing_key, signer_for, signing_key_public
from app.hsm.token import HsmError, Token
from app.users.enrolment import (
    EnrolledIdentity,
    EnrolmentError,
    FabricCaConfig,
    FabricCaEnroller,
    wallet_msp_dir,
)
from app.users.fabric_profile import PerOrgEnroller, configs_from_profile
from app.users.roles import Role

log = logging.getLogger(__name__)

MARKER = "pkcs11.json"  # = app.ledger.fabric.TOKEN_KEY_MARKER


def key_label(msp_id: str, username: str) -> str:
    """The token label of a wallet user's signing key."""
    return f"fabric/{msp_id}/{username}"


def rest_enroll(config: FabricCaConfig, username: str, secret: str, csr_pem: str) -> tuple[bytes, bytes]:
    """POST the CSR to fabric-ca's /enroll; returns (certificate PEM, CA chain PEM)."""
    context = ssl.create_default_context(cafile=str(config.tls_cert))
    # fabric-ca's tls-cert.pem is its server certificate itself (CA:FALSE), which fabric-ca-client
    # trusts as given: accept it as the anchor (the hostname is still checked).
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    body: dict[str, object] = {"certificate_request": csr_pem}
    if config.ca_name:
        body["caname"] = config.ca_name
    try:
        response = httpx.post(
            f"{config.url.rstrip('/')}/enroll",
            json=body,
            auth=(username, secret),
            verify=context,
            timeout=30,
            trust_env=False,  # the CA is the org's own: no proxy from the environment
        )
    except httpx.HTTPError as exc:
        raise EnrolmentError(f"fabric-ca enroll failed: {type(exc).__name__}: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 201 and not answer.get("success"):
        errors = answer.get("errors") or [{"message": f"HTTP {response.status_code}"}]
        raise EnrolmentError(f"fabric-ca enroll failed: {errors[0].get('message')}")
    result = answer["result"]
    return base64.b64decode(result["Cert"]), base64.b64decode(result["ServerInfo"]["CAChain"])


def enroll_into_token(
    token: Token, config: FabricCaConfig, msp_dir: Path, msp_id: str, username: str, secret: str
) -> Identity:
    """Make the key in the token, have fabric-ca certify it, and write the wallet folder."""
    label = key_label(msp_id, username)
    for old in token.session.get_objects({Attribute.LABEL: label, Attribute.KEY_TYPE: KeyType.EC}):
        old.destroy()  # a re-enrolment replaces the user's key
    public = generate_signing_key(token, label)
    csr = build_csr(username, public, signer_for(token, label))
    cert_pem, chain_pem = rest_enroll(
        config, username, secret, csr.public_bytes(serialization.Encoding.PEM).decode()
    )
    identity = identity_from_pem(msp_id, cert_pem)
    if identity.certificate().public_key() != signing_key_public(token, label):
        raise EnrolmentError("fabric-ca enroll: the certificate is not for the token's key")
    secure_dir(msp_dir / "signcerts")
    secure_dir(msp_dir / "cacerts")
    (msp_dir / "signcerts" / "cert.pem").write_bytes(cert_pem)
    (msp_dir / "cacerts" / "ca.pem").write_bytes(chain_pem)
    (msp_dir / MARKER).write_text(json.dumps({"key_label": label}) + "\n")
    return identity


def load_token_identity(token: Token, msp_dir: Path, msp_id: str) -> tuple[Identity, Pkcs11Signer]:
    """The wallet user's certificate and a signer over its token key (checked to belong together)."""
    marker = json.loads((msp_dir / MARKER).read_text())
    label = str(marker["key_label"])
    certs = sorted((msp_dir / "signcerts").glob("*.pem"))
    if not certs:
        raise HsmError(f"HSM key {label!r}: no certificate in the wallet for it")
    identity = identity_from_pem(msp_id, certs[0].read_bytes())
    if identity.certificate().public_key() != signing_key_public(token, label):
        raise HsmError(f"HSM key {label!r} ({token.where}) does not match its certificate")
    return identity, signer_for(token, label)


class HsmFabricCaEnroller(FabricCaEnroller):
    """FabricCaEnroller whose users' keys are generated and kept in the token."""

    def __init__(self, config: FabricCaConfig, wallet: Path, token: Token) -> None:
        super().__init__(config, wallet)
        self._token = token

    def has_identity(self, msp_id: str, username: str) -> bool:
        msp_dir = wallet_msp_dir(self._wallet, msp_id, username)
        return any((msp_dir / "signcerts").glob("*.pem")) and (msp_dir / MARKER).is_file()

    def _enroll_only(
        self, msp_id: str, username: str, role: Role, secret: str, home: Path
    ) -> EnrolledIdentity:
        msp_dir = wallet_msp_dir(self._wallet, msp_id, username)
        try:
            enroll_into_token(self._token, self._config, msp_dir, msp_id, username, secret)
        except HsmError as exc:
            raise EnrolmentError(f"fabric-ca enroll: {exc}") from None
        log.info("enrolled %s@%s with role %s (key in the HSM)", username, msp_id, role.value)
        return EnrolledIdentity(enrollment_id=username, msp_dir=msp_dir)


def certificate_of(msp_dir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(sorted((msp_dir / "signcerts").glob("*.pem"))[0].read_bytes())


def hsm_enroller_from_profile(settings: Any, token: Token) -> PerOrgEnroller:
    """Like app.users.fabric_profile.enroller_from_profile, with the users' keys made in the token."""
    if settings.network_profile is None:
        raise EnrolmentError("no network profile (MLEDGER_NETWORK_PROFILE): it names each org's fabric-ca")
    configs = {m: c for m, c in configs_from_profile(settings.network_profile).items() if m in settings.orgs}
    if not configs:
        raise EnrolmentError(f"no fabric-ca with a registrar for {settings.orgs} in the network profile")
    return PerOrgEnroller(
        {msp: HsmFabricCaEnroller(c, settings.wallet_dir, token) for msp, c in configs.items()}
    )
