"""Fabric configuration files for the native network, derived at `up` time.

- configtx.yaml is our own channel definition (orgs, etcdraft consenters, policies, capabilities V2_5,
  a short BatchTimeout so a lone transaction commits quickly on the local network).
- core.yaml and orderer.yaml start from Fabric's sampleconfig taken from the downloaded module at install
  time (.cache/bin/fabric-<version>/config); only what cannot be set by environment variable (the
  external builder list, no Docker endpoint) is changed in the file, everything per node is set by
  CORE_* / ORDERER_* environment variables (see peer_env / orderer_env).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from network import ccaas_tls, topology
from network.ca import key_file, org_crypto
from network.settings import PACKAGE_DIR, Settings
from network.topology import CHANNEL, Org

PROFILE = "VehiclesChannel"
CCAAS_BUILDER_DIR = PACKAGE_DIR / "ccaas"


def _sig(expr: str) -> dict[str, str]:
    return {"Type": "Signature", "Rule": expr}


def _meta(expr: str) -> dict[str, str]:
    return {"Type": "ImplicitMeta", "Rule": expr}


def app_org(settings: Settings, org: Org) -> dict[str, Any]:
    """An application org as configtx.yaml declares it (also what `org add` prints with configtxgen)."""
    msp = org.msp_id
    return {
        "Name": msp,
        "ID": msp,
        "MSPDir": str(org_crypto(settings, org).msp),
        "Policies": {
            "Readers": _sig(f"OR('{msp}.admin', '{msp}.peer', '{msp}.client')"),
            "Writers": _sig(f"OR('{msp}.admin', '{msp}.client')"),
            "Admins": _sig(f"OR('{msp}.admin')"),
            "Endorsement": _sig(f"OR('{msp}.peer')"),
        },
    }


def _orderer_section(settings: Settings) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The profile's Orderer consensus settings and orderer-side orgs, for the ordering profile in use.

    Raft: the Orderer org runs three etcdraft consenters. BFT: each endorsing org runs one SmartBFT
    consenter (ConsenterMapping: id, endpoint, the org's MSP id, the node's enrolment certificate as its
    identity and its TLS certificate) and is an orderer-side org of its own, with its orderer's endpoint.
    """
    ports = settings.ports
    orderers = topology.orderers(settings.ordering)

    def endpoint(i: int) -> str:
        return f"{settings.hosts.advertise(topology.orderer_name(i))}:{ports.orderer(i)}"

    def tls_cert(i: int) -> str:
        name, org = orderers[i]
        return str(org_crypto(settings, org).node(name) / "tls" / "cert.pem")

    if settings.ordering == topology.RAFT:
        oo = topology.orderer_org()
        orgs = [
            {
                "Name": oo.msp_id,
                "ID": oo.msp_id,
                "MSPDir": str(org_crypto(settings, oo).msp),
                "Policies": {
                    "Readers": _sig(f"OR('{oo.msp_id}.member')"),
                    "Writers": _sig(f"OR('{oo.msp_id}.member')"),
                    "Admins": _sig(f"OR('{oo.msp_id}.admin')"),
                },
                "OrdererEndpoints": [endpoint(i) for i in range(len(orderers))],
            }
        ]
        consenters = [
            {
                "Host": settings.hosts.advertise(topology.orderer_name(i)),
                "Port": ports.orderer(i),
                "ClientTLSCert": tls_cert(i),
                "ServerTLSCert": tls_cert(i),
            }
            for i in range(len(orderers))
        ]
        consensus: dict[str, Any] = {
            "OrdererType": "etcdraft",
            "EtcdRaft": {
                "Consenters": consenters,
                "Options": {
                    "TickInterval": "250ms",
                    "ElectionTick": 10,
                    "HeartbeatTick": 1,
                    "MaxInflightBlocks": 5,
                    "SnapshotIntervalSize": "16 MB",
                },
            },
        }
        return consensus, orgs
    orgs = []
    mapping = []
    for i, (name, org) in enumerate(orderers):
        msp = org.msp_id
        orgs.append(
            {
                "Name": msp,
                "ID": msp,
                "MSPDir": str(org_crypto(settings, org).msp),
                # orderer side of the org: its orderer signs blocks (BlockValidation: ANY Writers) and pulls
                # blocks from the other orderers (channel Readers)
                "Policies": {
                    "Readers": _sig(f"OR('{msp}.orderer', '{msp}.admin')"),
                    "Writers": _sig(f"OR('{msp}.orderer')"),
                    "Admins": _sig(f"OR('{msp}.admin')"),
                },
                "OrdererEndpoints": [endpoint(i)],
            }
        )
        mapping.append(
            {
                "ID": i + 1,
                "Host": settings.hosts.advertise(name),
                "Port": ports.orderer(i),
                "MSPID": msp,
                "Identity": str(org_crypto(settings, org).node(name) / "msp" / "signcerts" / "cert.pem"),
                "ClientTLSCert": tls_cert(i),
                "ServerTLSCert": tls_cert(i),
            }
        )
    consensus = {
        "OrdererType": "BFT",
        "ConsenterMapping": mapping,
        "SmartBFT": {
            "RequestBatchMaxCount": 100,
            "RequestBatchMaxBytes": 10485760,
            # the BFT counterpart of the short BatchTimeout: a lone request waits at most this long
            "RequestBatchMaxInterval": settings.batch_timeout,
            "RequestForwardTimeout": "2s",
            "RequestComplainTimeout": "20s",
            "RequestAutoRemoveTimeout": "3m0s",
            "ViewChangeResendInterval": "5s",
            "ViewChangeTimeout": "20s",
            "LeaderHeartbeatTimeout": "1m0s",
            "LeaderHeartbeatCount": 10,
            "CollectTimeout": "1s",
            "IncomingMessageBufferSize": 200,
            "RequestPoolSize": 100000,
        },
    }
    return consensus, orgs


