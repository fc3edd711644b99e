"""A real OIDC provider for the sign-on tests: ory hydra as a native process, plus its login app.

Hydra (built by ``scripts/install-binaries hydra`` into ``$MLEDGER_BIN_DIR/hydra-<version>/hydra``) runs
with ``DSN=memory`` on 127.0.0.1 inside this helper's port block (``MLEDGER_OIDC_BASE_PORT``, default
35100): public port = base, admin port = base + 1, the login app = base + 2. Its system secret goes
through the environment and its settings through a 0600 config file, never the command line. It issues
JWT access tokens (``strategies.access_token: jwt``), the way a bank's gateway checks them locally.

Hydra is headless: the login and consent screens are the relying party's business. :class:`LoginApp`
is that screen for tests: it accepts every login challenge as the "current" test user
(:attr:`LoginApp.user`) and every consent with the user's org roles in the ``roles`` claim.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

HYDRA_VERSION = os.environ.get("HYDRA_VERSION", "2.3.0")
REPO = Path(__file__).resolve().parents[2]


def hydra_binary() -> Path:
    """The hydra binary; built (idempotently) by scripts/install-binaries when absent."""
    bin_dir = Path(os.environ.get("MLEDGER_BIN_DIR", REPO / ".cache" / "bin"))
    path = bin_dir / f"hydra-{HYDRA_VERSION}" / "hydra"
    if not path.exists():
        subprocess.run([str(REPO / "scripts" / "install-binaries"), "hydra"], check=True)
    return path


@dataclass
class OrgUser:
    subject: str
    roles: list[str]
    name: str = ""


@dataclass
class LoginApp:
    """The login + consent screens of the tests: accepts through hydra's admin API."""

    admin_url: str
    user: OrgUser = field(default_factory=lambda: OrgUser("alice", ["bank-loan-officers"]))
    deny_next: bool = False
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = FastAPI()
        admin = self.admin_url

        @self.app.get("/login")
        async def login(login_challenge: str) -> RedirectResponse:
            async with httpx.AsyncClient(base_url=admin) as client:
                await _ok(
                    client.get(
                        "/admin/oauth2/auth/requests/login", params={"login_challenge": login_challenge}
                    )
                )
                if self.deny_next:
                    self.deny_next = False
                    answer = await _ok(
                        client.put(
                            "/admin/oauth2/auth/requests/login/reject",
                            params={"login_challenge": login_challenge},
                            json={"error": "access_denied", "error_description": "test user refused"},
                        )
                    )
                else:
                    answer = await _ok(
                        client.put(
                            "/admin/oauth2/auth/requests/login/accept",
                            params={"login_challenge": login_challenge},
                            json={"subject": self.user.subject, "remember": False},
                        )
                    )
            return RedirectResponse(answer["redirect_to"], status_code=302)

        @self.app.get("/consent")
        async def consent(consent_challenge: str) -> RedirectResponse:
            async with httpx.AsyncClient(base_url=admin) as client:
                request = await _ok(
                    client.get(
                        "/admin/oauth2/auth/requests/consent", params={"consent_challenge": consent_challenge}
                    )
                )
                claims = {"roles": list(self.user.roles), "name": self.user.name or self.user.subject}
                answer = await _ok(
                    client.put(
                        "/admin/oauth2/auth/requests/consent/accept",
                        params={"consent_challenge": consent_challenge},
                        json={
                            "grant_scope": request.get("requested_scope", []),
                            "grant_access_token_audience": request.get("requested_access_token_audience", []),
                            "remember": False,
                            "session": {"access_token": claims, "id_token": claims},
                        },
                    )
                )
            return RedirectResponse(answer["redirect_to"], status_code=302)

        @self.app.get("/healthz")
        async def healthz(request: Request) -> dict[str, str]:
            return {"status": "ok"}


async def _ok(response_or_coro: Any) -> dict[str, Any]:
    response = await response_or_coro
    response.raise_for_status()
    value: dict[str, Any] = response.json()
    return value


