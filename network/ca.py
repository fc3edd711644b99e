"""One fabric-ca server per org (TLS on) and every identity the network needs, issued by it.

Layout under crypto/<org key>/:
  ca/                 fabric-ca-server home (ca-cert.pem, tls-cert.pem, sqlite DB)
  msp/                the org's MSP for the channel config (cacerts, tlscacerts, NodeOUs config.yaml)
  nodes/<name>/msp    a peer's or orderer's signing identity;  nodes/<name>/tls/{cert,key,ca}.pem
  users/<name>/msp    a user's identity (ecert carries the `role` attribute); users/<name>/tls for admins
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from network import topology
from network.errors import NetworkError
from network.process import ProcessTable, run, wait_until
from network.settings import Settings
from network.topology import Org

log = logging.getLogger(__name__)

NODE_OUS = """NodeOUs:
  Enable: true
  ClientOUIdentifier: {Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: client}
  PeerOUIdentifier: {Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: peer}
  AdminOUIdentifier: {Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: admin}
  OrdererOUIdentifier: {Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: orderer}
"""


@dataclass(frozen=True)
class OrgCrypto:
    """Paths of one org's crypto material."""

    root: Path

    @property
    def ca_home(self) -> Path:
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_home / "ca-cert.pem"

    @property
    def ca_tls_cert(self) -> Path:
        return self.ca_home / "tls-cert.pem"

    @property
    def msp(self) -> Path:
        return self.root / "msp"

    @property
    def tls_ca(self) -> Path:
        return self.msp / "tlscacerts" / "ca.pem"

    def node(self, name: str) -> Path:
        return self.root / "nodes" / name

    def user(self, name: str) -> Path:
        return self.root / "users" / name

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def done_marker(self) -> Path:
        return self.root / ".enrolled"


def org_crypto(settings: Settings, org: Org) -> OrgCrypto:
    return OrgCrypto(settings.crypto_dir / org.key)


def key_file(msp: Path) -> Path:
    keys = sorted((msp / "keystore").iterdir())
    if not keys:
        raise NetworkError(f"no private key in {msp / 'keystore'}")
    return keys[0]


def _secrets(oc: OrgCrypto) -> dict[str, str]:
    if oc.secrets_file.exists():
        return json.loads(oc.secrets_file.read_text())
    data = {"registrar": secrets.token_hex(12)}
    oc.root.mkdir(parents=True, exist_ok=True)
    oc.secrets_file.write_text(json.dumps(data))
    oc.secrets_file.chmod(0o600)
    return data


def start_ca(settings: Settings, procs: ProcessTable, org: Org) -> None:
    """Start (or restart on its existing home) the org's fabric-ca server and wait for it."""
    name = topology.ca_name(org)
    oc = org_crypto(settings, org)
    oc.ca_home.mkdir(parents=True, exist_ok=True)
    pw = _secrets(oc)["registrar"]
    ports = settings.ports
    port, ops = ports.ca(org), ports.ca_operations(org)
    bind = settings.hosts.bind(name)
    argv = [
        str(settings.binary("fabric-ca-server")),
        "start",
        "--home",
        str(oc.ca_home),
        "--address",
        bind,
        "--port",
        str(port),
        "--tls.enabled",
        "--csr.cn",
        f"ca.{org.domain}",
        "--csr.hosts",
        ",".join(settings.hosts.sans(name)),
    ]
    # The registrar's password goes by environment (FABRIC_CA_SERVER_BOOT is the `-b/--boot` flag), never
    # argv: /proc/<pid>/cmdline is readable by every local user, /proc/<pid>/environ only by the owner.
    env = {
        "FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS": f"{bind}:{ops}",
        "FABRIC_CA_SERVER_BOOT": f"registrar:{pw}",
    }
    logf = settings.log_file(name)
    proc = procs.start(name, argv, env=env, log_path=logf, ports={"listen": port, "operations": ops})
    dial = settings.hosts.dial(name)
    wait_until(
        lambda: _healthy(ops, dial),
        timeout=30,
        what="operations /healthz",
        node=name,
        port=port,
        log_path=logf,
        proc=proc,
    )
    wait_until(
        oc.ca_tls_cert.exists,
        timeout=10,
        what="TLS certificate",
        node=name,
        port=port,
        log_path=logf,
        proc=proc,
    )


