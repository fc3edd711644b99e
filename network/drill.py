"""The disaster-recovery drill (issue 18): one org's whole site lost and rebuilt on the real network.

The org's site is what only it holds: its peer (process and ledger folder), its fabric-ca (process,
database, keys), its crypto folder (org MSP, the peer's MSP and TLS key pairs, admin, registrar and
service identities, the CA's bootstrap secret), its gateway's data folder (users, API keys, idempotency
records, QR store, document keys, read model) and its IPFS node's repo (the network runs one shared kubo,
so the drill gives the org's gateway a kubo of its own, as each org runs its own in production).

:func:`run_drill` writes state through the org's gateway, backs the site up (``app.ops.backup``, once or
on a schedule), writes more (the off-chain writes the drill expects to lose), destroys the site while
another org keeps registering vehicles, then rebuilds it: kubo empty, ``ops restore`` of the newest
archive (gateway state, CA home, crypto folder, IPFS pins from CAR files), the CA restarted on its
restored home, the peer joined from a snapshot of another org's peer (its chaincode packages installed
again) and caught up, the gateway started on the restored folder. RTO = destroy → the site serving (the
peer at the channel's height and a login answered). Then it collects the facts the test asserts and the
bench prints. Shared by ``tests/integration/test_dr_drill.py`` and ``scripts/bench/dr_drill.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from app.main import create_app
from app.ops.backup import BackupSources
from app.ops.backup_crypto import new_key
from app.ops.restore import RestoreTargets, restore
from app.ops.schedule import Run, run_schedule
from app.readmodel.queries import SearchFilter, search
from app.settings import Settings as GatewaySettings
from app.users.provision import provision_user
from app.users.roles import Role
from chaincode.mortgage.vin import with_check_digit
from ipfs.orgkeys import OrgKeys
from network import ca, channel, peercli, snapshots, topology
from network.errors import NetworkError
from network.fixture import FabricNetworkInfo

log = logging.getLogger(__name__)

CC = "mortgage"
TA, REGULATOR = "TrafficAuthorityMSP", "RegulatorMSP"
KUBO_PORT_OFFSET = 957  # the site's own kubo: base + 957 (RPC) and + 958 (its HTTP gateway)


@dataclass(frozen=True)
class Site:
    """Where one org's site lives on this host."""

    org: topology.Org
    work: Path  # the drill's folder: the site's gateway and kubo, the archives, the consortium's files
    crypto_dir: Path
    ca_home: Path
    peer_dir: Path

    @property
    def peer(self) -> str:
        return topology.peer_name(self.org)

    @property
    def ca_node(self) -> str:
        return topology.ca_name(self.org)

    @property
    def gateway_dir(self) -> Path:
        return self.work / "site" / "gateway"

    @property
    def kubo_repo(self) -> Path:
        return self.work / "site" / "kubo"

    @property
    def archives(self) -> Path:
        return self.work / "backups"  # off site

    @property
    def key_file(self) -> Path:
        return self.work / "backup.key"  # off site, with the operators

    @property
    def public_keys(self) -> Path:
        return self.work / "consortium" / "document-public-keys"  # the consortium's shared folder


def site_of(info: FabricNetworkInfo, org: str, work: Path) -> Site:
    o = topology.org(org, info.network.orgs())
    s = info.network.settings
    oc = ca.org_crypto(s, o)
    return Site(o, work, oc.root, oc.ca_home, s.nodes_dir / topology.peer_name(o))


