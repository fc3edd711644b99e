"""Chaincode-as-a-service lifecycle: deterministic packaging, install, approve, commit, server process.

The package holds only connection.json, so its bytes (and package ID) change only when the chaincode
server's address changes. The definition's `version` is a fingerprint of policy + collections + package
ID: when any of them changes, the next `up` approves and commits a new sequence.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import logging
import sys
import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaincode import consortium
from network import ccaas_tls, orgset, topology
from network.config import admin_cli_env, orderer_tls_ca
from network.errors import NetworkError
from network.process import ProcessTable, port_open, run, wait_until
from network.settings import PACKAGE_DIR, REPO_ROOT, Settings
from network.topology import CHANNEL

log = logging.getLogger(__name__)

CHAINCODES_FILE = PACKAGE_DIR / "chaincodes.yaml"
SERVER_MODULE = "chaincode.runtime.server"


@dataclass(frozen=True)
class ChaincodeSpec:
    name: str
    contracts: tuple[str, ...]
    policy: str
    collections: Path
    slot: int

    @property
    def modules(self) -> list[str]:
        return [c.split(":", 1)[0] for c in self.contracts]

    def missing_modules(self) -> list[str]:
        return [m for m in self.modules if not _module_exists(m)]

    def server_name(self) -> str:
        return f"cc.{self.name}"


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def load_specs(
    path: Path = CHAINCODES_FILE, default_policy: str = consortium.ENDORSEMENT_POLICY
) -> list[ChaincodeSpec]:
    """The declared chaincodes; an entry without `policy` gets `default_policy` (a running network's:
    network.orgset.endorsement_policy, which names the orgs `org add` admitted too)."""
    raw = yaml.safe_load(path.read_text())
    out = []
    for item in raw["chaincodes"]:
        for key in ("name", "contracts", "collections", "slot"):
            if key not in item:
                raise ValueError(f"{path}: chaincode entry {item.get('name', '?')!r} lacks {key!r}")
        policy = item.get("policy") or default_policy
        out.append(
            ChaincodeSpec(
                item["name"],
                tuple(item["contracts"]),
                policy,
                REPO_ROOT / item["collections"],
                int(item["slot"]),
            )
        )
    return out


def _tar_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """A tar.gz of the files with fixed metadata (mtime 0, root owner, 0644), in the given order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def package_ccaas(label: str, address: str, *, tls_required: bool = True, client_auth: bool = True) -> bytes:
    """Deterministic chaincode-as-a-service package: same inputs, same bytes, same package ID.

    Mutual TLS by default: the peer's external builder adds the PEMs at release (network.ccaas_tls).
    """
    connection: dict[str, Any] = {"address": address, "dial_timeout": "10s", "tls_required": tls_required}
    if tls_required:
        connection["client_auth_required"] = client_auth
    code = _tar_bytes([("connection.json", json.dumps(connection, sort_keys=True).encode())])
    metadata = json.dumps({"label": label, "type": "ccaas"}, sort_keys=True).encode()
    return _tar_bytes([("metadata.json", metadata), ("code.tar.gz", code)])


def package_id(label: str, package: bytes) -> str:
    """Fabric's package ID: `<label>:<hex sha256 of the package bytes>`."""
    return f"{label}:{hashlib.sha256(package).hexdigest()}"


@dataclass(frozen=True)
class Deployment:
    spec: ChaincodeSpec
    package_path: Path
    package_id: str
    address: str
    version: str


def prepare(settings: Settings, spec: ChaincodeSpec) -> Deployment:
    address = f"{settings.hosts.advertise(spec.server_name())}:{settings.ports.chaincode(spec.slot)}"
    label = f"{spec.name}_ccaas"
    pkg = package_ccaas(label, address)
    path = settings.data_dir / "chaincode" / f"{spec.name}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pkg)
    pid = package_id(label, pkg)
    if not spec.collections.exists():
        raise NetworkError(f"chaincode {spec.name}: collections config {spec.collections} does not exist")
    fp = hashlib.sha256()
    fp.update(spec.policy.encode())
    fp.update(b"\0" + _canonical_json(spec.collections) + b"\0" + pid.encode())
    return Deployment(spec, path, pid, address, "v-" + fp.hexdigest()[:16])


def _canonical_json(path: Path) -> bytes:
    try:
        return json.dumps(json.loads(path.read_text()), sort_keys=True).encode()
    except json.JSONDecodeError as exc:
        raise NetworkError(f"{path}: not valid JSON: {exc}") from exc


