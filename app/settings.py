"""Gateway settings: which org this gateway serves, which ledger backend, where its data lives.

Read from the environment (prefix ``MLEDGER_``) so each org's gateway is configured without code.
The embedded backend may host several orgs at once (a single demo gateway); a gateway on the real
network serves exactly one org, and a gateway of RegulatorMSP is read-only.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chaincode import consortium

REPO_ROOT = Path(__file__).resolve().parent.parent

# The consortium's application orgs (chaincode/consortium.py); the regulator's gateway only reads.
ALL_ORGS: tuple[str, ...] = tuple(o.msp_id for o in consortium.APPLICATION_ORGS)
READ_ONLY_ORGS: frozenset[str] = consortium.msp_ids(consortium.OrgKind.regulator)


class Settings(BaseSettings):
    """Everything a gateway process needs to know about itself."""

    model_config = SettingsConfigDict(env_prefix="MLEDGER_", extra="ignore")

    backend: Literal["embedded", "fabric"] = "embedded"
    orgs: Annotated[list[str], NoDecode] = Field(
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
        default="store",
        description="Where login failure counters live: `store` (the off-chain store, shared by the "
        "replicas on PostgreSQL) or a `limits` storage URI (memory://, redis://).",
    )
    login_limits_per_account: str = "5/minute;20/hour;100/day"
    login_limits_per_address: str = "30/minute;300/hour;2000/day"
    login_hash_concurrency: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        description="Password hashes computed at once (default: the cores, at most 4; more only contend).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
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
    document_kek_file: Path | None = Field(
        default=None,
        description="File (mode 0600) of the 32-byte key that seals the document keys kept in the store; "
        "every replica of the org gets the same one. Unset: <data dir>/keys/store.kek (made on first use); "
        "ignored when hsm_wrap_key_label names a key in the HSM.",
    )
    document_public_keys: Path | None = Field(
        default=None,
        description="Folder of every org's document public key (<MSP>.pub), shared by the consortium; "
        "this gateway publishes its orgs' keys there. Unset: beside its own private keys.",
    )
    store_url: str | None = Field(
        default=None,
        description="Off-chain store: unset/sqlite = SQLite files under the data dir; postgresql://user@host:"
        "port/db = one PostgreSQL database shared by the org's gateway replicas (password not in the URL).",
    )
    readmodel_url: str | None = Field(
        default=None,
        description="Read model's database: unset = the store_url's (PostgreSQL there: the same database; "
        "else <data dir>/readmodel.sqlite); sqlite = that file; postgresql://user@host:port/db = that "
        "database (password from the store's password settings or libpq's, never in the URL).",
    )
    store_password: SecretStr | None = Field(default=None, description="The store's database password.")
    store_password_file: Path | None = Field(default=None, description="File holding the store's password.")
    store_pool_size: int = Field(default=10, description="Most PostgreSQL connections this process opens.")
    store_timeout_seconds: float = Field(
        default=5.0, description="How long a request waits for a store connection before answering 503."
    )
    qr_signing_msp_dir: Path | None = Field(
        default=None, description="TrafficAuthority identity (MSP folder) that signs QR codes on the network."
    )
    qr_trusted_cert: Path | None = Field(
        default=None, description="The authority's QR certificate, for gateways that only verify."
    )
    hsm_module: Path | None = Field(
        default=None,
        description="PKCS#11 module (.so) holding the signing keys; unset: file keys (docs/hsm.md).",
    )
    hsm_token_label: str | None = Field(default=None, description="Label of the PKCS#11 token.")
    hsm_slot: int | None = Field(
        default=None, description="PKCS#11 slot id (instead of or beside the label)."
    )
    hsm_pin_file: Path | None = Field(
        default=None, description="File (mode 0600) holding the token's user PIN; else MLEDGER_HSM_PIN."
    )
    hsm_pin: SecretStr | None = Field(default=None, description="The user PIN (from MLEDGER_HSM_PIN only).")
    hsm_signing_key_label: str | None = Field(
        default=None,
        description="Token label of the service identity's signing key, checked when the gateway starts.",
    )
    hsm_wrap_key_label: str | None = Field(
        default=None, description="Token label of the AES key-wrapping key for document keys."
    )
    certificate_signing_msp_dir: Path | None = Field(
        default=None,
        description="The issuing org's enrolled identity (MSP folder) that signs search certificates on the "
        "network. Unset in embedded mode: an identity issued by the requester's org CA.",
    )
    certificate_issuer_msp: str | None = Field(
        default=None, description="MSP id of the org whose identity is certificate_signing_msp_dir."
    )

    # Sign-on through the bank's identity provider (OIDC, docs/sign-on.md); off while oidc_issuer is unset.
    oidc_issuer: str | None = Field(
        default=None, description="The identity provider's issuer URL; setting it turns OIDC sign-on on."
    )
    oidc_client_id: str | None = Field(default=None, description="This gateway's OAuth2 client id (pages).")
    oidc_client_secret_file: Path | None = Field(
        default=None, description="File holding the client secret (never on a command line or in a log)."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The client secret from the environment (prefer the _file setting)."
    )
    oidc_audience: str | None = Field(
        default=None, description="Audience the API's access tokens must carry (default: the client id)."
    )
    oidc_role_claim: str = Field(
        default="roles", description="Claim holding the org's roles; dots descend into objects (ext.roles)."
    )
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description="The IdP's role values -> project roles, JSON; first matching entry wins.",
    )
    oidc_username_claim: str = "sub"
    oidc_org: str | None = Field(
        default=None, description="MSP id of OIDC users (default: the gateway's only org)."
    )
    oidc_signers: dict[str, str] = Field(
        default_factory=dict,
        description="Project role -> enrolled Fabric user an OIDC user of that role signs as (JSON); "
        "default on the real network: the org's standard user of the role.",
    )
    oidc_scopes: str = "openid profile"
    oidc_jwks_cache_seconds: int = 300
    oidc_jwks_min_refetch_seconds: float = Field(
        default=10.0, description="Least time between two key refetches caused by unknown key ids."
    )
    oidc_leeway_seconds: int = 30
    oidc_http_timeout_seconds: float = 5.0

    # operations (docs/operations.md): who may scrape /metrics, and the SLIs computed for it
    metrics_token_file: Path | None = Field(
        default=None,
        description="File with the Prometheus scrape bearer token (else only operators' logins scrape).",
    )
    sli_refresh_seconds: float = Field(
        default=60.0, gt=0, description="How often the data SLIs are recomputed."
    )
    sli_valuation_max_age_days: int = Field(
        default=180, gt=0, description="A valuation older counts as stale."
    )
    sli_odometer_months: int = Field(
        default=12, gt=0, description="An odometer reading older counts as stale."
    )
    sli_accuracy_tolerance: float = Field(
        default=0.15, gt=0, lt=1, description="A disposal price within this share of the valuation is a hit."
    )
    sli_reader: str = Field(default="auditor1", description="The org user whose identity reads odometers.")
    peer_operations_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Peers' operations endpoints {name: http://host:port}, for the height-lag SLI.",
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
    notify_allow_http_hosts: Annotated[list[str], NoDecode] = Field(
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

    @field_validator("orgs", "trusted_proxies", "notify_allow_http_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """``BankAMSP`` or ``BankAMSP,BankBMSP`` (as the docs write it) or a JSON list."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                try:
                    return json.loads(value)
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        f"not a JSON list ({exc.msg}); or give names separated by commas"
                    ) from exc
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "data_dir", "ledger_data_dir", "network_profile", "wallet", "document_keyring",
        "document_kek_file", "document_public_keys", "qr_signing_msp_dir", "qr_trusted_cert",
        "store_password_file",
    )  # fmt: skip
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """Relative paths (``MLEDGER_DATA_DIR=.data/gw-banka``) are taken from the directory the gateway
        was started in, once, so tools that run elsewhere (fabric-ca-client resolves relative paths from
        its own home) get the same folder."""
        return value if value is None else Path(os.path.abspath(value.expanduser()))

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
