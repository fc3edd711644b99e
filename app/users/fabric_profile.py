"""Where each org's fabric-ca is, for `mledger users add` and POST /users on the real network.

Read from the gateway's connection profile only (app/ledger/profile.py): the Fabric connection profile
the network writes (``certificateAuthorities`` + ``x-mledger.registrars``), or the short form's
``certificate_authorities`` section::

    certificate_authorities:
      BankAMSP: {url: "https://127.0.0.1:7054", tls_cert: "crypto/bankA/ca/tls-cert.pem",
                 registrar_msp: "crypto/bankA/registrar/msp", ca_name: null}

(paths relative to the profile).
"""

from __future__ import annotations

from pathlib import Path

from app.ledger.profile import ProfileError, certificate_authorities, load_profile
from app.settings import Settings
from app.users.enrolment import EnrolledIdentity, EnrolmentError, FabricCaConfig, FabricCaEnroller
from app.users.roles import Role


class PerOrgEnroller:
    """Sends each enrolment to the user's own org CA."""

    def __init__(self, enrollers: dict[str, FabricCaEnroller]) -> None:
        self._enrollers = enrollers

    def has_identity(self, msp_id: str, username: str) -> bool:
        enroller = self._enrollers.get(msp_id)
        return enroller is not None and enroller.has_identity(msp_id, username)

    def _for(self, msp_id: str) -> FabricCaEnroller:
        enroller = self._enrollers.get(msp_id)
        if enroller is None:
            raise EnrolmentError(f"no fabric-ca configured for {msp_id} (have {sorted(self._enrollers)})")
        return enroller

    def reset_and_enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        return self._for(msp_id).reset_and_enroll(msp_id, username, role, secret)

    def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        return self._for(msp_id).enroll(msp_id, username, role, secret)


def configs_from_profile(profile: Path) -> dict[str, FabricCaConfig]:
    try:
        raw = certificate_authorities(load_profile(profile))
    except (ProfileError, KeyError) as exc:
        raise EnrolmentError(f"network profile {profile}: {exc}") from exc
    base = profile.parent

    def rel(value: str) -> Path:
        return (base / value).resolve()

    return {
        msp: FabricCaConfig(
            url=str(ca["url"]),
            ca_name=ca.get("ca_name"),
            tls_cert=rel(ca["tls_cert"]),
            registrar_msp_dir=rel(ca["registrar_msp"]),
        )
        for msp, ca in raw.items()
    }


def enroller_from_profile(settings: Settings) -> PerOrgEnroller:
    if settings.network_profile is None:
        raise EnrolmentError("no network profile (MLEDGER_NETWORK_PROFILE): it names each org's fabric-ca")
    configs = configs_from_profile(settings.network_profile)
    configs = {msp: c for msp, c in configs.items() if msp in settings.orgs}
    if not configs:
        raise EnrolmentError(
            f"no fabric-ca with a registrar for {settings.orgs} in the profile {settings.network_profile}"
        )
    return PerOrgEnroller({msp: FabricCaEnroller(c, settings.wallet_dir) for msp, c in configs.items()})
