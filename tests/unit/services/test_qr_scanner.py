"""app.services.qr: the gateway enrols its own `qr-scanner` identity on the real network at start, once."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.services import qr
from app.users.enrolment import EnrolledIdentity, EnrolmentError, FabricCaConfig, FabricCaEnroller
from app.users.roles import SCANNER_USER, Role


class FakeEnroller:
    def __init__(self, present: bool = False, error: str = "") -> None:
        self.present = present
        self.error = error
        self.calls: list[tuple[str, str, Role]] = []

    def has_identity(self, msp_id: str, username: str) -> bool:
        return self.present

    def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        if self.error:
            raise EnrolmentError(self.error)
        assert len(secret) >= 16
        self.calls.append((msp_id, username, role))
        self.present = True
        return EnrolledIdentity(enrollment_id=username, msp_dir=None)


def _state(backend: str, orgs: list[str], enroller: object) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(backend=backend, orgs=orgs), enroller=enroller)


def ensure_scanner_identity(state: SimpleNamespace) -> str:
    return qr.ensure_scanner_identity(state.settings, state.enroller)


def test_enrols_the_scanner_once_with_its_role() -> None:
    enroller = FakeEnroller()
    state = _state("fabric", ["BankAMSP", "DealerMSP"], enroller)
    assert ensure_scanner_identity(state) == "enrolled"
    assert ensure_scanner_identity(state) == "present"
    assert enroller.calls == [("DealerMSP", SCANNER_USER, Role.scanner)]  # dealers' org when served


def test_embedded_needs_nothing_and_a_failing_ca_is_logged_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert (
        ensure_scanner_identity(_state("embedded", ["BankAMSP"], FakeEnroller())) == "not needed (embedded)"
    )
    with caplog.at_level(logging.WARNING):
        outcome = ensure_scanner_identity(_state("fabric", ["BankAMSP"], FakeEnroller(error="CA down")))
    assert outcome == "failed: CA down"
    assert "mledger users add qr-scanner --org BankAMSP --role scanner" in caplog.text


def test_fabric_ca_enroller_sees_an_identity_in_its_wallet(tmp_path: Path) -> None:
    config = FabricCaConfig("https://127.0.0.1:1", None, tmp_path / "tls.pem", tmp_path / "registrar")
    enroller = FabricCaEnroller(config, tmp_path / "wallet")
    assert not enroller.has_identity("BankAMSP", SCANNER_USER)
    msp = tmp_path / "wallet" / "BankAMSP" / SCANNER_USER / "msp"
    (msp / "signcerts").mkdir(parents=True)
    (msp / "signcerts" / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert not enroller.has_identity("BankAMSP", SCANNER_USER)  # no key yet
    (msp / "keystore").mkdir()
    (msp / "keystore" / "key_sk").write_text("k")
    assert enroller.has_identity("BankAMSP", SCANNER_USER)


def test_identity_the_ca_already_has_is_reset_and_enrolled_again() -> None:
    class KnownToTheCa(FakeEnroller):
        def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
            raise EnrolmentError("fabric-ca register failed: Identity 'qr-scanner' is already registered")

        def reset_and_enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
            return super().enroll(msp_id, username, role, secret)

    enroller = KnownToTheCa()
    assert ensure_scanner_identity(_state("fabric", ["InsurerMSP"], enroller)) == "enrolled"
    assert enroller.calls == [("InsurerMSP", SCANNER_USER, Role.scanner)]


def test_the_owner_desk_is_enrolled_in_the_vehicle_office_only() -> None:
    from app.services.owner_portal import ensure_owner_desk_identity

    enroller = FakeEnroller()
    assert ensure_owner_desk_identity(_state("fabric", ["BankAMSP"], enroller).settings, enroller) == (
        "not served here"
    )
    office = _state("fabric", ["TrafficAuthorityMSP"], enroller)
    assert ensure_owner_desk_identity(office.settings, enroller) == "enrolled"
    assert enroller.calls == [("TrafficAuthorityMSP", "owner-desk", Role.registrar)]
