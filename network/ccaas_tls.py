"""Mutual TLS between the peers and the chaincode-as-a-service servers.

Each chaincode server presents a TLS certificate issued by TrafficAuthority's CA (the org that operates the
shared chaincode servers) and accepts only clients whose certificate chains to one of the peer orgs' TLS
CAs. Each peer dials it with its own TLS key pair and checks the server against TrafficAuthority's TLS CA.

The package's connection.json says only `tls_required` / `client_auth_required` (no keys: the package
is installed on every peer and its bytes fix the package ID). The peer's external builder (`release`)
adds the PEMs from the peer's own files, named by the MLEDGER_CCAAS_* variables the peer passes on to
its builders (core.yaml `propagateEnvironment`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from network import ca, orgset, topology
from network.settings import Settings
from network.topology import Org

log = logging.getLogger(__name__)

# what the peer hands its external builder (core.yaml chaincode.externalBuilders[].propagateEnvironment)
PEER_ENV = ("MLEDGER_CCAAS_CLIENT_CERT", "MLEDGER_CCAAS_CLIENT_KEY", "MLEDGER_CCAAS_ROOT_CERT")


def operator() -> Org:
    """The org whose CA issues the chaincode servers' TLS certificates."""
    return topology.org("trafficauthority")


def server_dir(settings: Settings, server_name: str) -> Path:
    """nodes/<cc.name>/tls/{cert,key,ca}.pem under the operator's crypto folder."""
    return ca.org_crypto(settings, operator()).node(server_name)


def ensure_server_identity(settings: Settings, server_name: str) -> Path:
    """Issue the server's TLS certificate (SANs: every name the host plan reaches it by, localhost) once."""
    dest = server_dir(settings, server_name)
    if (dest / "tls" / "cert.pem").exists():
        return dest
    enroller = ca.Enroller(settings, operator())
    secret = enroller.register(server_name, "client")
    sans = list(dict.fromkeys([*settings.hosts.sans(server_name), "localhost"]))
    enroller.enroll(server_name, secret, dest, sans, tls=True)
    log.info("issued chaincode server TLS certificate for %s", server_name)
    return dest


def client_ca_bundle(settings: Settings) -> Path:
    """The TLS CAs of every org with a peer: the only clients a chaincode server accepts."""
    path = settings.data_dir / "chaincode" / "peer-tls-cas.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    pems = [
        ca.org_crypto(settings, o).tls_ca.read_text().strip() + "\n"
        for o in topology.peer_orgs(orgset.orgs(settings))
    ]
    path.write_text("".join(pems))
    return path


def server_env(settings: Settings, server_name: str) -> dict[str, str]:
    """CHAINCODE_TLS_* for chaincode.runtime.server: its key pair and the client CAs (client auth on)."""
    tls = server_dir(settings, server_name) / "tls"
    return {
        "CHAINCODE_TLS_CERT": str(tls / "cert.pem"),
        "CHAINCODE_TLS_KEY": str(tls / "key.pem"),
        "CHAINCODE_CLIENT_CA": str(settings.data_dir / "chaincode" / "peer-tls-cas.pem"),
    }


def peer_env(settings: Settings, org: Org) -> dict[str, str]:
    """The peer's TLS key pair as chaincode client, and the CA that must have issued the server's cert."""
    tls = ca.org_crypto(settings, org).node(topology.peer_name(org)) / "tls"
    return {
        "MLEDGER_CCAAS_CLIENT_CERT": str(tls / "cert.pem"),
        "MLEDGER_CCAAS_CLIENT_KEY": str(tls / "key.pem"),
        "MLEDGER_CCAAS_ROOT_CERT": str(ca.org_crypto(settings, operator()).tls_ca),
    }