def configtx(settings: Settings, orgs: Sequence[Org] = topology.ORGS) -> dict[str, Any]:
    """The channel profile for `vehicles` as a configtx.yaml document, with `orgs` (the network's org
    set, network.orgset; the consortium's at `up`) as its application members."""
    consensus, orderer_orgs = _orderer_section(settings)
    app_orgs = [app_org(settings, o) for o in orgs if not o.orderer_org]
    # BFT needs the V3_0 channel capability (Fabric 3 peers and orderers only)
    channel_caps = {"V3_0": True} if settings.ordering == topology.BFT else {"V2_0": True}
    return {
        "Profiles": {
            PROFILE: {
                "Policies": {
                    "Readers": _meta("ANY Readers"),
                    "Writers": _meta("ANY Writers"),
                    "Admins": _meta("MAJORITY Admins"),
                },
                "Capabilities": channel_caps,
                "Orderer": {
                    **consensus,
                    # Short on purpose: the default 2 s would make every lone transaction wait ~2 s to commit.
                    "BatchTimeout": settings.batch_timeout,
                    "BatchSize": {
                        "MaxMessageCount": 100,
                        "AbsoluteMaxBytes": "10 MB",
                        "PreferredMaxBytes": "2 MB",
                    },
                    "Organizations": orderer_orgs,
                    "Policies": {
                        "Readers": _meta("ANY Readers"),
                        "Writers": _meta("ANY Writers"),
                        "Admins": _meta("MAJORITY Admins"),
                        "BlockValidation": _meta("ANY Writers"),
                    },
                    "Capabilities": {"V2_0": True},
                },
                "Application": {
                    "Organizations": app_orgs,
                    "Policies": {
                        "Readers": _meta("ANY Readers"),
                        "Writers": _meta("ANY Writers"),
                        "Admins": _meta("MAJORITY Admins"),
                        "LifecycleEndorsement": _meta("MAJORITY Endorsement"),
                        "Endorsement": _meta("MAJORITY Endorsement"),
                    },
                    "Capabilities": {"V2_5": True},
                },
            }
        }
    }


