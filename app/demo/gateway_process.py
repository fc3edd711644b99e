"""One org's gateway (`mledger serve`, Fabric backend) in a process of its own, as deployed: started,
killed with SIGKILL and restarted on the same data dir, for soak runs that crash it on purpose.

Its logins are the network's standard users (already enrolled by fabric-ca, their certificates and keys
copied into the wallet) with random passwords held by the caller; secrets reach the process through its
environment, never its command line.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.settings import Settings
from app.store.config import open_component
from app.users.provision import adopt_enrolled_user
from app.users.roles import STANDARD_USERS
from app.users.store import UserStore

MLEDGER = [sys.executable, "-c", "from app.cli import main; main()"]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class GatewayProcess:
    """``msp_id``'s gateway on ``port``; ``passwords`` maps user name → login password."""

    msp_id: str
    data_dir: Path
    profile: Path
    ipfs_url: str
    wallet: Path
    public_keys: Path
    port: int = field(default_factory=free_port)
    passwords: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    token_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    starts: list[float] = field(default_factory=list)  # seconds each start took until /readyz said 200
    _spawned: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MLEDGER_BACKEND": "fabric",
            "MLEDGER_ORGS": self.msp_id,
            "MLEDGER_DATA_DIR": str(self.data_dir),
            "MLEDGER_NETWORK_PROFILE": str(self.profile),
            "MLEDGER_IPFS_URL": self.ipfs_url,
            "MLEDGER_WALLET": str(self.wallet),
            "MLEDGER_DOCUMENT_PUBLIC_KEYS": str(self.public_keys),
            "MLEDGER_TOKEN_SECRET": self.token_secret,
            # the soak logs in a handful of users many times: not what the lockout is for
            "MLEDGER_LOGIN_LIMITS_PER_ACCOUNT": "100000/minute",
            "MLEDGER_LOGIN_LIMITS_PER_ADDRESS": "100000/minute",
        }

    def adopt_users(self, identities: dict[str, tuple[bytes, bytes]]) -> None:
        """Logins for the org's standard users, whose enrolled (cert PEM, key PEM) the caller gives."""
        settings = Settings(
            backend="fabric", orgs=[self.msp_id], data_dir=self.data_dir, network_profile=self.profile,
            wallet=self.wallet, token_secret=self.token_secret,
        )  # fmt: skip
        users = UserStore(open_component(settings, settings.users_db))
        roles = dict(STANDARD_USERS[self.msp_id])
        for name, (cert, key) in identities.items():
            msp = self.wallet / self.msp_id / name / "msp"
            (msp / "signcerts").mkdir(parents=True, exist_ok=True)
            (msp / "keystore").mkdir(parents=True, exist_ok=True)
            (msp / "signcerts" / "cert.pem").write_bytes(cert)
            (msp / "keystore" / "key_sk").write_bytes(key)
            (msp / "keystore" / "key_sk").chmod(0o600)
            if users.get(self.msp_id, name) is None:
                password = secrets.token_urlsafe(18)
                adopt_enrolled_user(users, self.msp_id, name, roles[name], password)
                self.passwords[name] = password

    def start(self, timeout: float = 180.0) -> float:
        """Start the process and wait until /readyz answers 200; returns the seconds it took."""
        self.spawn()
        return self.wait_ready(timeout)

    def spawn(self) -> None:
        self._spawned = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "gateway.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [*MLEDGER, "serve", "--port", str(self.port), "--no-demo"],
                stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=ROOT,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Wait until the spawned process answers /readyz with 200 (its start-up imports, migrations and
        fabric-ca enrolments take tens of seconds on a loaded machine)."""
        assert self.proc is not None
        last = "no answer"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.msp_id} gateway exited ({self.proc.returncode}); see its gateway.log"
                )
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(self.url + "/readyz", timeout=5)
                if ready.status_code == 200:
                    self.starts.append(time.monotonic() - self._spawned)
                    return self.starts[-1]
                last = f"{ready.status_code} {ready.text[:300]}"
            if time.monotonic() - self._spawned > timeout:
                raise RuntimeError(f"{self.msp_id} gateway not ready after {timeout:.0f} s: {last}")
            time.sleep(0.2)

    def kill9(self) -> int:
        """SIGKILL the gateway (a crash: no shutdown hooks run); returns its pid."""
        assert self.proc is not None
        pid = self.proc.pid
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        return pid

    def stop(self) -> None:
        """Stop the process this object started (SIGTERM, then SIGKILL), by its pid."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)