class SiteKubo:
    """The org's own kubo (offline: its gateway is its only client), repo under the site folder."""

    def __init__(self, info: FabricNetworkInfo, repo: Path) -> None:
        s = info.network.settings
        self.binary = str(s.kubo_bin)
        self.repo = repo
        self.port = s.base_port + KUBO_PORT_OFFSET
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        return {**os.environ, "IPFS_PATH": str(self.repo), "IPFS_TELEMETRY": "off"}

    def start(self) -> None:
        if not (self.repo / "config").exists():
            self.repo.mkdir(parents=True, exist_ok=True)
            init = subprocess.run(
                [self.binary, "init", "--empty-repo", "--profile", "server"],
                env=self._env(),
                capture_output=True,
                text=True,
                check=False,
            )
            if init.returncode != 0:
                raise NetworkError(f"ipfs init of the site's kubo: {init.stderr.strip()}", log=None)
            cfg = json.loads((self.repo / "config").read_text())
            cfg["Addresses"].update(
                {
                    "API": f"/ip4/127.0.0.1/tcp/{self.port}",
                    "Gateway": f"/ip4/127.0.0.1/tcp/{self.port + 1}",
                    "Swarm": [],
                }
            )
            cfg["Bootstrap"] = []
            (self.repo / "config").write_text(json.dumps(cfg))
        logf = (self.repo.parent / "kubo.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "daemon", "--offline"], env=self._env(), stdout=logf, stderr=subprocess.STDOUT
        )
        logf.close()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise NetworkError(f"the site's kubo exited: see {self.repo.parent / 'kubo.log'}", log=None)
            try:
                if httpx.post(f"{self.url}/api/v0/id", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise NetworkError(f"the site's kubo did not answer on {self.url}", log=None)
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


@dataclass
class Write:
    """One off-chain write through the org's gateway, and whether it came back after the restore."""

    kind: str  # "user" | "api_key"
    label: str
    at: float  # time.monotonic() when it was acknowledged
    check: Callable[[TestClient], bool] = field(repr=False)
    survived: bool | None = None


@dataclass
class Report:
    org: str
    backup_every: float | None  # seconds; None: one backup
    backups: int
    archive: str
    archive_bytes: int
    ipfs_pins_restored: int
    backup_seconds: float
    height_at_destroy: int
    outage_commits: int  # registrations the other orgs committed while the site was down
    outage_refused: int  # by status: a busy machine times out some (the others retry in production)
    outage_refused_by_status: dict[str, int]
    snapshot_peer: str
    snapshot_height: int
    channel_height: int  # the others' height when the rebuilt peer was checked
    rebuilt_height: int
    outage_vins_checked: int  # the first and the last vehicle the others registered meanwhile
    outage_vins_on_rebuilt_peer: int  # of those, read back on the rebuilt peer
    rebuilt_peer_endorsed: bool  # a new registration endorsed by the rebuilt peer committed VALID
    endorsement_status: str
    ca_same_root: bool  # the restored CA's certificate is the one it had
    old_cert_verifies: bool  # a user certificate issued before the loss verifies under it
    new_user_enrolled: bool  # the restored CA registers and enrols a new user
    user_logs_in: bool
    api_key_works: bool
    document_matches_chain: bool  # downloaded, SHA-256 equal to the anchored hash and to what was sent
    replay_from_record: bool  # the same Idempotency-Key answered from the restored record (same tx)
    new_document_anchored: bool  # a document uploaded through the restored site
    writes_before_backup_lost: int  # must be 0
    writes_lost: int  # the off-chain RPO: writes acknowledged after the newest archive's snapshot
    writes_after_backup: int
    oldest_lost_write_age: float | None  # seconds before the destroy
    rpo_window: float  # destroy - the newest archive's snapshot start
    rpo_bound: float  # the schedule's worst case: interval + the longest run (one backup: the window)
    rto: float
    rto_parts: dict[str, float]
    load_average: float
    readyz: str  # the restored gateway's /readyz answer
    # the restored gateway's followers, whose checkpoints (from the archive) lie before the snapshot
    readmodel_height: int  # blocks projected (reaches the channel's height)
    outage_vins_in_readmodel: int  # of outage_vins_checked, found by the read model's search
    notifier_checkpoint_block: int | None  # the notifier's checkpoint block (past height_at_destroy)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ------------------------------------------------------------------------------- the gateway


def gateway_settings(info: FabricNetworkInfo, site: Site, kubo_url: str) -> GatewaySettings:
    return GatewaySettings(
        backend="fabric",
        orgs=[site.org.msp_id],
        data_dir=site.gateway_dir,
        network_profile=info.connection_profile(site.org.key),
        ledger_data_dir=None,
        ipfs_url=kubo_url,
        document_public_keys=site.public_keys,
    )


@contextmanager
def gateway(settings: GatewaySettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _login(client: TestClient, user: str, password: str) -> dict[str, str] | None:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": password})
    return {"Authorization": f"Bearer {r.json()['access_token']}"} if r.status_code == 200 else None


def _add_user(client: TestClient, msp: str, username: str, role: Role) -> str:
    gw = client.app.state.gw  # type: ignore[attr-defined]
    password = secrets.token_urlsafe(14)
    provision_user(gw.users, gw.enroller, msp, username, role, password)
    return password


def _api_key(client: TestClient, headers: dict[str, str], label: str) -> str:
    r = client.post("/api/v1/auth/api-keys", json={"label": label}, headers=headers)
    if r.status_code != 201:
        raise NetworkError(f"api key: {r.status_code} {r.text}", log=None)
    return str(r.json()["api_key"])


def _key_works(key: str) -> Callable[[TestClient], bool]:
    return lambda c: c.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 200


def _user_works(user: str, password: str) -> Callable[[TestClient], bool]:
    return lambda c: _login(c, user, password) is not None


# ------------------------------------------------------------------------------- other orgs


def _register(info: FabricNetworkInfo, vin: str, endorsers: list[str]) -> peercli.InvokeResult:
    """The vehicle office registers a vehicle with Fabric's own CLI, endorsed by ``endorsers``' peers."""
    salt = secrets.token_hex(8)
    owner = json.dumps({"name": f"Owner {vin[-6:]}", "id_number": f"ID-{vin}"})
    vehicle = {
        "vin": vin, "plate": f"粤{vin[2]}{vin[3:8]}{vin[-6:]}", "make": "BYD", "model": "Han", "year": 2025,
        "registration_date": "2025-06-01",
    }  # fmt: skip
    return peercli.invoke(
        info,
        CC,
        ["RegisterVehicle", json.dumps(vehicle)],
        org="TrafficAuthority",
        user="officer1",
        endorsers=endorsers,
        transient={"owner": owner, "owner_salt": salt},
    )


def _reason(result: peercli.InvokeResult) -> str:
    """A refused invoke's kind: its validation code, or the first words of the CLI's error."""
    if result.status != "ERROR":
        return result.status
    text = result.output.split("Error: ", 1)[-1]
    return " ".join(text.split()[:6])


class OtherOrgs:
    """The vehicle office keeps registering vehicles through its own and BankB's peers meanwhile."""

    def __init__(self, info: FabricNetworkInfo, run: str) -> None:
        self.info, self.run = info, run
        self.stop = threading.Event()
        self.committed: list[str] = []
        self.refused: list[str] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            vin = with_check_digit(f"LDR{self.run.upper()}{i:06d}")
            result = _register(self.info, vin, ["TrafficAuthority", "BankB"])
            (self.committed if result.ok else self.refused).append(vin if result.ok else _reason(result))

    def __enter__(self) -> OtherOrgs:
        self.thread.start()
        return self

    def wait_for_commits(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed) < n:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise NetworkError(f"the other orgs committed {len(self.committed)} of {n}", log=None)
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=120)


# ------------------------------------------------------------------------------- the site


def destroy(info: FabricNetworkInfo, site: Site, kubo: SiteKubo) -> None:
    """Stop the site's processes and remove everything it held (the gateway is already stopped)."""
    net = info.network
    net.stop_node(site.peer)
    net.stop_node(site.ca_node)
    kubo.stop()
    for path in (site.peer_dir, site.crypto_dir, site.gateway_dir, site.kubo_repo):
        shutil.rmtree(path, ignore_errors=True)
    log.info("site of %s destroyed", site.org.msp_id)


def _endorsed_by(info: FabricNetworkInfo, site: Site, run: str, tries: int = 3) -> peercli.InvokeResult:
    """A new registration endorsed by the rebuilt peer and the vehicle office's; retried on a timeout or
    an MVCC conflict of a busy machine, never on a refusal."""
    result = None
    for i in range(tries):
        vin = with_check_digit(f"LDE{run.upper()}{i + 1:06d}")
        result = _register(info, vin, [site.org.key, "TrafficAuthority"])
        if result.ok or "endorsement failure" in result.output:
            return result
    assert result is not None
    return result


def _cert_verifies(cert_pem: bytes, ca_pem: bytes) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem)
    issuer = x509.load_pem_x509_certificate(ca_pem).public_key()
    assert isinstance(issuer, ec.EllipticCurvePublicKey)
    try:
        issuer.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))  # type: ignore[arg-type]
    except Exception:
        return False
    return True


