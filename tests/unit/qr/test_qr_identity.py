"""QR identity: signing, offline verification, tampering, revocation, keys and rendering."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from app.qr import (
    AuthorityKey,
    CodeRecord,
    KeyConfigError,
    Outcome,
    QrCodeError,
    QrIssuer,
    QrVerifier,
    TrustAnchor,
    VehicleCode,
    decode_qr_photo,
    qr_version,
    render_svg,
)
from app.qr.keys import P256_ORDER, self_signed_certificate
from app.qr.payload import b64url, unb64url

VIN = "1HGCM82633A004352"  # valid North-American check digit
OTHER_VIN = "LSVAU218XN2183294"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> AuthorityKey:
    return AuthorityKey.load_or_create_embedded(tmp_path_factory.mktemp("qr"))


@pytest.fixture(scope="module")
def issuer(key: AuthorityKey) -> QrIssuer:
    return QrIssuer(key, "https://ledger.example")


@pytest.fixture(scope="module")
def verifier(key: AuthorityKey) -> QrVerifier:
    return QrVerifier([TrustAnchor.from_pem(key.certificate_pem())])  # from the cert only, as offline


def test_issue_and_verify_offline(issuer: QrIssuer, verifier: QrVerifier) -> None:
    issued = issuer.issue(VIN, code_id="VC-TEST0001")
    assert issued.url.startswith("https://ledger.example/v/")
    assert len(issued.url) < 260 and qr_version(issued.url) <= 14
    result = verifier.verify(issued.url)
    assert result.outcome is Outcome.SIGNATURE_ONLY and result.signature_valid
    assert result.code == issued.code
    assert (result.code.vin, result.code.code_id, result.code.issuer) == (
        VIN,
        "VC-TEST0001",
        "TrafficAuthorityMSP",
    )
    assert verifier.verify(issued.signed.token).outcome is Outcome.SIGNATURE_ONLY  # compact form too


def test_any_changed_field_breaks_the_signature(issuer: QrIssuer, verifier: QrVerifier) -> None:
    issued = issuer.issue(VIN, code_id="VC-TEST0002")
    signed = issued.signed
    forged_codes = [
        VehicleCode("VC-TEST0002", OTHER_VIN, signed.code.issued_at, signed.code.issuer, signed.code.key_id),
        VehicleCode("VC-TEST0003", VIN, signed.code.issued_at, signed.code.issuer, signed.code.key_id),
        VehicleCode(
            "VC-TEST0002",
            VIN,
            signed.code.issued_at - timedelta(days=1),
            signed.code.issuer,
            signed.code.key_id,
        ),
    ]
    for forged in forged_codes:
        token = f"{b64url(forged.to_bytes())}.{b64url(signed.signature)}"
        result = verifier.verify(token)
        assert result.outcome is Outcome.INVALID_SIGNATURE, forged
        assert not result.signature_valid


def test_flipped_signature_bit_and_high_s_are_refused(issuer: QrIssuer, verifier: QrVerifier) -> None:
    signed = issuer.issue(VIN).signed
    payload, sig = signed.token.split(".")
    raw = bytearray(unb64url(sig, "sig"))
    raw[5] ^= 0x40
    assert verifier.verify(f"{payload}.{b64url(bytes(raw))}").outcome is Outcome.INVALID_SIGNATURE
    r, s = signed.signature[:32], int.from_bytes(signed.signature[32:], "big")
    high_s = r + (P256_ORDER - s).to_bytes(32, "big")  # mathematically valid, but not canonical
    assert verifier.verify(f"{payload}.{b64url(high_s)}").outcome is Outcome.INVALID_SIGNATURE


def test_other_authority_key_is_unknown(issuer: QrIssuer, tmp_path: Path) -> None:
    stranger = QrVerifier.for_authority(AuthorityKey.load_or_create_embedded(tmp_path / "other"))
    result = stranger.verify(issuer.issue(VIN).url)
    assert result.outcome is Outcome.UNKNOWN_KEY and "not a trusted" in result.reason


def test_rogue_key_claiming_the_same_key_id_is_refused(issuer: QrIssuer, verifier: QrVerifier) -> None:
    # An attacker copies the genuine key id into a payload and signs it with their own key.
    genuine = issuer.issue(VIN).code
    rogue = ec.generate_private_key(ec.SECP256R1())
    from app.qr.keys import sign_raw

    forged = VehicleCode("VC-ROGUE", OTHER_VIN, genuine.issued_at, genuine.issuer, genuine.key_id)
    token = f"{b64url(forged.to_bytes())}.{b64url(sign_raw(rogue, forged.to_bytes()))}"
    assert verifier.verify(token).outcome is Outcome.INVALID_SIGNATURE


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("hello", "expected <payload>.<signature>"),
        ("https://ledger.example/vehicles/123", "URL is not of the form"),
        ("AQ.AAAA", "signature: expected 64 bytes"),
        ("!!!.abc", "payload: not base64url"),
    ],
)
def test_malformed_scans_say_why(verifier: QrVerifier, text: str, reason: str) -> None:
    result = verifier.verify(text)
    assert result.outcome is Outcome.MALFORMED and reason in result.reason


def test_truncated_payload_is_malformed(issuer: QrIssuer, verifier: QrVerifier) -> None:
    payload, sig = issuer.issue(VIN).signed.token.split(".")
    cut = b64url(unb64url(payload, "p")[:-3])
    result = verifier.verify(f"{cut}.{sig}")
    assert result.outcome is Outcome.MALFORMED and "payload" in result.reason


def test_future_issue_time_is_refused(issuer: QrIssuer, verifier: QrVerifier) -> None:
    issued = issuer.issue(VIN, issued_at=datetime.now(UTC) + timedelta(hours=2))
    assert verifier.verify(issued.url).outcome is Outcome.INVALID_SIGNATURE


def test_bad_vin_and_code_id_are_refused_at_issue(issuer: QrIssuer) -> None:
    with pytest.raises(QrCodeError, match="vin: check digit"):
        issuer.issue("1HGCM82673A004352")
    with pytest.raises(QrCodeError, match="vin: must be 17"):
        issuer.issue("SHORT")
    with pytest.raises(QrCodeError, match="code_id"):
        issuer.issue(VIN, code_id="has space")


def test_ledger_outcomes(issuer: QrIssuer, verifier: QrVerifier) -> None:
    issued = issuer.issue(VIN, code_id="VC-LEDGER01")
    live = {"mortgaged": True, "seized": False, "insurance_valid": True}
    ledger: dict[str, CodeRecord] = {
        "VC-LEDGER01": CodeRecord(VIN, revoked=False, payload_sha256=issued.payload_sha256, status=live)
    }
    valid = verifier.verify(issued.url, ledger.get)
    assert valid.ok and valid.outcome is Outcome.VALID
    assert valid.public_view()["status"] == live and valid.public_view()["vin"] == VIN

    ledger["VC-LEDGER01"] = CodeRecord(VIN, revoked=True, payload_sha256=issued.payload_sha256)
    revoked = verifier.verify(issued.url, ledger.get)
    assert revoked.outcome is Outcome.REVOKED and revoked.signature_valid and not revoked.ok

    ledger["VC-LEDGER01"] = CodeRecord(OTHER_VIN, revoked=False)
    assert verifier.verify(issued.url, ledger.get).outcome is Outcome.MISMATCH

    ledger["VC-LEDGER01"] = CodeRecord(VIN, revoked=False, payload_sha256="ab" * 32)
    assert verifier.verify(issued.url, ledger.get).outcome is Outcome.MISMATCH

    nothing: dict[str, CodeRecord] = {}
    assert verifier.verify(issued.url, nothing.get).outcome is Outcome.NOT_REGISTERED


def test_async_lookup(issuer: QrIssuer, verifier: QrVerifier) -> None:
    issued = issuer.issue(VIN, code_id="VC-ASYNC01")

    async def lookup(code_id: str) -> CodeRecord | None:
        await asyncio.sleep(0)
        return CodeRecord(VIN, revoked=code_id == "VC-ASYNC01")

    result = asyncio.run(verifier.averify(issued.url, lookup))
    assert result.outcome is Outcome.REVOKED


def test_forged_code_never_reaches_the_ledger(issuer: QrIssuer, verifier: QrVerifier) -> None:
    calls: list[str] = []
    payload, _ = issuer.issue(VIN).signed.token.split(".")
    verifier.verify(f"{payload}.{b64url(bytes(64))}", lambda c: calls.append(c) or None)  # type: ignore[func-returns-value]
    assert calls == []


def test_embedded_key_persists_and_pem_loading(key: AuthorityKey, tmp_path: Path) -> None:
    folder = tmp_path / "qr"
    first = AuthorityKey.load_or_create_embedded(folder)
    again = AuthorityKey.load_or_create_embedded(folder)
    assert first.key_id == again.key_id
    assert (folder / "qr-signer.key").stat().st_mode & 0o077 == 0
    assert "PRIVATE" not in repr(first)
    # A fabric-ca style MSP folder: keystore/<x>_sk and signcerts/cert.pem.
    msp = tmp_path / "msp"
    (msp / "keystore").mkdir(parents=True)
    (msp / "signcerts").mkdir()
    (msp / "keystore" / "abc_sk").write_bytes((folder / "qr-signer.key").read_bytes())
    (msp / "signcerts" / "cert.pem").write_bytes((folder / "qr-signer.crt").read_bytes())
    assert AuthorityKey.from_msp_dir(msp).key_id == first.key_id
    # A certificate that belongs to another key is refused, naming the file.
    other = ec.generate_private_key(ec.SECP256R1())
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(self_signed_certificate(other, "X").public_bytes(serialization.Encoding.PEM))
    with pytest.raises(KeyConfigError, match=r"wrong\.pem"):
        AuthorityKey.from_pem_files(folder / "qr-signer.key", wrong)
    rsa_like = tmp_path / "not-ec.key"
    rsa_like.write_text("not a key")
    with pytest.raises(KeyConfigError, match=r"not-ec\.key"):
        AuthorityKey.from_pem_files(rsa_like, wrong)


def test_png_and_svg_render_and_decode(issuer: QrIssuer) -> None:
    issued = issuer.issue(VIN)
    png = issued.png()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == image.height
    assert decode_qr_photo(png) == issued.url
    svg = issued.svg()
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"<path" in svg
    with pytest.raises(ValueError, match="error_correction"):
        render_svg("abc", error_correction="Z")


def test_concurrent_first_start_makes_one_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    code = (
        "import sys; from app.qr import AuthorityKey; "
        "print(AuthorityKey.load_or_create_embedded(sys.argv[1]).key_id.hex())"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "qr")], cwd=repo, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(ids) == 1 and "" not in ids
    assert AuthorityKey.load_or_create_embedded(tmp_path / "qr").key_id.hex() in ids