def _peer(settings: Settings) -> str:
    return str(settings.binary("peer"))


def _orderer_args(settings: Settings) -> list[str]:
    orderer = f"{settings.hosts.dial(topology.orderer_name(0))}:{settings.ports.orderer(0)}"
    return ["-o", orderer, "--tls", "--cafile", str(orderer_tls_ca(settings))]


def query_committed(settings: Settings, name: str) -> dict[str, Any] | None:
    org = topology.peer_orgs()[0]
    try:
        out = run(
            [
                _peer(settings),
                "lifecycle",
                "chaincode",
                "querycommitted",
                "-C",
                CHANNEL,
                "-n",
                name,
                "-O",
                "json",
            ],
            env=admin_cli_env(settings, org),
            what=f"querycommitted {name}",
        )
    except NetworkError as exc:
        if "not found" in str(exc) or "404" in str(exc):
            return None
        raise
    return json.loads(out[out.index("{") :])


def query_all_committed(settings: Settings, org: topology.Org | None = None) -> list[dict[str, Any]]:
    org = org or topology.peer_orgs()[0]
    out = run(
        [_peer(settings), "lifecycle", "chaincode", "querycommitted", "-C", CHANNEL, "-O", "json"],
        env=admin_cli_env(settings, org),
        what="querycommitted",
    )
    data = json.loads(out[out.index("{") :]) if "{" in out else {}
    return list(data.get("chaincode_definitions", []) or [])


def _installed(settings: Settings, org: topology.Org) -> set[str]:
    out = run(
        [_peer(settings), "lifecycle", "chaincode", "queryinstalled", "-O", "json"],
        env=admin_cli_env(settings, org),
        what=f"queryinstalled on {topology.peer_name(org)}",
    )
    if "{" not in out:
        return set()
    data = json.loads(out[out.index("{") :])
    return {c["package_id"] for c in data.get("installed_chaincodes", []) or []}


def install_packages(settings: Settings, org: topology.Org) -> list[str]:
    """Install every declared chaincode's package on the org's peer where missing (a peer whose site was
    lost comes back without them; the definitions and the org's approvals are on the channel already).
    Returns the names installed now."""
    done: list[str] = []
    installed = _installed(settings, org)
    for spec in load_specs(default_policy=orgset.endorsement_policy(settings)):
        if spec.missing_modules():
            continue
        dep = prepare(settings, spec)
        if dep.package_id not in installed:
            run(
                [_peer(settings), "lifecycle", "chaincode", "install", str(dep.package_path)],
                env=admin_cli_env(settings, org),
                what=f"install {spec.name} on {topology.peer_name(org)}",
                timeout=120,
            )
            done.append(spec.name)
    return done


def deploy(settings: Settings, dep: Deployment) -> int:
    """Install on every peer, approve for every peer org, commit; return the committed sequence."""
    spec = dep.spec
    committed = query_committed(settings, spec.name)
    if committed and committed.get("version") == dep.version:
        log.info("chaincode %s already committed at sequence %s", spec.name, committed["sequence"])
        return int(committed["sequence"])
    sequence = int(committed["sequence"]) + 1 if committed else 1
    orgs = topology.peer_orgs(orgset.orgs(settings))

    def install(org: topology.Org) -> None:
        if dep.package_id not in _installed(settings, org):
            run(
                [_peer(settings), "lifecycle", "chaincode", "install", str(dep.package_path)],
                env=admin_cli_env(settings, org),
                what=f"install {spec.name} on {topology.peer_name(org)}",
                timeout=120,
            )

    _parallel(install, orgs)
    definition = definition_args(spec.name, dep.version, sequence, spec.policy, spec.collections)
    readiness = run(
        [_peer(settings), "lifecycle", "chaincode", "checkcommitreadiness", *definition, "-O", "json"],
        env=admin_cli_env(settings, orgs[0]),
        what=f"checkcommitreadiness {spec.name}",
    )
    approved = json.loads(readiness[readiness.index("{") :]).get("approvals", {})

    def approve(org: topology.Org) -> None:
        approve_for_org(settings, org, definition, dep.package_id)

    _parallel(approve, [o for o in orgs if not approved.get(o.msp_id)])
    peers: list[str] = []
    for org in orgs:
        peer_address = f"{settings.hosts.dial(topology.peer_name(org))}:{settings.ports.peer(org)}"
        peers += [
            "--peerAddresses",
            peer_address,
            "--tlsRootCertFiles",
            admin_cli_env(settings, org)["CORE_PEER_TLS_ROOTCERT_FILE"],
        ]
    run(
        [_peer(settings), "lifecycle", "chaincode", "commit", *_orderer_args(settings), *definition, *peers],
        env=admin_cli_env(settings, orgs[0]),
        what=f"commit {spec.name}",
        timeout=120,
    )
    log.info("committed chaincode %s sequence %s (%s)", spec.name, sequence, dep.version)
    return sequence


