"""What each org's host runs on a real multi-host deployment, derived from network.topology.

An org host runs the org's CA, its orderer(s) or peer, one chaincode-as-a-service server per chaincode
(orgs with a peer: endorsement and queries run chaincode on the org's own peer), and the org's API
gateway (application orgs). Every node is known by its DNS name (network.hosts.fqdn); nodes listen on
the same ports as the native network, and their environment is the native one (network.config) with
container paths and host names, so the artefacts cannot drift from the network the tests run.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from network import chaincode, config, topology
from network.ca import org_crypto
from network.hosts import HostPlan, Placement, fqdn, node_fqdn
from network.settings import Settings
from network.topology import Org

DATA = Path("/var/mledger")  # where a container finds crypto (read-only) and keeps its ledger
FABRIC_CFG = "/etc/hyperledger/fabric"  # core.yaml / orderer.yaml shipped in the official images
BUILDER = "/opt/hyperledger/ccaas_builder"  # the images' chaincode-as-a-service builder


def gateway_port(settings: Settings, org: Org) -> int:
    """The org gateway's HTTP port (base + 600 + org slot), beside the native port plan."""
    return settings.base_port + 600 + org.index


@dataclass(frozen=True)
class Service:
    """One process of an org host, as every renderer sees it."""

    name: str  # node name, e.g. peer0.banka, orderer1, ca.banka, cc-mortgage.banka, gateway.banka
    kind: str  # ca | orderer | peer | chaincode | gateway
    org: Org
    hostname: str
    ports: dict[str, int]
    env: dict[str, str]
    command: list[str]
    data: str | None  # path of the node's persistent state inside the container, if any
    sans: tuple[str, ...] = ()  # names the node's TLS certificate must carry
    chaincode: str | None = None
    # other orgs whose (public) TLS CA certificate the node reads: a BFT orderer's cluster peers' orgs
    trust: tuple[Org, ...] = ()


@functools.cache
def _specs() -> tuple[chaincode.ChaincodeSpec, ...]:
    """The declared chaincodes (network/chaincodes.yaml), read once per render."""
    return tuple(chaincode.load_specs())


def _cc_name(spec: chaincode.ChaincodeSpec, org: Org) -> str:
    return f"cc-{spec.name}.{org.key}"


def deployment_plan(settings: Settings, orgs: Sequence[Org] = topology.ORGS) -> HostPlan:
    """Every node advertised and dialled by its DNS name; processes bind to all of the container's
    (or pod's) own addresses, which on host networking is the org host's address. An orderer is named
    in the domain of the org running it (the Orderer org's under Raft, each bank's under BFT)."""
    nodes = {}
    for n in topology.nodes(settings.ports, settings.ordering, orgs):
        if n.kind == "kubo":
            continue
        name = node_fqdn(n.name, orgs, settings.ordering)
        nodes[n.name] = Placement(
            bind="0.0.0.0", advertise=name, dial=name, host=n.org.key if n.org else "", sans=(name,)
        )
    for org in topology.peer_orgs(orgs):
        for spec in _specs():
            cc = _cc_name(spec, org)
            name = fqdn(cc, orgs)
            nodes[cc] = Placement(bind="0.0.0.0", advertise=name, dial=name, host=org.key, sans=(name,))
    return HostPlan(nodes)


def container_settings(settings: Settings, orgs: Sequence[Org] = topology.ORGS) -> Settings:
    return replace(settings, data_dir=DATA, hosts=deployment_plan(settings, orgs))


def _fabric_env(env: dict[str, str]) -> dict[str, str]:
    out = dict(env)
    out["FABRIC_CFG_PATH"] = FABRIC_CFG
    return out


def _chaincode_tls(settings: Settings, org: Org, server: str) -> dict[str, str]:
    """Mutual TLS between an org's peer and the chaincode server beside it, both under the org's TLS CA.

    On one host the vehicle office's CA issues the shared chaincode servers' certificates; a per-org
    deployment runs its own server, so only the org's own peer (its TLS CA) is admitted as a client.
    """
    crypto = org_crypto(settings, org)
    tls = crypto.node(server) / "tls"
    return {
        "CHAINCODE_TLS_CERT": str(tls / "cert.pem"),
        "CHAINCODE_TLS_KEY": str(tls / "key.pem"),
        "CHAINCODE_CLIENT_CA": str(crypto.tls_ca),
    }


