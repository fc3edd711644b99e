"""Signing keys in a PKCS#11 token (SoftHSM2, initialised by the test) on the real Fabric network.

A user is registered with the org's fabric-ca and enrolled with a CSR signed inside the token (the
REST /enroll endpoint); the gateway's ledger adapter, configured with the token, then signs the
proposal and the transaction envelope inside the token, and the transaction commits VALID. The key
is in the token only: the wallet holds no key file, and the token refuses to reveal it.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from pkcs11 import Attribute

from app.fabric_gateway import connect, create_channel
from app.hsm.enrol import MARKER, HsmFabricCaEnroller, key_label, load_token_identity
from app.hsm.token import Token, open_token
from app.ledger.fabric import FabricLedger
from app.ledger.factory import create_ledger
from app.ledger.port import Caller
from app.settings import Settings
from app.users.fabric_profile import configs_from_profile
from app.users.roles import Role
from network.fixture import FabricNetworkInfo
from tests.hsm_token import SoftToken, session_token

MSP = "BankAMSP"
ATTRS_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")


@pytest.fixture(scope="module")
def test_token() -> SoftToken:
    return session_token()


@pytest.fixture(scope="module")
def token(test_token: SoftToken) -> Token:
    return open_token(test_token.config)


def _enroll(net: FabricNetworkInfo, token: Token, wallet: Path, username: str) -> Path:
    profile = net.connection_profile()
    enroller = HsmFabricCaEnroller(configs_from_profile(profile)[MSP], wallet, token)
    enrolled = enroller.enroll(MSP, username, Role.loan_officer, secrets.token_urlsafe(12))
    assert enrolled.msp_dir is not None
    return enrolled.msp_dir


def test_enrolment_csr_signed_in_token_and_tx_signed_in_token_commits(
    fabric_network: FabricNetworkInfo, token: Token, tmp_path: Path
) -> None:
    assert fabric_network.chaincodes.get("runtimetest", "").startswith("runtimetest_")
    username = f"hsm-{secrets.token_hex(3)}"
    msp_dir = _enroll(fabric_network, token, tmp_path / "wallet", username)

    # the certificate fabric-ca issued is for the token's key, with the role attribute; no key file
    cert = x509.load_pem_x509_certificate((msp_dir / "signcerts" / "cert.pem").read_bytes())
    assert cert.subject.rfc4514_string().startswith(f"CN={username}")
    attrs = cert.extensions.get_extension_for_oid(ATTRS_OID).value
    assert isinstance(attrs, x509.UnrecognizedExtension) and b'"role":"loan_officer"' in attrs.value
    assert not (msp_dir / "keystore").exists()
    assert (msp_dir / MARKER).is_file()
    key = token.private_key(key_label(MSP, username))
    assert key[Attribute.EXTRACTABLE] is False and key[Attribute.SENSITIVE] is True
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        key[Attribute.VALUE]

    # the Gateway client with the token signer: endorse + submit + commit
    identity, signer = load_token_identity(token, msp_dir, MSP)
    org = fabric_network.org(MSP)
    assert org.peer_endpoint is not None
    channel = create_channel(org.peer_endpoint, tls_root_certificates=org.peer_tls_ca)
    try:
        contract = (
            connect(identity, signer, channel).get_network(fabric_network.channel).get_contract("runtimetest")
        )
        k = f"hsm-{uuid.uuid4().hex}"
        submitted = contract.submit("put", k, "signed-in-the-token")
        assert submitted.status.successful and submitted.status.code_name == "VALID"
        assert contract.evaluate_transaction("get", k) == b"signed-in-the-token"
    finally:
        channel.close()


async def test_gateway_ledger_with_hsm_settings_commits(
    fabric_network: FabricNetworkInfo, test_token: SoftToken, token: Token, tmp_path: Path
) -> None:
    """The gateway's own wiring: settings name the token; the ledger adapter signs users' calls in it."""
    wallet = tmp_path / "wallet"
    username = f"hsm-{secrets.token_hex(3)}"
    _enroll(fabric_network, token, wallet, username)
    pin_file = tmp_path / "hsm.pin"
    pin_file.write_text(test_token.config.pin)
    pin_file.chmod(0o600)
    settings = Settings(
        backend="fabric",
        orgs=[MSP],
        data_dir=tmp_path / "gw",
        network_profile=fabric_network.connection_profile(),
        wallet=wallet,
        chaincode="runtimetest",
        token_secret=secrets.token_hex(16),
        hsm_module=test_token.config.module,
        hsm_token_label=test_token.config.token_label,
        hsm_pin_file=pin_file,
        hsm_signing_key_label=key_label(MSP, username),
    )
    ledger = create_ledger(settings)
    assert isinstance(ledger, FabricLedger) and ledger.token_identities is not None
    try:
        k = f"hsm-gw-{uuid.uuid4().hex}"
        result = await ledger.submit(Caller(username, MSP), "put", [k, "through-the-gateway"])
        assert result.validation_code == "VALID" and result.block_number > 0
        assert await ledger.evaluate(Caller(username, MSP), "get", [k]) == b"through-the-gateway"
    finally:
        await ledger.close()