def write_configs(settings: Settings) -> None:
    """Write configtx.yaml, the derived core.yaml and orderer.yaml under <data>/config."""
    cfg = settings.config_dir
    (cfg / "configtx").mkdir(parents=True, exist_ok=True)
    (cfg / "configtx" / "configtx.yaml").write_text(yaml.safe_dump(configtx(settings), sort_keys=False))
    sample = settings.fabric_sampleconfig
    core = yaml.safe_load((sample / "core.yaml").read_text())
    core["vm"]["endpoint"] = ""  # no Docker: chaincode runs as a service
    core["chaincode"]["externalBuilders"] = [
        {
            "name": "mledger-ccaas",
            "path": str(CCAAS_BUILDER_DIR),
            "propagateEnvironment": list(ccaas_tls.PEER_ENV),
        }
    ]
    (cfg / "peer").mkdir(parents=True, exist_ok=True)
    (cfg / "peer" / "core.yaml").write_text(yaml.safe_dump(core, sort_keys=False))
    (cfg / "orderer").mkdir(parents=True, exist_ok=True)
    shutil.copy(sample / "orderer.yaml", cfg / "orderer" / "orderer.yaml")


def peer_env(settings: Settings, org: Org) -> dict[str, str]:
    """Environment of a peer process: everything per node as CORE_* overrides."""
    ports = settings.ports
    name = topology.peer_name(org)
    oc = org_crypto(settings, org)
    node = oc.node(name)
    data = settings.nodes_dir / name
    addr = f"{settings.hosts.advertise(name)}:{ports.peer(org)}"
    bind = settings.hosts.bind(name)
    return {
        "FABRIC_CFG_PATH": str(settings.config_dir / "peer"),
        "FABRIC_LOGGING_SPEC": "INFO",
        "CORE_PEER_ID": name,
        "CORE_PEER_NETWORKID": "mledger",
        "CORE_PEER_ADDRESS": addr,
        "CORE_PEER_LISTENADDRESS": f"{bind}:{ports.peer(org)}",
        "CORE_PEER_CHAINCODEADDRESS": f"{settings.hosts.advertise(name)}:{ports.peer_chaincode(org)}",
        "CORE_PEER_CHAINCODELISTENADDRESS": f"{bind}:{ports.peer_chaincode(org)}",
        "CORE_PEER_GOSSIP_BOOTSTRAP": addr,
        "CORE_PEER_GOSSIP_EXTERNALENDPOINT": addr,
        "CORE_PEER_GOSSIP_USELEADERELECTION": "true",
        "CORE_PEER_GOSSIP_ORGLEADER": "false",
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(node / "msp"),
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_CERT_FILE": str(node / "tls" / "cert.pem"),
        "CORE_PEER_TLS_KEY_FILE": str(node / "tls" / "key.pem"),
        "CORE_PEER_TLS_ROOTCERT_FILE": str(node / "tls" / "ca.pem"),
        "CORE_PEER_FILESYSTEMPATH": str(data / "ledger"),
        "CORE_LEDGER_SNAPSHOTS_ROOTDIR": str(data / "snapshots"),
        "CORE_LEDGER_STATE_STATEDATABASE": "goleveldb",
        "CORE_OPERATIONS_LISTENADDRESS": f"{bind}:{ports.peer_operations(org)}",
        "CORE_OPERATIONS_TLS_ENABLED": "false",
        "CORE_METRICS_PROVIDER": "prometheus",
        "CORE_CHAINCODE_EXECUTETIMEOUT": "30s",
        **ccaas_tls.peer_env(settings, org),  # mutual TLS to the chaincode servers (release builder)
        **_added_peer_env(org),
    }


def _added_peer_env(org: Org) -> dict[str, str]:
    """An org admitted by `org add` (network.onboarding) whose MSP id was in the channel before (added,
    removed, added again) has private data of its own implicit collection in blocks its earlier peer
    alone held: its new peer cannot fetch it and would wait the default 60 s per such block while
    catching up. It waits 5 s, then commits without it (reconciliation keeps trying)."""
    if org in topology.ORGS:
        return {}
    return {"CORE_PEER_GOSSIP_PVTDATA_PULLRETRYTHRESHOLD": "5s"}


