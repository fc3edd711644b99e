"""Where each org's fabric-ca is, for `mledger users add` and POST /users on the real network.

Read from the network profile's ``certificate_authorities`` section::

    certificate_authorities:
      BankAMSP: {url: "https://127.0.0.1:7054", tls_cert: "crypto/bankA/ca/tls-cert.pem",
                 registrar_msp: "crypto/bankA/registrar/msp", ca_name: null}

(paths relative to the profile), or — when the profile has none — from the native network's own
layout (network.settings: crypto/<org>/ca/tls-cert.pem, crypto/<org>/registrar/msp).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

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


def _load(path: Path) -> dict[str, Any]:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"network profile {path}: not a mapping")
    return data


def configs_from_profile(profile: Path) -> dict[str, FabricCaConfig]:
    raw = _load(profile).get("certificate_authorities") or {}
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


def configs_from_native_network() -> dict[str, FabricCaConfig]:
    from network import topology
    from network.settings import Settings as NetworkSettings

    net = NetworkSettings.from_env()
    configs = {}
    for org in topology.ORGS:
        root = net.crypto_dir / org.key
        if not (root / "registrar" / "msp").is_dir():
            continue
        configs[org.msp_id] = FabricCaConfig(
            url=f"https://{topology.HOST}:{net.ports.ca(org)}",
            ca_name=None,
            tls_cert=root / "ca" / "tls-cert.pem",
            registrar_msp_dir=root / "registrar" / "msp",
        )
    return configs


def enroller_from_profile(settings: Settings) -> PerOrgEnroller:
    configs = configs_from_profile(settings.network_profile) if settings.network_profile else {}
    if not configs:
        configs = configs_from_native_network()
    configs = {msp: c for msp, c in configs.items() if msp in settings.orgs}
    if not configs:
        raise EnrolmentError(f"no fabric-ca found for {settings.orgs} (profile or native network)")
    return PerOrgEnroller({msp: FabricCaEnroller(c, settings.wallet_dir) for msp, c in configs.items()})