def _wait_height(info: FabricNetworkInfo, site: Site, timeout: float = 120) -> tuple[int, int]:
    """(the rebuilt peer's height, the others' height) once it reached theirs."""
    deadline = time.monotonic() + timeout
    while True:
        others = snapshots.channel_height(info.network, site.org)
        mine = channel.height(info.network.settings, site.org)
        if mine >= others or time.monotonic() > deadline:
            return mine, others
        time.sleep(0.3)


def _followers_caught_up(
    state: Any, height: int, vins: list[str], events_from: int, timeout: float = 120
) -> tuple[int, int, int | None]:
    """Wait until the restored gateway's read model holds ``height`` blocks and ``vins`` and its
    notifier's checkpoint reached block ``events_from``: (model height, vins found, checkpoint block)."""
    deadline = time.monotonic() + timeout
    while True:
        store = state.readmodel.store
        model_height = store.next_block()
        found = sum(bool(search(store, SearchFilter(vin=vin)).rows) for vin in vins)
        checkpoint = state.notifier.store.checkpoint()[0] if state.notifier is not None else None
        done = model_height >= height and found == len(vins) and (checkpoint or -1) >= events_from
        if done or time.monotonic() > deadline:
            return model_height, found, checkpoint
        time.sleep(0.5)


def _newest(runs: list[Run]) -> Run:
    ok = [r for r in runs if r.result is not None]
    if not ok:
        raise NetworkError("no backup run succeeded: " + "; ".join(str(r.error) for r in runs), log=None)
    return ok[-1]