def orderer_env(settings: Settings, i: int) -> dict[str, str]:
    """Environment of an orderer: channel participation API on, no system channel."""
    ports = settings.ports
    name, oo = topology.orderers(settings.ordering)[i]
    oc = org_crypto(settings, oo)
    node = oc.node(name)
    tls = node / "tls"
    data = settings.nodes_dir / name
    ca = str(tls / "ca.pem")
    # cluster (consensus) connections come from every orderer org's orderers: under BFT trust each
    # orderer org's TLS CA (under Raft the one ordering org's)
    cluster_cas = ca
    if settings.ordering == topology.BFT:
        count = len(topology.orderers(settings.ordering))
        cluster_cas = ",".join(dict.fromkeys(str(orderer_tls_ca(settings, j)) for j in range(count)))
    bind = settings.hosts.bind(name)
    return {
        "FABRIC_CFG_PATH": str(settings.config_dir / "orderer"),
        "FABRIC_LOGGING_SPEC": "INFO",
        "ORDERER_GENERAL_LISTENADDRESS": bind,
        "ORDERER_GENERAL_LISTENPORT": str(ports.orderer(i)),
        "ORDERER_GENERAL_LOCALMSPID": oo.msp_id,
        "ORDERER_GENERAL_LOCALMSPDIR": str(node / "msp"),
        "ORDERER_GENERAL_TLS_ENABLED": "true",
        "ORDERER_GENERAL_TLS_PRIVATEKEY": str(tls / "key.pem"),
        "ORDERER_GENERAL_TLS_CERTIFICATE": str(tls / "cert.pem"),
        "ORDERER_GENERAL_TLS_ROOTCAS": f"[{ca}]",
        "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE": str(tls / "cert.pem"),
        "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY": str(tls / "key.pem"),
        "ORDERER_GENERAL_CLUSTER_ROOTCAS": f"[{cluster_cas}]",
        "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
        "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
        "ORDERER_ADMIN_LISTENADDRESS": f"{bind}:{ports.orderer_admin(i)}",
        "ORDERER_ADMIN_TLS_ENABLED": "true",
        "ORDERER_ADMIN_TLS_CERTIFICATE": str(tls / "cert.pem"),
        "ORDERER_ADMIN_TLS_PRIVATEKEY": str(tls / "key.pem"),
        "ORDERER_ADMIN_TLS_ROOTCAS": f"[{ca}]",
        "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED": "true",
        "ORDERER_ADMIN_TLS_CLIENTROOTCAS": f"[{ca}]",
        "ORDERER_FILELEDGER_LOCATION": str(data / "ledger"),
        "ORDERER_CONSENSUS_WALDIR": str(data / "etcdraft" / "wal"),
        "ORDERER_CONSENSUS_SNAPDIR": str(data / "etcdraft" / "snapshot"),
        "ORDERER_OPERATIONS_LISTENADDRESS": f"{bind}:{ports.orderer_operations(i)}",
        "ORDERER_OPERATIONS_TLS_ENABLED": "false",
        "ORDERER_METRICS_PROVIDER": "prometheus",
    }


def admin_cli_env(settings: Settings, org: Org) -> dict[str, str]:
    """Environment for the `peer` CLI acting as the org's admin against the org's peer."""
    oc = org_crypto(settings, org)
    env = {
        "FABRIC_CFG_PATH": str(settings.config_dir / "peer"),
        "CORE_PEER_LOCALMSPID": org.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(oc.user("admin") / "msp"),
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": str(oc.tls_ca),
        "FABRIC_LOGGING_SPEC": "WARNING",
    }
    if org.peer:
        peer_host = settings.hosts.dial(topology.peer_name(org))
        env["CORE_PEER_ADDRESS"] = f"{peer_host}:{settings.ports.peer(org)}"
    return env


def orderer_tls_ca(settings: Settings, i: int = 0) -> Path:
    """The TLS CA of the org running orderer i (what a client dialling it must trust)."""
    return org_crypto(settings, topology.orderer_org_of(i, settings.ordering)).tls_ca


def orderer_admin_client(settings: Settings, i: int = 0) -> tuple[Path, Path]:
    """The TLS client pair of the admin of the org running orderer i (its admin API's client auth)."""
    admin = org_crypto(settings, topology.orderer_org_of(i, settings.ordering)).user("admin") / "tls"
    return admin / "cert.pem", admin / "key.pem"


def user_key(settings: Settings, org: Org, user: str) -> Path:
    return key_file(org_crypto(settings, org).user(user) / "msp")


__all__ = ["CHANNEL", "PROFILE", "admin_cli_env", "configtx", "orderer_env", "peer_env", "write_configs"]
