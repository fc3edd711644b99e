"""Gateway settings: which org this gateway serves, which ledger backend, where its data lives.

Read from the environment (prefix ``MLEDGER_``) so each org's gateway is configured without code.
The embedded backend may host several orgs at once (a single demo gateway); a gateway on the real
network serves exactly one org, and a gateway of RegulatorMSP is read-only.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chaincode import consortium

REPO_ROOT = Path(__file__).resolve().parent.parent

# The consortium's application orgs (chaincode/consortium.py); the regulator's gateway only reads.
ALL_ORGS: tuple[str, ...] = tuple(o.msp_id for o in consortium.APPLICATION_ORGS)
READ_ONLY_ORGS: frozenset[str] = consortium.msp_ids(consortium.OrgKind.regulator)


class Settings(BaseSettings):
    """Everything a gateway process needs to know about itself."""

    model_config = SettingsConfigDict(env_prefix="MLEDGER_", extra="ignore")

    backend: Literal["embedded", "fabric"] = "embedded"
    orgs: list[str] = Field(
        default_factory=lambda: list(ALL_ORGS),
        description="MSP ids whose users this gateway serves (one org on the real network).",
    )
    data_dir: Path = Field(default=REPO_ROOT / ".data" / "gateway")
    ledger_data_dir: Path | None = Field(default=None, description="Embedded ledger folder (default: own).")
    network_profile: Path | None = Field(
        default=None,
        description="The org's Fabric connection profile, written by the network (connection-<org>.json).",
    )
    wallet: Path | None = Field(default=None, description="Wallet folder <MSP>/<user>/msp (default: own).")
    channel: str = "vehicles"
    chaincode: str = "mortgage"
    ipfs_url: str | None = Field(default=None, description="kubo RPC URL; the embedded store when unset.")
    public_base_url: str = "http://127.0.0.1:8000"
    token_ttl_seconds: int = 3600
    token_secret: str | None = Field(default=None, description="HMAC key for tokens (generated if unset).")
    environment: Literal["development", "production"] = Field(
        default="development", description="production refuses demo mode and demo users outright."
    )
    demo_mode: bool = Field(
        default=False,
        description="Demo users (well-known passwords) may log in; set by `serve --demo` / seed_demo.",
    )
    seed_demo: bool = False
    mvcc_retries: int = 4
    mvcc_backoff_seconds: float = 0.05
    max_upload_bytes: int = 20 * 1024 * 1024
    max_body_bytes: int = Field(
        default=1024 * 1024, description="Largest request body of a route without a file upload."
    )
    login_limit_storage: str = Field(
        default="memory://",
        description="Where login failure counters live (a `limits` storage URI; redis:// to share them).",
    )
    login_limits_per_account: str = "5/minute;20/hour;100/day"
    login_limits_per_address: str = "30/minute;300/hour;2000/day"
    login_hash_concurrency: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        description="Password hashes computed at once (default: the cores, at most 4; more only contend).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For/-Proto are believed (client address, https).",
    )
    cookie_secure: bool | None = Field(
        default=None, description="Session cookie Secure flag; unset: when the request came over https."
    )
    idempotency_commit_grace_seconds: float | None = Field(
        default=None,
        description="How long a submitted-but-unseen transaction of a dead process may still commit "
        "before its Idempotency-Key runs again (unset: 0 embedded, 120 s on Fabric).",
    )
    document_keyring: Path | None = Field(
        default=None,
        description="Consortium document key-ring file (mode 0600), shared by every org's gateway; "
        "unset: a key generated under the data dir, readable by this gateway only.",
    )
    document_public_keys: Path | None = Field(
        default=None,
        description="Folder of every org's document public key (<MSP>.pub), shared by the consortium; "
        "this gateway publishes its orgs' keys there. Unset: beside its own private keys.",
    )
    qr_signing_msp_dir: Path | None = Field(
        default=None, description="TrafficAuthority identity (MSP folder) that signs QR codes on the network."
    )
    qr_trusted_cert: Path | None = Field(
        default=None, description="The authority's QR certificate, for gateways that only verify."
    )

    notify_enabled: bool = Field(default=True, description="Run the notifier (events → inbox, webhooks).")
    notify_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Webhook attempts before a dead letter."
    )
    notify_backoff_seconds: float = Field(
        default=2.0, gt=0, description="First webhook retry delay (doubles)."
    )
    notify_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest webhook retry delay."
    )
    notify_allow_http_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a webhook may use plain http and a local address for (e.g. 127.0.0.1 in tests).",
    )
    notify_secret_key: str | None = Field(
        default=None, description="base64url 32-byte key sealing webhook secrets (default: a key file)."
    )

    @model_validator(mode="after")
    def _demo_rules(self) -> Settings:
        if self.seed_demo:
            self.demo_mode = True
        if self.demo_mode and self.environment == "production":
            raise ValueError(
                "demo_mode: refused because environment is production (demo passwords are public)"
            )
        return self

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("notify_allow_http_hosts", mode="before")
    @classmethod
    def _split_http_hosts(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("orgs", mode="before")
    @classmethod
    def _split_orgs(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("orgs")
    @classmethod
    def _known_orgs(cls, value: list[str]) -> list[str]:
        unknown = [org for org in value if org not in ALL_ORGS]
        if unknown:
            raise ValueError(f"unknown org MSP id(s) {unknown}; known: {list(ALL_ORGS)}")
        if not value:
            raise ValueError("at least one org is required")
        return value

    @property
    def read_only(self) -> bool:
        """A gateway serving only read-only orgs (the regulator) refuses every write."""
        return all(org in READ_ONLY_ORGS for org in self.orgs)

    @property
    def embedded_ledger_dir(self) -> Path:
        return self.ledger_data_dir or (self.data_dir / "ledger")

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def users_db(self) -> Path:
        return self.data_dir / "users.sqlite"

    @property
    def idempotency_db(self) -> Path:
        return self.data_dir / "idempotency.sqlite"

    @property
    def wallet_dir(self) -> Path:
        """Enrolled Fabric identities (cert + key) per org and user; git-ignored under .data/."""
        return self.wallet or (self.data_dir / "wallet")

    @cached_property
    def signing_secret(self) -> bytes:
        """The token HMAC key: from settings, else generated once and kept (0600) under the data dir."""
        if self.token_secret:
            return self.token_secret.encode()
        path = self.data_dir / "token.key"
        if path.exists():
            return path.read_bytes()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(key)
        tmp.chmod(0o600)
        tmp.replace(path)
        return key
