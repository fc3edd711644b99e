"""One docker compose bundle per org host, rendered from network.render.deployment.

Each bundle runs on its org's own machine with host networking: processes listen on the host's
addresses at the native port plan, and reach the other orgs' nodes by their DNS names (from DNS, or
from `extra_hosts` when the render is given the hosts' addresses). The org's crypto material is mounted
read-only from ./crypto/<org> (issued by the org's CA with the SANs in each service's `mledger.tls.sans`
label), the CA's registrar secret comes from the compose secret file ./secrets/ca-registrar; neither
is ever rendered. Ledgers and CA databases are named volumes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

import yaml

from network import compose, topology
from network.ca import org_crypto
from network.render.deployment import DATA, Service, crypto_mount, org_services
from network.settings import Settings
from network.topology import Org


def images(settings: Settings) -> dict[str, str]:
    """The image of each service kind: Fabric's official images of FABRIC_VERSION, python for ours."""
    fabric = compose.images(settings.fabric_version)
    return {
        "ca": fabric["ca"],
        "orderer": fabric["orderer"],
        "peer": fabric["peer"],
        "chaincode": fabric["python"],
        "gateway": fabric["python"],
    }


def trusted_tls_ca(settings: Settings, org: Org) -> str:
    """Where a node finds another org's TLS CA certificate (public; a BFT orderer's cluster peers')."""
    return str(org_crypto(replace(settings, data_dir=DATA), org).tls_ca)


SOURCE = "${MLEDGER_SOURCE:-.}"  # the project checkout (chaincode server and gateway run from it)
SECRET = "ca_registrar"


def _volume_name(name: str) -> str:
    return name.replace(".", "-")


def _service(settings: Settings, svc: Service, extra_hosts: list[str]) -> dict[str, Any]:
    src, dst = crypto_mount(settings, svc.org)
    out: dict[str, Any] = {
        "image": images(settings)[svc.kind],
        "network_mode": "host",
        "restart": "unless-stopped",
    }
    volumes = [f"{src}:{dst}:ro"]
    # other orgs' public TLS CA certificates, from ./trust/<org>-tls-ca.pem (never the org's crypto)
    volumes += [f"./trust/{o.key}-tls-ca.pem:{trusted_tls_ca(settings, o)}:ro" for o in svc.trust]
    labels = {
        "mledger.org": svc.org.msp_id,
        "mledger.kind": svc.kind,
        "mledger.hostname": svc.hostname,
        "mledger.ports": ",".join(f"{k}={v}" for k, v in svc.ports.items()),
    }
    if svc.sans:
        labels["mledger.tls.sans"] = ",".join(svc.sans)
    command: list[str] = list(svc.command)
    if svc.kind == "ca":
        volumes = [f"{_volume_name(svc.name)}:{svc.data}"]  # the CA home: keys, DB (read-write)
        out["secrets"] = [SECRET]
        quoted = " ".join(command)
        # the registrar's password by environment (FABRIC_CA_SERVER_BOOT = `-b`), never argv: a process's
        # command line is readable by every user of the host, its environment only by its owner
        boot = f'FABRIC_CA_SERVER_BOOT="registrar:$$(cat /run/secrets/{SECRET})"'
        command = ["sh", "-c", f"export {boot} && exec {quoted}"]
    elif svc.data:
        volumes.append(f"{_volume_name(svc.name)}:{svc.data}")
    if svc.kind == "gateway":  # its connection profile names the org's peer and the orderers
        profile = svc.env["MLEDGER_NETWORK_PROFILE"]
        volumes.append(f"./{PurePosixPath(profile).name}:{profile}:ro")
    if svc.kind in ("chaincode", "gateway"):
        volumes.append(f"{SOURCE}:/app")
        out["working_dir"] = "/app"
        command = ["sh", "-c", "pip install --quiet . && exec " + " ".join(command)]
    if svc.kind == "chaincode":
        labels["mledger.chaincode"] = str(svc.chaincode)
    if svc.kind in ("peer", "orderer"):
        labels["mledger.channel"] = topology.CHANNEL
    out.update({"volumes": volumes, "environment": dict(svc.env), "command": command, "labels": labels})
    if extra_hosts:
        out["extra_hosts"] = list(extra_hosts)
    return out


def bundle(
    settings: Settings,
    org: Org,
    addresses: Mapping[str, str] | None = None,
    orgs: Sequence[Org] = topology.ORGS,
) -> dict[str, Any]:
    """The compose document of one org host. `addresses` maps org key -> that host's IP address;
    `orgs` is the network's org set (network.orgset)."""
    services = org_services(settings, org, orgs)
    extra = []
    for key, addr in sorted((addresses or {}).items()):
        if key == org.key:
            continue
        for svc in org_services(settings, topology.org(key, orgs), orgs):
            extra.append(f"{svc.hostname}:{addr}")
    doc: dict[str, Any] = {"name": f"mledger-{org.key}", "services": {}}
    for svc in services:
        doc["services"][svc.name] = _service(settings, svc, extra)
    ca, peers = topology.ca_name(org), [s.name for s in services if s.kind in ("peer", "orderer")]
    for svc in services:
        if svc.kind in ("peer", "orderer"):
            doc["services"][svc.name]["depends_on"] = [ca]
        if svc.kind == "gateway" and peers:
            doc["services"][svc.name]["depends_on"] = peers
    doc["volumes"] = {_volume_name(s.name): {} for s in services if s.data}
    doc["secrets"] = {SECRET: {"file": "./secrets/ca-registrar"}}
    return doc


def render(
    settings: Settings,
    org: Org,
    addresses: Mapping[str, str] | None = None,
    orgs: Sequence[Org] = topology.ORGS,
) -> str:
    header = (
        f"# GENERATED by `python -m network render` from network/topology.py for {org.name}'s host;\n"
        "# do not edit by hand. Crypto goes in ./crypto/" + org.key + ", the CA registrar secret in\n"
        "# ./secrets/ca-registrar (neither is rendered). See docs/network.md, 'Hosts'.\n"
    )
    return header + yaml.safe_dump(bundle(settings, org, addresses, orgs), sort_keys=False, width=4096)