def _healthy(ops_port: int, host: str) -> bool:
    try:
        return httpx.get(f"http://{host}:{ops_port}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class Enroller:
    """Registers and enrolls identities at one org's CA with fabric-ca-client."""

    def __init__(self, settings: Settings, org: Org) -> None:
        self.settings = settings
        self.org = org
        self.oc = org_crypto(settings, org)
        self.url_host = f"{settings.hosts.dial(topology.ca_name(org))}:{settings.ports.ca(org)}"
        self.client = str(settings.binary("fabric-ca-client"))
        self.secrets = _secrets(self.oc)
        # Subject names of issued certs: the org itself, not fabric-ca's default O=Hyperledger.
        self.csr_names = f"C=CN,O={org.name}"

    def _ca(self, *args: str, home: Path, what: str, env: dict[str, str] | None = None) -> str:
        """Run fabric-ca-client; secrets travel in `env` (FABRIC_CA_CLIENT_URL / _ID_SECRET), not argv."""
        home.mkdir(parents=True, exist_ok=True)
        try:
            return run(
                [self.client, *args, "--home", str(home), "--tls.certfiles", str(self.oc.ca_tls_cert)],
                what=f"fabric-ca-client {what} ({self.org.name})",
                timeout=60,
                env=env,
            )
        except NetworkError as exc:
            name = topology.ca_name(self.org)
            port = self.settings.ports.ca(self.org)
            raise NetworkError(
                f"{exc} (is {name} running?)", node=name, port=port, log=self.settings.log_file(name)
            ) from exc

    def enroll_registrar(self) -> None:
        home = self.oc.root / "registrar"
        self._ca(
            "enroll",
            "--mspdir",
            str(home / "msp"),
            home=home,
            what="enroll registrar",
            env=self._url_env("registrar", self.secrets["registrar"]),
        )

    def _url_env(self, name: str, secret: str) -> dict[str, str]:
        return {"FABRIC_CA_CLIENT_URL": f"https://{name}:{secret}@{self.url_host}"}

    def register(self, name: str, id_type: str, attrs: str | None = None) -> str:
        secret = secrets.token_hex(10)
        args = [
            "register",
            "-u",
            f"https://{self.url_host}",
            "--id.name",
            name,
            "--id.type",
            id_type,
            "--mspdir",
            str(self.oc.root / "registrar" / "msp"),
        ]
        if attrs:
            args += ["--id.attrs", attrs]
        self._ca(
            *args,
            home=self.oc.root / "registrar",
            what=f"register {name}",
            env={"FABRIC_CA_CLIENT_ID_SECRET": secret},
        )
        return secret

    def revoke(self, name: str, reason: str) -> bytes:
        """Revoke every certificate of identity `name` and return the CA's new CRL (PEM).

        fabric-ca's CRL lists every certificate it has revoked so far, so it replaces the previous one.
        """
        return self._revoke(["-e", name], reason, f"revoke {name}")

    def revoke_certificate(self, cert_pem: bytes, reason: str) -> bytes:
        """Revoke one certificate (serial + authority key id; the identity keeps its others) and return
        the CA's new CRL (PEM)."""
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(cert_pem)
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        assert aki is not None
        serial = format(cert.serial_number, "x")
        return self._revoke(["-s", serial, "-a", aki.hex()], reason, f"revoke certificate {serial}")

    def _revoke(self, selector: list[str], reason: str, what: str) -> bytes:
        """One `fabric-ca-client revoke --gencrl` as the registrar; the CA's new CRL (PEM)."""
        home = self.oc.root / "registrar"
        url = f"https://{self.url_host}"
        self._ca(
            "revoke",
            "-u",
            url,
            *selector,
            "-r",
            reason,
            "--gencrl",
            "--mspdir",
            str(home / "msp"),
            home=home,
            what=what,
        )
        return (home / "msp" / "crls" / "crl.pem").read_bytes()

    def identity_exists(self, name: str) -> bool:
        home = self.oc.root / "registrar"
        try:
            self._ca(
                "identity",
                "list",
                "-u",
                f"https://{self.url_host}",
                "--id",
                name,
                "--mspdir",
                str(home / "msp"),
                home=home,
                what=f"identity list {name}",
            )
        except NetworkError as exc:
            if "Error Code: 63" in str(exc):  # fabric-ca: "Failed to get User"
                return False
            raise
        return True

    def enroll(self, name: str, secret: str, dest: Path, hosts: list[str], tls: bool) -> None:
        home = dest / ".ca-client"
        env = self._url_env(name, secret)
        self._ca(
            "enroll",
            "--mspdir",
            str(dest / "msp"),
            "--csr.hosts",
            ",".join(hosts),
            "--csr.cn",
            name,
            "--csr.names",
            self.csr_names,
            home=home,
            what=f"enroll {name}",
            env=env,
        )
        _normalise_msp(dest / "msp", self.oc.ca_cert)
        if tls:
            tmp = dest / ".tlsmsp"
            self._ca(
                "enroll",
                "--mspdir",
                str(tmp),
                "--enrollment.profile",
                "tls",
                "--csr.hosts",
                ",".join(hosts),
                "--csr.cn",
                name,
                "--csr.names",
                self.csr_names,
                home=home,
                what=f"enroll TLS {name}",
                env=env,
            )
            tls_dir = dest / "tls"
            tls_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp / "signcerts" / "cert.pem", tls_dir / "cert.pem")
            shutil.copy(key_file(tmp), tls_dir / "key.pem")
            shutil.copy(self.oc.ca_cert, tls_dir / "ca.pem")
            shutil.rmtree(tmp)

    def reenroll(self, dest: Path, name: str, hosts: list[str]) -> None:
        """Renew the certificate in dest/msp (and dest/tls when present) with new keys, before expiry.

        The current certificate authenticates the request. The new files are built aside and swapped in
        only once complete, so a failure leaves the identity as it was.
        """
        msp, work = dest / "msp", dest / ".renew"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(msp, work / "msp")
        args = [
            "-u",
            f"https://{self.url_host}",
            "--csr.hosts",
            ",".join(hosts),
            "--csr.names",
            self.csr_names,
        ]
        old = {p.name for p in (msp / "keystore").iterdir()}
        self._ca(
            "reenroll",
            "--mspdir",
            str(work / "msp"),
            *args,
            home=dest / ".ca-client",
            what=f"reenroll {name}",
        )
        for k in (work / "msp" / "keystore").iterdir():
            if k.name in old:
                k.unlink()
        _normalise_msp(work / "msp", self.oc.ca_cert)
        if (dest / "tls").is_dir():
            shutil.copytree(work / "msp", work / "tlsmsp")
            ecert_key = {p.name for p in (work / "msp" / "keystore").iterdir()}
            self._ca(
                "reenroll",
                "--mspdir",
                str(work / "tlsmsp"),
                "--enrollment.profile",
                "tls",
                *args,
                home=dest / ".ca-client",
                what=f"reenroll TLS {name}",
            )
            (work / "tls").mkdir()
            shutil.copy(work / "tlsmsp" / "signcerts" / "cert.pem", work / "tls" / "cert.pem")
            new_key = [k for k in (work / "tlsmsp" / "keystore").iterdir() if k.name not in ecert_key]
            shutil.copy(new_key[0], work / "tls" / "key.pem")
            shutil.copy(self.oc.ca_cert, work / "tls" / "ca.pem")
        for sub in ("msp", "tls"):
            if (work / sub).is_dir():
                (dest / sub).rename(work / f"old-{sub}")
                (work / sub).rename(dest / sub)
        shutil.rmtree(work)

    def build_org_msp(self) -> None:
        msp = self.oc.msp
        for sub in ("cacerts", "tlscacerts"):
            (msp / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(self.oc.ca_cert, msp / sub / "ca.pem")
        (msp / "config.yaml").write_text(NODE_OUS)

    def enroll_all(self) -> None:
        """Issue every identity of the org (idempotent: skipped once done)."""
        if self.oc.done_marker.exists():
            return
        self.enroll_registrar()
        self.build_org_msp()
        org = self.org
        nodes: list[tuple[str, str]] = []
        if org.peer:
            nodes.append((topology.peer_name(org), "peer"))
        nodes += [
            (topology.orderer_name(i), "orderer") for i in topology.orderers_of(org, self.settings.ordering)
        ]
        for name, id_type in nodes:
            secret = self.register(name, id_type)
            self.enroll(name, secret, self.oc.node(name), self.settings.hosts.sans(name), tls=True)
        for user in org.users:
            id_type = "admin" if user.admin else "client"
            secret = self.register(user.name, id_type, attrs=f"role={user.role}:ecert")
            self.enroll(
                user.name, secret, self.oc.user(user.name), [topology.HOST, "localhost"], tls=user.admin
            )
        self.oc.done_marker.write_text("ok\n")
        log.info("issued identities for %s", org.name)


def _normalise_msp(msp: Path, ca_cert: Path) -> None:
    """cacerts/ca.pem + NodeOUs config.yaml, so every MSP folder has the same shape."""
    cacerts = msp / "cacerts"
    for f in cacerts.iterdir():
        f.unlink()
    shutil.copy(ca_cert, cacerts / "ca.pem")
    (msp / "config.yaml").write_text(NODE_OUS)
    shutil.rmtree(msp / "user", ignore_errors=True)