def org_services(settings: Settings, org: Org, orgs: Sequence[Org] = topology.ORGS) -> list[Service]:
    """The services of one org host, in start order; `orgs` is the network's org set (network.orgset)."""
    s = container_settings(settings, orgs)
    ports = s.ports
    nodes = {n.name: n for n in topology.nodes(ports, s.ordering, orgs)}
    out: list[Service] = []
    ca = topology.ca_name(org)
    home = str(org_crypto(s, org).ca_home)
    ca_sans = tuple(s.hosts.sans(ca))
    out.append(
        Service(
            ca,
            "ca",
            org,
            s.hosts.advertise(ca),
            {"listen": ports.ca(org), "operations": ports.ca_operations(org)},
            {
                "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS": f"0.0.0.0:{ports.ca_operations(org)}",
                "FABRIC_CA_SERVER_HOME": home,
            },
            [
                "fabric-ca-server",
                "start",
                "--home",
                home,
                "--address",
                "0.0.0.0",
                "--port",
                str(ports.ca(org)),
                "--tls.enabled",
                "--csr.cn",
                f"ca.{org.domain}",
                "--csr.hosts",
                ",".join(ca_sans),
            ],
            home,
            ca_sans,
        )
    )
    # Raft: the Orderer org runs every orderer; BFT: each endorsing org runs one, trusting the others' TLS CAs
    orderer_orgs = [o for _, o in topology.orderers(s.ordering)]
    for i in topology.orderers_of(org, s.ordering):
        name = topology.orderer_name(i)
        trust = (
            tuple(dict.fromkeys(o for o in orderer_orgs if o != org)) if s.ordering == topology.BFT else ()
        )
        out.append(
            Service(
                name,
                "orderer",
                org,
                s.hosts.advertise(name),
                dict(nodes[name].ports),
                _fabric_env(config.orderer_env(s, i)),
                ["orderer"],
                str(s.nodes_dir / name),
                tuple(s.hosts.sans(name)),
                trust=trust,
            )
        )
    if org.peer:
        name = topology.peer_name(org)
        node = nodes[name]
        out.append(
            Service(
                name,
                "peer",
                org,
                s.hosts.advertise(name),
                dict(node.ports),
                _fabric_env(
                    {**config.peer_env(s, org), "MLEDGER_CCAAS_ROOT_CERT": str(org_crypto(s, org).tls_ca)}
                ),
                ["peer", "node", "start"],
                str(s.nodes_dir / name),
                tuple(s.hosts.sans(name)),
            )
        )
        for spec in _specs():
            cc = _cc_name(spec, org)
            port = ports.chaincode(spec.slot)
            address = f"{s.hosts.advertise(cc)}:{port}"
            label = f"{spec.name}_ccaas"
            pkg_id = chaincode.package_id(label, chaincode.package_ccaas(label, address))
            argv = [
                "python",
                "-m",
                chaincode.SERVER_MODULE,
                "--chaincode-id",
                pkg_id,
                "--address",
                f"0.0.0.0:{port}",
            ]
            for c in spec.contracts:
                argv += ["--contract", c]
            out.append(
                Service(
                    cc,
                    "chaincode",
                    org,
                    s.hosts.advertise(cc),
                    {"listen": port},
                    {
                        "CHAINCODE_ID": pkg_id,
                        "CHAINCODE_SERVER_ADDRESS": address,
                        **_chaincode_tls(s, org, cc),
                    },
                    argv,
                    None,
                    tuple(s.hosts.sans(cc)),
                    chaincode=spec.name,
                )
            )
    if not org.orderer_org:
        gw = f"gateway.{org.key}"
        port = gateway_port(s, org)
        out.append(
            Service(
                gw,
                "gateway",
                org,
                fqdn(gw, orgs),
                {"http": port},
                {
                    "MLEDGER_BACKEND": "fabric",
                    "MLEDGER_ORGS": org.msp_id,
                    "MLEDGER_DATA_DIR": str(DATA / "gateway"),
                    "MLEDGER_NETWORK_PROFILE": str(DATA / profile_file(org)),
                    "MLEDGER_PUBLIC_BASE_URL": f"https://{fqdn(gw, orgs)}",
                },
                ["mledger", "serve", "--host", "0.0.0.0", "--port", str(port), "--no-demo"],
                str(DATA / "gateway"),
            )
        )
    return out


def profile_file(org: Org) -> str:
    """The org gateway's Fabric connection profile (as the native network writes it, never rendered)."""
    return f"connection-{org.key}.json"


def org_hosts(settings: Settings, orgs: Sequence[Org] = topology.ORGS) -> dict[str, list[Service]]:
    """Every org host (by org key) and its services."""
    return {o.key: org_services(settings, o, orgs) for o in orgs}


def channel_configtx(settings: Settings, orgs: Sequence[Org] = topology.ORGS) -> dict[str, Any]:
    """The channel's configtx.yaml for the deployment: the native network's generator (network.config,
    Raft or SmartBFT as `settings.ordering` says) with container paths and DNS names, `orgs` as members."""
    return config.configtx(container_settings(settings, orgs), orgs)


def crypto_mount(settings: Settings, org: Org) -> tuple[str, str]:
    """(bundle-relative source, container path) of the org's crypto folder (never rendered: secrets)."""
    return f"./crypto/{org.key}", str(org_crypto(replace(settings, data_dir=DATA), org).root)
