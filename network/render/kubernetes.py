"""Kubernetes manifests per org (one namespace each), rendered from network.render.deployment.

Per node: a Service (its ports, named as in the topology) and a StatefulSet with a volume claim for its
state (CA, orderer, peer, gateway) or a Deployment (chaincode server, stateless). Nodes advertise their
DNS names (peer0.banka.mledger.local ...), which the cluster must resolve to the nodes' Services (external
DNS or, given the hosts' addresses, the pods' hostAliases). Crypto material is mounted from one Secret
per node (`<node>-crypto`, keys listed in CRYPTO_ITEMS) and the CA registrar secret from `<ca>-registrar`;
secrets are never rendered, only referenced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import yaml

from network import topology
from network.render.compose_bundles import images, trusted_tls_ca
from network.render.deployment import Service, org_services
from network.settings import Settings
from network.topology import Org

# Secret key -> path under the node's crypto folder (the layout network/ca.py produces)
CRYPTO_ITEMS = {
    "msp-signcert": "msp/signcerts/cert.pem",
    "msp-key": "msp/keystore/key.pem",
    "msp-cacert": "msp/cacerts/ca.pem",
    "msp-config": "msp/config.yaml",
    "tls-cert": "tls/cert.pem",
    "tls-key": "tls/key.pem",
    "tls-ca": "tls/ca.pem",
}
APP_IMAGE = "mledger/app:latest"  # built from the repository's Dockerfile (chaincode server, gateway)
TLS_CAS = "tls-cas"  # ConfigMap of the orderer orgs' TLS CA certificates (BFT), referenced, not rendered
STORAGE = {"ca": "1Gi", "orderer": "10Gi", "peer": "20Gi", "gateway": "5Gi"}


def k8s_name(name: str) -> str:
    """A DNS-1035 label for a node name (peer0.banka -> peer0-banka)."""
    return name.replace(".", "-").replace("_", "-").lower()


def namespace(org: Org) -> str:
    return f"mledger-{org.key}"


def _labels(svc: Service) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": k8s_name(svc.name),
        "app.kubernetes.io/part-of": "mledger",
        "app.kubernetes.io/component": svc.kind,
        "mledger.org": svc.org.msp_id,
    }


def _node_dir(svc: Service) -> str | None:
    """The node's crypto folder inside the container, from its environment (msp dir's parent)."""
    for key in ("CORE_PEER_MSPCONFIGPATH", "ORDERER_GENERAL_LOCALMSPDIR"):
        if key in svc.env:
            return str(PurePosixPath(svc.env[key]).parent)
    return None


def _container(settings: Settings, svc: Service) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(svc.env.items())]
    command = list(svc.command)
    mounts: list[dict[str, Any]] = []
    if svc.kind == "ca":
        env.append(
            {
                "name": "FABRIC_CA_REGISTRAR_SECRET",
                "valueFrom": {"secretKeyRef": {"name": f"{k8s_name(svc.name)}-registrar", "key": "secret"}},
            }
        )
        # by environment (FABRIC_CA_SERVER_BOOT = `-b`), never argv, which every user of the node can read
        env.append({"name": "FABRIC_CA_SERVER_BOOT", "value": "registrar:$(FABRIC_CA_REGISTRAR_SECRET)"})
    node_dir = _node_dir(svc)
    if node_dir:
        mounts.append({"name": "crypto", "mountPath": node_dir, "readOnly": True})
    if svc.data:
        mounts.append({"name": "data", "mountPath": svc.data})
    if svc.trust:  # every orderer org's TLS CA, its own included (outside the node's crypto folder)
        for o in (svc.org, *svc.trust):
            path = trusted_tls_ca(settings, o)
            mounts.append({"name": "tls-cas", "mountPath": path, "subPath": o.key, "readOnly": True})
    if svc.kind == "gateway":
        mounts.append(
            {
                "name": "profile",
                "mountPath": svc.env["MLEDGER_NETWORK_PROFILE"],
                "subPath": PurePosixPath(svc.env["MLEDGER_NETWORK_PROFILE"]).name,
                "readOnly": True,
            }
        )
    c: dict[str, Any] = {
        "name": svc.kind,
        "image": APP_IMAGE if svc.kind in ("chaincode", "gateway") else images(settings)[svc.kind],
        "command": command,
        "env": env,
        "ports": [{"name": k, "containerPort": v, "protocol": "TCP"} for k, v in svc.ports.items()],
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if "operations" in svc.ports:
        probe = {"httpGet": {"path": "/healthz", "port": "operations"}, "periodSeconds": 10}
        c["readinessProbe"] = probe
        c["livenessProbe"] = {**probe, "initialDelaySeconds": 30}
    else:
        c["readinessProbe"] = {"tcpSocket": {"port": next(iter(svc.ports))}, "periodSeconds": 10}
    if mounts:
        c["volumeMounts"] = mounts
    return c


def _pod(settings: Settings, svc: Service, host_aliases: list[dict[str, Any]]) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = []
    if _node_dir(svc):
        volumes.append(
            {
                "name": "crypto",
                "secret": {
                    "secretName": f"{k8s_name(svc.name)}-crypto",
                    "defaultMode": 0o400,
                    "items": [{"key": k, "path": p} for k, p in CRYPTO_ITEMS.items()],
                },
            }
        )
    if svc.trust:  # ConfigMap `tls-cas`: org key -> that org's TLS CA certificate (public)
        volumes.append({"name": "tls-cas", "configMap": {"name": TLS_CAS}})
    if svc.kind == "gateway":
        volumes.append({"name": "profile", "secret": {"secretName": f"{k8s_name(svc.name)}-profile"}})
    spec: dict[str, Any] = {"containers": [_container(settings, svc)], "enableServiceLinks": False}
    if volumes:
        spec["volumes"] = volumes
    if host_aliases:
        spec["hostAliases"] = host_aliases
    return {"metadata": {"labels": _labels(svc)}, "spec": spec}


def _manifests(
    settings: Settings, svc: Service, ns: str, host_aliases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    name = k8s_name(svc.name)
    meta = {
        "name": name,
        "namespace": ns,
        "labels": _labels(svc),
        "annotations": {"mledger.io/hostname": svc.hostname, "mledger.io/tls-sans": ",".join(svc.sans)},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [
                {"name": k, "port": v, "targetPort": k, "protocol": "TCP"} for k, v in svc.ports.items()
            ],
        },
    }
    selector = {"matchLabels": {"app.kubernetes.io/name": name}}
    if svc.data:
        workload = {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta,
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": selector,
                "template": _pod(settings, svc, host_aliases),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": STORAGE[svc.kind]}},
                        },
                    }
                ],
            },
        }
    else:
        workload = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {"replicas": 1, "selector": selector, "template": _pod(settings, svc, host_aliases)},
        }
    return [service, workload]


def manifests(
    settings: Settings,
    org: Org,
    addresses: Mapping[str, str] | None = None,
    orgs: Sequence[Org] = topology.ORGS,
) -> list[dict[str, Any]]:
    """Every manifest of one org: its Namespace, then a Service + workload per node."""
    ns = namespace(org)
    aliases = []
    for key, addr in sorted((addresses or {}).items()):
        if key != org.key:
            names = [s.hostname for s in org_services(settings, topology.org(key, orgs), orgs)]
            aliases.append({"ip": addr, "hostnames": names})
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {"app.kubernetes.io/part-of": "mledger", "mledger.org": org.msp_id},
            },
        }
    ]
    for svc in org_services(settings, org, orgs):
        out += _manifests(settings, svc, ns, aliases)
    return out


def render(
    settings: Settings,
    org: Org,
    addresses: Mapping[str, str] | None = None,
    orgs: Sequence[Org] = topology.ORGS,
) -> str:
    header = (
        f"# GENERATED by `python -m network render` from network/topology.py for {org.name}; do not edit.\n"
        "# Secrets (<node>-crypto, <ca>-registrar, <gateway>-profile) are referenced, never rendered.\n"
    )
    return header + yaml.safe_dump_all(manifests(settings, org, addresses, orgs), sort_keys=False, width=4096)