def run_drill(
    info: FabricNetworkInfo,
    work: Path,
    *,
    org: str = "BankA",
    backup_every: float | None = None,
    writes_window: float = 0.0,
    write_gap: float = 1.0,
    echo: Callable[[str], None] = lambda _m: None,
) -> Report:
    """The whole drill. ``backup_every`` (seconds): scheduled backups while API keys are created every
    ``write_gap`` seconds for ``writes_window`` seconds; None: one backup, then a user and an API key."""
    site = site_of(info, org, work)
    net = info.network
    run = secrets.token_hex(4)  # 8 characters: a VIN is 3 + 8 + 6
    msp = site.org.msp_id
    work.mkdir(parents=True, exist_ok=True)
    if not site.key_file.exists():
        new_key(site.key_file)
    OrgKeys.load_or_create(work / "consortium" / "other-orgs-keys", [TA, REGULATOR], site.public_keys)
    kubo = SiteKubo(info, site.kubo_repo)
    kubo.start()
    settings = gateway_settings(info, site, kubo.url)
    sources = BackupSources(
        msp, gateway_dir=site.gateway_dir, ca_dir=site.ca_home, crypto_dir=site.crypto_dir, ipfs_url=kubo.url
    )
    writes: list[Write] = []
    content = f"mortgage contract {run} ".encode() * 2000
    doc_id = f"DOC-DR-{run}"
    upload = {"doc_type": "mortgage_contract", "document_id": doc_id}
    ca_pem_before = (site.ca_home / "ca-cert.pem").read_bytes()
    try:
        with gateway(settings) as client:
            # --- state the backup must bring back -------------------------------------------------
            user = f"loan-dr-{run}@{msp}"
            password = _add_user(client, msp, f"loan-dr-{run}", Role.loan_officer)
            headers = _login(client, user, password)
            assert headers is not None
            key = _api_key(client, headers, "before backup")
            writes.append(Write("user", user, time.monotonic(), _user_works(user, password)))
            writes.append(Write("api_key", "before backup", time.monotonic(), _key_works(key)))
            idem = {**headers, "Idempotency-Key": f"dr-{run}"}
            up = client.post(
                "/api/v1/documents", headers=idem, data=upload, files={"file": ("c.pdf", content)}
            )
            if up.status_code != 201:
                raise NetworkError(f"document upload: {up.status_code} {up.text}", log=None)
            anchored_tx = up.json()["tx_id"]
            wallet_cert = next(  # the user's certificate, issued by the CA before the loss
                (site.gateway_dir / "wallet" / msp / f"loan-dr-{run}" / "msp" / "signcerts").glob("*.pem")
            )
            old_cert = wallet_cert.read_bytes()
            # --- backups, and the writes after them ----------------------------------------------
            stop = threading.Event()
            runs: list[Run] = []
            if backup_every is None:
                runs = run_schedule(sources, site.archives, site.key_file, every=1, keep=3, stop=stop, runs=1)
                late_user = f"late-dr-{run}"
                late_password = _add_user(client, msp, late_user, Role.loan_officer)
                writes.append(
                    Write(
                        "user", late_user, time.monotonic(), _user_works(f"{late_user}@{msp}", late_password)
                    )
                )
                late_key = _api_key(client, headers, "after backup")
                writes.append(Write("api_key", "after backup", time.monotonic(), _key_works(late_key)))
            else:
                scheduler = threading.Thread(
                    target=lambda: runs.extend(
                        run_schedule(
                            sources, site.archives, site.key_file, every=backup_every, keep=3, stop=stop
                        )
                    ),
                    daemon=True,
                )
                scheduler.start()
                end = time.monotonic() + writes_window
                i = 0
                while time.monotonic() < end:
                    i += 1
                    k = _api_key(client, headers, f"key {i}")
                    writes.append(Write("api_key", f"key {i}", time.monotonic(), _key_works(k)))
                    time.sleep(write_gap)
                stop.set()
                scheduler.join(timeout=300)
            newest = _newest(runs)
            assert newest.result is not None
            echo(f"backups: {len([r for r in runs if r.result])}, newest {newest.result.path.name}")
        # --- the disaster ---------------------------------------------------------------------------
        height_at_destroy = snapshots.channel_height(net, site.org)
        with OtherOrgs(info, run) as others:
            t_destroy = time.monotonic()
            destroy(info, site, kubo)
            parts: dict[str, float] = {"destroy": time.monotonic() - t_destroy}
            echo(f"site of {msp} destroyed at height {height_at_destroy}")
            # a registration committed while the site is down lies below the snapshot taken next: the
            # restored read model and notifier must read it from another org's peer (not counted in the
            # RTO: a real outage lasts longer anyway)
            t = time.monotonic()
            others.wait_for_commits(1)
            outage_wait = time.monotonic() - t
            # --- the rebuild ----------------------------------------------------------------------
            t = time.monotonic()
            kubo.start()
            parts["kubo"] = time.monotonic() - t
            t = time.monotonic()
            targets = RestoreTargets(
                site.gateway_dir, ipfs_url=kubo.url, ca_dir=site.ca_home, crypto_dir=site.crypto_dir
            )
            restored = restore(newest.result.path, site.key_file, targets)
            parts["restore"] = time.monotonic() - t
            t = time.monotonic()
            net.start_node(site.ca_node)
            parts["ca"] = time.monotonic() - t
            t = time.monotonic()
            source = "peer0.bankb"
            snap = snapshots.take(net, source)
            parts["snapshot"] = time.monotonic() - t
            t = time.monotonic()
            rebuilt = snapshots.rebuild(net, site.peer, snap.path)
            parts["peer"] = time.monotonic() - t
            t = time.monotonic()
            with gateway(settings) as client:
                serving = _login(client, user, password) is not None
                parts["gateway"] = time.monotonic() - t
                rto = time.monotonic() - t_destroy - outage_wait
                down_commits = len(others.committed)  # committed while the site was down
                echo(f"site serving again after {rto:.1f} s: {parts}")
            others.wait_for_commits(max(1, down_commits))
        return _check(
            info, site, settings, runs, newest, writes, restored.ipfs_pins, others,
            facts={
                "run": run, "user": user, "password": password, "key": key, "doc_id": doc_id,
                "content": content, "upload": upload, "anchored_tx": anchored_tx, "old_cert": old_cert,
                "ca_pem_before": ca_pem_before, "t_destroy": t_destroy,
                "height_at_destroy": height_at_destroy,
                "snap": snap, "rebuilt": rebuilt, "source": source, "serving": serving, "rto": rto,
                "parts": parts, "backup_every": backup_every, "down_commits": down_commits,
            },
        )  # fmt: skip
    finally:
        kubo.stop()


