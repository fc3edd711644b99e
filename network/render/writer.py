"""`python -m network render --out DIR`: every org host's compose bundle and Kubernetes manifests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from network import topology
from network.render import compose_bundles, kubernetes
from network.render.deployment import org_services
from network.settings import Settings


def parse_addresses(items: list[str]) -> dict[str, str]:
    """`org=address` pairs (org by key, name or MSP id) -> {org key: address}; clear errors on bad input."""
    import ipaddress

    out: dict[str, str] = {}
    for item in items:
        org, sep, addr = item.partition("=")
        if not sep or not org or not addr:
            raise ValueError(f"--address {item!r}: expected ORG=IP, e.g. banka=10.0.0.11")
        try:
            ipaddress.ip_address(addr)
        except ValueError as exc:
            raise ValueError(f"--address {item!r}: {addr!r} is not an IP address") from exc
        try:
            key = topology.org(org).key
        except KeyError as exc:
            raise ValueError(f"--address {item!r}: {exc.args[0]}") from exc
        out[key] = addr
    return out


def render_all(settings: Settings, out: Path, addresses: Mapping[str, str] | None = None) -> list[Path]:
    """Write compose/<org>/docker-compose.yaml, kubernetes/<org>.yaml and hosts; return the files."""
    written: list[Path] = []
    for org in topology.ORGS:
        bundle = out / "compose" / org.key / "docker-compose.yaml"
        bundle.parent.mkdir(parents=True, exist_ok=True)
        bundle.write_text(compose_bundles.render(settings, org, addresses))
        k8s = out / "kubernetes" / f"{org.key}.yaml"
        k8s.parent.mkdir(parents=True, exist_ok=True)
        k8s.write_text(kubernetes.render(settings, org, addresses))
        written += [bundle, k8s]
    lines = ["# every node's DNS name on its org host" + (" and address" if addresses else "")]
    for org in topology.ORGS:
        for svc in org_services(settings, org):
            addr = (addresses or {}).get(org.key, "")
            lines.append(f"{addr} {svc.hostname}".strip() if addr else f"# {svc.hostname} ({org.name})")
    hosts = out / "hosts"
    hosts.write_text("\n".join(lines) + "\n")
    written.append(hosts)
    return written
