"""docker-compose.yaml rendered from the same topology, environment and config files as the native network.

Every service uses host networking, so the addresses in the channel config, the TLS SANs (127.0.0.1) and
the ports are the ones the native network uses; the data folder (config, crypto, ledgers) is mounted at
the same absolute path (${PWD}/.data/network, run compose from the repo root). The crypto and config are
created by `python -m network up` (then `down`); compose then runs the same nodes on the official images.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from network import ccaas_tls, chaincode, config, orgset, topology
from network.settings import DEFAULT_FABRIC_VERSION, Settings

DATA = "${PWD}/.data/network"


def images(fabric_version: str = DEFAULT_FABRIC_VERSION) -> dict[str, str]:
    """The official images of a Fabric release (FABRIC_VERSION) and of the other services."""
    return {
        "ca": "hyperledger/fabric-ca:1.5.21",
        "orderer": f"hyperledger/fabric-orderer:{fabric_version}",
        "peer": f"hyperledger/fabric-peer:{fabric_version}",
        "kubo": "ipfs/kubo:v0.42.0",
        "python": "python:3.11-slim",
    }


# sed program printing the registrar password from secrets.json (written by `python -m network up`)
_READ_SECRET = 'sed -n \'s/.*"registrar": "\\([^"]*\\)".*/\\1/p\''


def _settings(base: Settings) -> Settings:
    return replace(base, data_dir=Path(DATA), bin_dir=Path("/usr/local/bin"))


def _rewrite(env: dict[str, str], s: Settings) -> dict[str, str]:
    return {k: v.replace(str(Path(DATA)), DATA) for k, v in env.items()}


def services(base: Settings) -> dict[str, Any]:
    """Every service of the network `base` names: its ordering profile and Fabric release, and its org
    set (<data>/topology.json: orgs `org add` admitted; the consortium's without one)."""
    problem = base.ordering_problem()
    if problem:
        raise ValueError(problem)
    orgs = orgset.orgs(base)
    s = _settings(base)
    ports = s.ports
    data_mount = f"{DATA}:{DATA}"
    out: dict[str, Any] = {}
    imgs = images(s.fabric_version)
    for org in orgs:
        name = topology.ca_name(org)
        home = f"{DATA}/crypto/{org.key}/ca"
        out[name] = {
            "image": imgs["ca"],
            "network_mode": "host",
            "volumes": [data_mount],
            "labels": {"mledger.org": org.msp_id, "mledger.kind": "ca"},
            "environment": {
                "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS": f"127.0.0.1:{ports.ca_operations(org)}"
            },
            # registrar password by environment (FABRIC_CA_SERVER_BOOT = -b), never on the command line
            "command": [
                "sh",
                "-c",
                f"FABRIC_CA_SERVER_BOOT=registrar:$$({_READ_SECRET} "
                f"{DATA}/crypto/{org.key}/secrets.json) exec fabric-ca-server start --home {home} "
                f"--address 127.0.0.1 --port {ports.ca(org)} --tls.enabled",
            ],
        }
    orderers = topology.orderers(s.ordering)
    for i, (name, oo) in enumerate(orderers):
        out[name] = {
            "image": imgs["orderer"],
            "network_mode": "host",
            "volumes": [data_mount],
            "labels": {"mledger.org": oo.msp_id, "mledger.kind": "orderer"},
            "environment": _rewrite(config.orderer_env(s, i), s),
            "command": ["orderer"],
            "depends_on": [topology.ca_name(oo)],
        }
    for org in topology.peer_orgs(orgs):
        name = topology.peer_name(org)
        out[name] = {
            "image": imgs["peer"],
            "network_mode": "host",
            "volumes": [data_mount, "${PWD}/network/ccaas:${PWD}/network/ccaas:ro"],
            "labels": {
                "mledger.org": org.msp_id,
                "mledger.kind": "peer",
                "mledger.channel": topology.CHANNEL,
            },
            "environment": _rewrite(config.peer_env(s, org), s),
            "command": ["peer", "node", "start"],
            "depends_on": [name for name, _ in orderers],
        }
    out["kubo"] = {
        "image": imgs["kubo"],
        "network_mode": "host",
        "volumes": [f"{DATA}/nodes/kubo:/data/ipfs"],
        "environment": {"LIBP2P_FORCE_PNET": "1", "IPFS_PATH": "/data/ipfs"},
        "labels": {"mledger.kind": "kubo"},
        "command": ["daemon", "--migrate=false"],
    }
    for spec in chaincode.load_specs():
        address = f"127.0.0.1:{ports.chaincode(spec.slot)}"
        label = f"{spec.name}_ccaas"
        pkg_id = chaincode.package_id(label, chaincode.package_ccaas(label, address))
        contracts = " ".join(f"--contract {c}" for c in spec.contracts)
        out[spec.server_name()] = {
            "image": imgs["python"],
            "network_mode": "host",
            "working_dir": "/app",
            "volumes": ["${PWD}:/app"],
            "labels": {
                "mledger.kind": "chaincode",
                "mledger.chaincode": spec.name,
                "mledger.channel": topology.CHANNEL,
            },
            "environment": {
                "CHAINCODE_ID": pkg_id,
                "CHAINCODE_SERVER_ADDRESS": address,
                **_rewrite(ccaas_tls.server_env(s, spec.server_name()), s),
            },
            "command": [
                "sh",
                "-c",
                "pip install --quiet -e . && python -m chaincode.runtime.server "
                f"--chaincode-id {pkg_id} --address {address} {contracts}",
            ],
        }
    out["gateway"] = {
        "image": imgs["python"],
        "network_mode": "host",
        "working_dir": "/app",
        # the data folder at its own path: the profile `up` writes names crypto by absolute path
        "volumes": ["${PWD}:/app", data_mount],
        "labels": {"mledger.kind": "gateway"},
        # one development gateway serving every org, through the profile `up` writes for it
        "environment": {
            "MLEDGER_BACKEND": "fabric",
            "MLEDGER_NETWORK_PROFILE": f"{DATA}/connection-consortium.json",
        },
        "command": ["sh", "-c", "pip install --quiet -e . && mledger serve"],
        "depends_on": [topology.peer_name(o) for o in topology.peer_orgs(orgs)] + ["kubo"],
    }
    return out


def render(settings: Settings | None = None) -> str:
    """docker-compose.yaml of the network `settings` names (from the environment by default)."""
    doc = {"name": "mledger", "services": services(settings or Settings.from_env())}
    header = (
        "# GENERATED by `mledger network compose` from chaincode/consortium.py and network/topology.py;"
        " do not edit by hand.\n"
        "# Same topology, environment and config files as the native network (see docs/network.md).\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, width=200)