def _check(
    info: FabricNetworkInfo,
    site: Site,
    settings: GatewaySettings,
    runs: list[Run],
    newest: Run,
    writes: list[Write],
    pins: int,
    others: OtherOrgs,
    facts: dict[str, Any],
) -> Report:
    f = facts
    msp = site.org.msp_id
    rebuilt_height, channel_height = _wait_height(info, site)
    on_rebuilt = 0
    sample = list(dict.fromkeys([others.committed[0], others.committed[-1]]))  # before / after the snapshot
    for vin in sample:
        try:
            got = json.loads(peercli.query(info, CC, ["GetVehicle", vin], org=site.org.key, user="auditor1"))
            on_rebuilt += got.get("vin") == vin
        except NetworkError:
            pass
    endorsed = _endorsed_by(info, site, f["run"])
    ca_pem = (site.ca_home / "ca-cert.pem").read_bytes()
    with gateway(settings) as client:
        headers = _login(client, f["user"], f["password"])  # logins are rate-limited per account: once
        assert headers is not None
        for w in writes:
            w.survived = headers is not None if w.label == f["user"] else w.check(client)
        key_ok = _key_works(f["key"])(client)
        down = client.get(f"/api/v1/documents/{f['doc_id']}/content", headers=headers)
        anchor = client.get(f"/api/v1/documents/{f['doc_id']}", headers=headers)
        doc_ok = (
            down.status_code == 200
            and anchor.status_code == 200
            and hashlib.sha256(down.content).hexdigest() == anchor.json()["sha256"]
            and down.content == f["content"]
        )
        replay = client.post(
            "/api/v1/documents",
            headers={**headers, "Idempotency-Key": f"dr-{f['run']}"},
            data=f["upload"],
            files={"file": ("c.pdf", f["content"])},
        )
        replay_ok = replay.status_code == 201 and replay.json()["tx_id"] == f["anchored_tx"]
        fresh = client.post(
            "/api/v1/documents",
            headers=headers,
            data={"doc_type": "mortgage_contract"},
            files={"file": ("n.pdf", b"after the rebuild " + f["run"].encode())},
        )
        new_user_ok = False
        try:
            pw = _add_user(client, msp, f"new-dr-{f['run']}", Role.loan_officer)
            new_user_ok = _login(client, f"new-dr-{f['run']}@{msp}", pw) is not None
        except Exception as exc:  # reported as a fact, asserted by the test
            log.warning("new user at the restored CA failed: %s", exc)
        model_height, in_model, notifier_block = _followers_caught_up(
            client.app.state.gw,  # type: ignore[attr-defined]
            channel_height,
            sample,
            f["height_at_destroy"],
        )
        readyz = client.get("/readyz").text[:600]
    assert newest.result is not None
    lost = [w for w in writes if not w.survived]
    before = [w for w in writes if w.at < newest.started]
    after = [w for w in writes if w.at >= newest.started]
    ok_runs = [r for r in runs if r.result is not None]
    longest = max(r.finished - r.started for r in ok_runs)
    every = f["backup_every"]
    window = f["t_destroy"] - newest.started
    return Report(
        org=msp,
        backup_every=every,
        backups=len(ok_runs),
        archive=newest.result.path.name,
        archive_bytes=newest.result.size,
        ipfs_pins_restored=pins,
        backup_seconds=newest.result.seconds,
        height_at_destroy=f["height_at_destroy"],
        outage_commits=f["down_commits"],
        outage_refused=len(others.refused),
        outage_refused_by_status=dict(Counter(others.refused)),
        snapshot_peer=f["source"],
        snapshot_height=f["snap"].height,
        channel_height=channel_height,
        rebuilt_height=rebuilt_height,
        outage_vins_checked=len(sample),
        outage_vins_on_rebuilt_peer=on_rebuilt,
        rebuilt_peer_endorsed=endorsed.ok,
        endorsement_status=endorsed.status if endorsed.ok else endorsed.output[-300:],
        ca_same_root=ca_pem == f["ca_pem_before"],
        old_cert_verifies=_cert_verifies(f["old_cert"], ca_pem),
        new_user_enrolled=new_user_ok,
        user_logs_in=f["serving"],
        api_key_works=key_ok,
        document_matches_chain=doc_ok,
        replay_from_record=replay_ok,
        new_document_anchored=fresh.status_code == 201,
        writes_before_backup_lost=len([w for w in before if not w.survived]),
        writes_lost=len(lost),
        writes_after_backup=len(after),
        oldest_lost_write_age=(f["t_destroy"] - min(w.at for w in lost)) if lost else None,
        rpo_window=window,
        rpo_bound=(every + longest) if every else window,
        rto=f["rto"],
        rto_parts=f["parts"],
        load_average=os.getloadavg()[0],
        readyz=readyz,
        readmodel_height=model_height,
        outage_vins_in_readmodel=in_model,
        notifier_checkpoint_block=notifier_block,
    )