def definition_args(name: str, version: str, sequence: int, policy: str, collections: Path) -> list[str]:
    """The `peer lifecycle chaincode` arguments naming one chaincode definition on the channel."""
    return [
        "-C",
        CHANNEL,
        "-n",
        name,
        "-v",
        version,
        "--sequence",
        str(sequence),
        "--signature-policy",
        policy,
        "--collections-config",
        str(collections),
    ]


def approve_for_org(settings: Settings, org: topology.Org, definition: list[str], package_id: str) -> None:
    """`approveformyorg` as the org's admin (a transaction of the org's implicit collection)."""
    name = definition[definition.index("-n") + 1]
    run(
        [
            _peer(settings),
            "lifecycle",
            "chaincode",
            "approveformyorg",
            *_orderer_args(settings),
            *definition,
            "--package-id",
            package_id,
        ],
        env=admin_cli_env(settings, org),
        what=f"approve {name} for {org.msp_id}",
        timeout=120,
    )


def query_approved(settings: Settings, org: topology.Org, name: str, sequence: int) -> dict[str, Any] | None:
    """The definition `org` approved for `name` at `sequence` (its own peer answers), None if none."""
    try:
        out = run(
            [
                _peer(settings),
                "lifecycle",
                "chaincode",
                "queryapproved",
                "-C",
                CHANNEL,
                "-n",
                name,
                "--sequence",
                str(sequence),
                "-O",
                "json",
            ],
            env=admin_cli_env(settings, org),
            what=f"queryapproved {name} for {org.msp_id}",
        )
    except NetworkError as exc:
        if "could not fetch approved chaincode definition" in str(exc):
            return None
        raise
    return dict(json.loads(out[out.index("{") :]))


def source_fingerprint() -> str:
    """Hash of every Python/JSON file under chaincode/: a server older than this runs stale code."""
    h = hashlib.sha256()
    root = REPO_ROOT / "chaincode"
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _parallel(fn: Callable[[topology.Org], None], orgs: list[topology.Org]) -> None:
    """Run one CLI call per org concurrently; re-raise the first failure."""
    if not orgs:
        return
    with ThreadPoolExecutor(max_workers=len(orgs)) as pool:
        for fut in [pool.submit(fn, o) for o in orgs]:
            fut.result()


def server_available() -> bool:
    return _module_exists(SERVER_MODULE)


def start_server(settings: Settings, procs: ProcessTable, dep: Deployment) -> None:
    """(Re)start the chaincode server process from the current source with its package ID."""
    name = dep.spec.server_name()
    procs.stop(name)
    port = settings.ports.chaincode(dep.spec.slot)
    listen = f"{settings.hosts.bind(name)}:{port}"
    argv = [sys.executable, "-m", SERVER_MODULE, "--chaincode-id", dep.package_id, "--address", listen]
    for c in dep.spec.contracts:
        argv += ["--contract", c]
    ccaas_tls.ensure_server_identity(settings, name)
    ccaas_tls.client_ca_bundle(settings)
    env = {"PYTHONPATH": str(REPO_ROOT), "CHAINCODE_ID": dep.package_id}
    added = [
        {"key": o.key, "name": o.name, "msp_id": o.msp_id, "kind": o.kind} for o in orgset.added(settings)
    ]
    if added:  # banks `org add` admitted: the access table grants their members a bank's roles
        env[consortium.ADDED_ORGS_ENV] = json.dumps(added)
    env.update(ccaas_tls.server_env(settings, name))  # mutual TLS: its key pair, the peers' TLS CAs
    logf = settings.log_file(name)
    proc = procs.start(
        name,
        argv,
        env=env,
        log_path=logf,
        ports={"listen": port},
        cwd=REPO_ROOT,
        meta={"source": source_fingerprint(), "package_id": dep.package_id},
    )
    dial = settings.hosts.dial(name)
    wait_until(
        lambda: port_open(port, dial),
        timeout=30,
        what=f"listening on {listen}",
        node=name,
        port=port,
        log_path=logf,
        proc=proc,
    )
