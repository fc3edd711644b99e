"""Read a gateway's connection settings from its connection profile file — the only place they come from.

The network writes one Fabric common connection profile per org (``network/connection_profile.py``:
``<network dir>/connection-<org>.json``, like fabric-samples' ``connection-org1.json``; our extras
under ``x-mledger``). The Fabric adapter's own short mapping (``channel``, ``organizations:
{MSP: {peer_endpoint, tls_ca}}``, ``service_identity`` …, see app/ledger/fabric.py) is still read, so
profiles written by hand keep working. Relative paths are relative to the profile file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

EXTRAS = "x-mledger"


class ProfileError(ValueError):
    """The profile is not usable; the message names the file and the field."""


def load_profile(path: Path) -> dict[str, Any]:
    """The profile as a mapping (JSON or YAML)."""
    text = Path(path).read_text()
    data = json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ProfileError(f"network profile {path}: not a mapping")
    return data


def is_connection_profile(raw: dict[str, Any]) -> bool:
    """A Fabric common connection profile (rather than the adapter's short mapping)."""
    return "client" in raw and ("peers" in raw or "certificateAuthorities" in raw or EXTRAS in raw)


def _endpoint(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


def _path(entry: dict[str, Any], where: str) -> str:
    certs = entry.get("tlsCACerts") or {}
    path = certs.get("path")
    if isinstance(path, list):
        path = path[0] if path else None
    if not path:
        raise ProfileError(f"{where}.tlsCACerts.path: missing (inline `pem` is not read; give a file path)")
    return str(path)


def adapter_mapping(raw: dict[str, Any]) -> dict[str, Any]:
    """The Fabric adapter's mapping for a profile (a connection profile is translated, the short form
    returned as it is)."""
    if not is_connection_profile(raw):
        return raw
    extras = raw.get(EXTRAS) or {}
    peers = raw.get("peers") or {}
    organizations: dict[str, dict[str, str]] = {}
    for name, org in (raw.get("organizations") or {}).items():
        msp = org.get("mspid")
        if not msp:
            raise ProfileError(f"organizations.{name}.mspid: missing")
        entry: dict[str, str] = {}
        for peer_name in org.get("peers") or []:
            peer = peers.get(peer_name)
            if peer is None:
                raise ProfileError(f"organizations.{name}.peers: {peer_name!r} is not under `peers`")
            entry = {
                "peer_endpoint": _endpoint(str(peer["url"])),
                "tls_ca": _path(peer, f"peers.{peer_name}"),
            }
            override = (peer.get("grpcOptions") or {}).get("ssl-target-name-override")
            if override:
                entry["server_name"] = str(override)
            break
        organizations[msp] = entry
    channels = list(raw.get("channels") or {})
    service = extras.get("serviceIdentity") or {}
    mapping: dict[str, Any] = {
        "channel": channels[0] if channels else "vehicles",
        "chaincode": extras.get("chaincode", "mortgage"),
        "organizations": organizations,
        "users": extras.get("users") or {},
    }
    if extras.get("gatewayOrganization"):
        mapping["gateway_org"] = extras["gatewayOrganization"]
    if service:
        mapping["service_identity"] = {"msp_id": service.get("mspid"), "user": service.get("user")}
    for key in ("wallet", "deadlines"):
        if extras.get(key):
            mapping[key] = extras[key]
    return mapping


def client_msp_id(raw: dict[str, Any]) -> str | None:
    """The MSP id of the profile's ``client.organization`` (None in the short form)."""
    if not is_connection_profile(raw):
        return None
    name = (raw.get("client") or {}).get("organization")
    org = (raw.get("organizations") or {}).get(name) or {}
    return org.get("mspid")


def certificate_authorities(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each org's CA as ``{MSP: {url, tls_cert, registrar_msp, ca_name}}`` (paths as written).

    From a connection profile: ``certificateAuthorities`` named by the org's ``certificateAuthorities``
    list, with the registrar's MSP folder from ``x-mledger.registrars`` (an org without one is left
    out: the gateway cannot register users there). From the short form: its
    ``certificate_authorities`` section.
    """
    if not is_connection_profile(raw):
        return dict(raw.get("certificate_authorities") or {})
    registrars = (raw.get(EXTRAS) or {}).get("registrars") or {}
    cas = raw.get("certificateAuthorities") or {}
    out: dict[str, dict[str, Any]] = {}
    for org in (raw.get("organizations") or {}).values():
        msp = org.get("mspid")
        registrar = registrars.get(msp)
        names = [n for n in org.get("certificateAuthorities") or [] if n in cas]
        if not msp or not registrar or not names:
            continue
        ca = cas[names[0]]
        out[msp] = {
            "url": ca["url"],
            "ca_name": ca.get("caName"),
            "tls_cert": _path(ca, f"certificateAuthorities.{names[0]}"),
            "registrar_msp": registrar,
        }
    return out