@dataclass
class Hydra:
    """A running hydra and its login app."""

    issuer: str
    admin_url: str
    login: LoginApp
    workdir: Path

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.admin_url, timeout=10)

    def create_client(self, redirect_uri: str, audience: list[str], **extra: Any) -> tuple[str, str]:
        """Register an OAuth2 client; (client id, client secret)."""
        body = {
            "client_name": "mledger gateway (tests)",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"],
            "redirect_uris": [redirect_uri],
            "scope": "openid profile",
            "audience": audience,
            "token_endpoint_auth_method": "client_secret_basic",
            **extra,
        }
        with self.admin() as admin:
            response = admin.post("/admin/clients", json=body)
            response.raise_for_status()
            created = response.json()
        return str(created["client_id"]), str(created["client_secret"])

    def client_credentials_token(self, client_id: str, secret: str, audience: str) -> str:
        response = httpx.post(
            f"{self.issuer}/oauth2/token",
            data={"grant_type": "client_credentials", "audience": audience},
            auth=(client_id, secret),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def set_lifespans(self, client_id: str, **lifespans: str) -> None:
        with self.admin() as admin:
            admin.put(f"/admin/clients/{client_id}/lifespans", json=lifespans).raise_for_status()

    def rotate_access_token_key(self) -> str:
        """Rotate hydra's access-token signing key through the admin API: a new key is added to the set
        ``hydra.jwt.access-token`` and the previous ones are withdrawn, so hydra signs with the new one.
        Returns the new kid."""
        kid = "rotated-" + secrets.token_hex(4)
        set_url = "/admin/keys/hydra.jwt.access-token"
        with self.admin() as admin:
            old = [str(k["kid"]) for k in admin.get(set_url).raise_for_status().json()["keys"]]
            body = {"alg": "RS256", "use": "sig", "kid": kid}
            admin.post(set_url, json=body).raise_for_status()
            for old_kid in old:
                if old_kid != kid:
                    admin.delete(f"{set_url}/{old_kid}").raise_for_status()
        return kid

    def published_kids(self) -> list[str]:
        jwks = httpx.get(f"{self.issuer}/.well-known/jwks.json", timeout=10).json()
        return [str(k["kid"]) for k in jwks["keys"]]


def _wait_http(url: str, deadline: float, proc: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"hydra exited with {proc.returncode}: {tail}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in time")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@contextmanager
def running_hydra(workdir: Path, base_port: int | None = None) -> Iterator[Hydra]:
    """Start hydra and the login app; stop both (only the processes started here) on exit."""
    base = base_port or int(os.environ.get("MLEDGER_OIDC_BASE_PORT", "35100"))
    public, admin, login_port = base, base + 1, base + 2
    for port in (public, admin, login_port):
        if not _port_free(port):
            raise RuntimeError(f"port {port} on 127.0.0.1 is in use (set MLEDGER_OIDC_BASE_PORT)")
    binary = hydra_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    issuer = f"http://127.0.0.1:{public}"
    login_url = f"http://127.0.0.1:{login_port}"
    config = workdir / "hydra.yml"
    config.write_text(
        "\n".join(
            [
                "dsn: memory",
                "serve:",
                f"  public: {{host: 127.0.0.1, port: {public}}}",
                f"  admin: {{host: 127.0.0.1, port: {admin}}}",
                "urls:",
                f"  self: {{issuer: {issuer}, public: {issuer}}}",
                f"  login: {login_url}/login",
                f"  consent: {login_url}/consent",
                "strategies: {access_token: jwt}",
                "oauth2:",
                "  allowed_top_level_claims: [roles]",
                "  pkce: {enforced: true}",
                "log: {level: warn, leak_sensitive_values: false}",
                "",
            ]
        )
    )
    config.chmod(0o600)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "SECRETS_SYSTEM": secrets.token_urlsafe(32),  # via the environment, never argv
    }
    log = workdir / "hydra.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "serve", "all", "--dev", "--config", str(config)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    login = LoginApp(admin_url=f"http://127.0.0.1:{admin}")
    server = uvicorn.Server(uvicorn.Config(login.app, host="127.0.0.1", port=login_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        deadline = time.monotonic() + 60
        _wait_http(f"http://127.0.0.1:{admin}/health/ready", deadline, proc, log)
        _wait_http(f"{issuer}/.well-known/openid-configuration", deadline, proc, log)
        thread.start()
        _wait_http(f"{login_url}/healthz", deadline, None, None)
        yield Hydra(issuer=issuer, admin_url=f"http://127.0.0.1:{admin}", login=login, workdir=workdir)
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(timeout=5)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def copy_secret(secret: str, path: Path) -> Path:
    """Write a client secret to a 0600 file (how the gateway is given it)."""
    path.write_text(secret)
    path.chmod(0o600)
    return path
