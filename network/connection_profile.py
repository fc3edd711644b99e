"""Fabric common connection profiles the network writes for its gateways (one per org).

The format is Fabric's common connection profile, as fabric-samples' test-network writes
``connection-org1.json``: ``client.organization``, ``organizations`` (MSP id, peers, CAs),
``peers`` and ``orderers`` (``url`` + ``tlsCACerts.path``), ``certificateAuthorities`` and
``channels``. What a Fabric SDK has no field for sits under ``x-mledger``: the chaincode name, the
gateway org of orgs without a peer, the service identity for lookups without a caller, the standard
users' MSP folders and the CA registrar's MSP folder. The gateway (app/ledger/profile.py) reads only
this file, never the network manager.

``connection-<org key>.json`` holds one org's own users and registrar (what a per-org gateway may
see); ``connection-consortium.json`` is the development profile of one gateway serving every org
(every org's users and registrars), for ``mledger serve`` against the native network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaincode import consortium
from network import orgset, topology
from network.ca import org_crypto
from network.config import orderer_tls_ca
from network.settings import Settings
from network.topology import Org

CONSORTIUM_PROFILE = "consortium"


def profile_path(settings: Settings, org_key: str) -> Path:
    """Where `up` writes the profile of an org key (or ``consortium`` for the development one)."""
    return settings.data_dir / f"connection-{org_key}.json"


def _tls(path: Path) -> dict[str, str]:
    return {"path": str(path.resolve())}


def _peer(settings: Settings, org: Org) -> dict[str, Any]:
    name = topology.peer_name(org)
    return {
        "url": f"grpcs://{settings.hosts.dial(name)}:{settings.ports.peer(org)}",
        "tlsCACerts": _tls(org_crypto(settings, org).tls_ca),
    }


def _ca(settings: Settings, org: Org) -> dict[str, Any]:
    name = topology.ca_name(org)
    return {
        "url": f"https://{settings.hosts.dial(name)}:{settings.ports.ca(org)}",
        "tlsCACerts": {"path": [str(org_crypto(settings, org).ca_tls_cert.resolve())]},
        "httpOptions": {"verify": True},
    }


def _msp_dir(settings: Settings, org: Org, user: str) -> str:
    return str((org_crypto(settings, org).user(user) / "msp").resolve())


def connection_profile(settings: Settings, org_key: str, chaincode: str = "mortgage") -> dict[str, Any]:
    """The profile of one org (its key, name or MSP id), or of every org (``consortium``)."""
    orgs = orgset.orgs(settings)
    app_orgs = [o for o in orgs if not o.orderer_org]
    if org_key == CONSORTIUM_PROFILE:
        client = topology.org(consortium.GATEWAY_ORG, orgs)
        served = app_orgs
    else:
        client = topology.org(org_key, orgs)
        if client.orderer_org:
            raise KeyError(f"{client.name} is the ordering org: it has no gateway")
        served = [client]
    peers = {topology.peer_name(o): _peer(settings, o) for o in app_orgs if o.peer}
    orderers = {
        name: {
            "url": f"grpcs://{settings.hosts.dial(name)}:{settings.ports.orderer(i)}",
            "tlsCACerts": _tls(orderer_tls_ca(settings, i)),
        }
        for i, (name, _) in enumerate(topology.orderers(settings.ordering))
    }
    # lookups without a caller sign as an auditor: the org's own (a per-org gateway holds no other org's
    # keys), the consortium's service identity for the development gateway
    service_msp, service_user = (
        consortium.SERVICE_IDENTITY if org_key == CONSORTIUM_PROFILE else (client.msp_id, "auditor1")
    )
    return {
        "name": f"mledger-{org_key if org_key == CONSORTIUM_PROFILE else client.key}",
        "version": "1.0.0",
        "client": {
            "organization": client.name,
            "connection": {"timeout": {"peer": {"endorser": "300"}, "orderer": "300"}},
        },
        "channels": {
            topology.CHANNEL: {
                "orderers": list(orderers),
                "peers": {
                    topology.peer_name(o): {
                        "endorsingPeer": o.endorsing,
                        "chaincodeQuery": True,
                        "ledgerQuery": True,
                        "eventSource": True,
                    }
                    for o in app_orgs
                    if o.peer
                },
            }
        },
        "organizations": {
            o.name: {
                "mspid": o.msp_id,
                "peers": [topology.peer_name(o)] if o.peer else [],
                "certificateAuthorities": [topology.ca_name(o)],
            }
            for o in app_orgs
        },
        "orderers": orderers,
        "peers": peers,
        "certificateAuthorities": {topology.ca_name(o): _ca(settings, o) for o in served},
        "x-mledger": {
            "chaincode": chaincode,
            "gatewayOrganization": consortium.GATEWAY_ORG,
            "serviceIdentity": {"mspid": service_msp, "user": service_user},
            "users": {o.msp_id: {u.name: _msp_dir(settings, o, u.name) for u in o.users} for o in served},
            "registrars": {
                o.msp_id: str((org_crypto(settings, o).root / "registrar" / "msp").resolve()) for o in served
            },
        },
    }


def write_profiles(settings: Settings, chaincode: str = "mortgage") -> list[Path]:
    """Write every org's profile and the development one; returns their paths."""
    keys = [o.key for o in orgset.orgs(settings) if not o.orderer_org] + [CONSORTIUM_PROFILE]
    written = []
    for key in keys:
        path = profile_path(settings, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(connection_profile(settings, key, chaincode), indent=2) + "\n")
        written.append(path)
    return written
