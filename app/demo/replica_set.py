"""Two `mledger serve` replicas of one org on the real network, sharing one PostgreSQL, behind HAProxy:
the processes and clients the replica tests (test_gateway_replicas.py) and the replicas benchmark
(scripts/bench/api_cost.py --replicas) share.

Each replica is a process of its own (`python -c "from app.cli import main; main()" serve`, this
checkout's code) with its own data dir; what the replicas must share comes from the environment, never
the command line: the store (``MLEDGER_STORE_URL`` + ``MLEDGER_STORE_PASSWORD_FILE``), the wallet of
enrolled identities (``MLEDGER_WALLET``), the token key (``MLEDGER_TOKEN_SECRET``) and the consortium's
document public keys. HAProxy is the one proxy address the gateways trust for X-Forwarded-For.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.ops.local_haproxy import HaproxyServer
from app.store.local_postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]  # the checkout (app/demo/replica_set.py)
ORG = "TrafficAuthorityMSP"  # the org that registers vehicles


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ReplicaSet:
    root: Path
    postgres: PostgresServer
    store_url: str
    profile: Path
    kubo_url: str | None
    token_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    replicas: list[Replica] = field(default_factory=list)
    proxy: HaproxyServer | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def wallet(self) -> Path:
        return self.root / "wallet"

    def settings_env(self) -> dict[str, str]:
        """The environment every replica (and the provisioning CLI) shares; no secret in it but the
        token key, which a deployment would mount as a secret too."""
        return {
            "MLEDGER_BACKEND": "fabric",
            "MLEDGER_ORGS": ORG,
            "MLEDGER_NETWORK_PROFILE": str(self.profile),
            "MLEDGER_WALLET": str(self.wallet),
            "MLEDGER_STORE_URL": self.store_url,
            "MLEDGER_STORE_PASSWORD_FILE": str(self.postgres.password_file),
            "MLEDGER_TOKEN_SECRET": self.token_secret,
            "MLEDGER_DOCUMENT_PUBLIC_KEYS": str(self.root / "document-public-keys"),
            "MLEDGER_TRUSTED_PROXIES": "127.0.0.1",
            **({"MLEDGER_IPFS_URL": self.kubo_url} if self.kubo_url else {}),
            **self.extra_env,
        }

    def settings(self, data_dir: Path) -> Any:
        from app.settings import Settings

        saved = dict(os.environ)
        try:
            os.environ.update({**self.settings_env(), "MLEDGER_DATA_DIR": str(data_dir)})
            return Settings()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def add_user(self, username: str, role: str, password: str) -> None:
        """Create the user in the shared store and enrol it with the org's CA into the shared wallet."""
        from app.main import build_enroller
        from app.store.config import open_component
        from app.users.provision import provision_user
        from app.users.roles import Role
        from app.users.store import UserStore

        settings = self.settings(self.root / "setup")
        store = UserStore(open_component(settings, settings.users_db))
        user = provision_user(store, build_enroller(settings), ORG, username, Role(role), password)
        assert user.enrolled

    def start_replica(self, replica: Replica) -> None:
        log = (self.root / f"{replica.name}.log").open("ab")
        replica.proc = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", str(replica.port)],
            cwd=ROOT,
            env={**os.environ, **self.settings_env(), "MLEDGER_DATA_DIR": str(replica.data_dir)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(f"{replica.url}/readyz", replica.proc, self.root / f"{replica.name}.log")

    def start(self, count: int = 2) -> None:
        self.replicas = [
            Replica(f"replica{n}", free_port(), self.root / f"replica{n}") for n in range(1, count + 1)
        ]
        first = self.replicas[0]
        self.start_replica(first)  # first alone: it enrols the shared qr-scanner and makes the org's keys
        for replica in self.replicas[1:]:
            # the org's document keys are one key pair per org: the other replicas get a copy
            shutil.copytree(first.data_dir / "keys", replica.data_dir / "keys")
            self.start_replica(replica)
        self.proxy = HaproxyServer(
            self.root / "haproxy", free_port(), [f"127.0.0.1:{r.port}" for r in self.replicas]
        )
        self.proxy.start()
        deadline = time.monotonic() + 30
        while set(self.proxy.servers_state().values()) != {"UP"}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy does not see every replica up: {self.proxy.servers_state()}")
            time.sleep(0.2)

    def kill(self, replica: Replica) -> None:
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for replica in self.replicas:
            if replica.proc is not None and replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGINT)
        for replica in self.replicas:
            if replica.proc is None:
                continue
            try:
                replica.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                replica.proc.wait(timeout=5)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            answer = httpx.get(url, timeout=5.0)
            if answer.status_code == 200:
                return
            last = answer.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready within {timeout:.0f}s: {last[:500]}")


def open_replicas(root: Path, postgres: PostgresServer, info: Any, **extra_env: str) -> ReplicaSet:
    """Two replicas of TrafficAuthority on the live network (``info``: the fabric_network fixture's
    FabricNetworkInfo) over a fresh database of ``postgres``, behind HAProxy (not started yet)."""
    return ReplicaSet(
        root=root,
        postgres=postgres,
        store_url=postgres.new_database(),
        profile=Path(info.connection_profile(ORG)),
        kubo_url=info.kubo_rpc_url,
        extra_env=dict(extra_env),
    )
