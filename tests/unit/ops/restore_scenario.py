"""A gateway's off-chain state written, backed up, destroyed and restored, on SQLite or PostgreSQL.

Shared by the restore and the schedule tests: :func:`gateway` starts the app on a data folder (and a
PostgreSQL database when given), :func:`write_state` writes one of everything the gateway keeps off
the ledger, :func:`check_state` checks it all through the API of a gateway started on the restored
folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.ops.backup import BackupSources
from app.ops.restore import RestoreTargets
from app.settings import Settings
from app.users.roles import Role
from tests.unit.api.builders import registration, vin
from tests.unit.store.postgres import PostgresServer

TA, BANK = "TrafficAuthorityMSP", "BankAMSP"
PASSWORDS = {"officer9": "officer9-password", "loan9": "loan9-password"}


@dataclass
class Store:
    """Where the gateway's off-chain store lives: SQLite files, or a PostgreSQL database."""

    postgres: PostgresServer | None = None
    url: str | None = None

    def fresh(self) -> Store:
        """An empty store of the same kind (a new PostgreSQL database)."""
        return Store(self.postgres, self.postgres.new_database() if self.postgres else None)

    def settings(self, data_dir: Path) -> Settings:
        password_file = self.postgres.password_file if self.postgres else None
        return Settings(
            data_dir=data_dir, token_secret="r" * 32, store_url=self.url, store_password_file=password_file
        )

    def sources(self, data_dir: Path) -> BackupSources:
        password = self.postgres.password if self.postgres else None
        kind = "postgresql" if self.postgres else "sqlite"
        return BackupSources(
            TA, gateway_dir=data_dir, ledger_dir=data_dir / "ledger", store_kind=kind,
            store_url=self.url, store_password=password,
        )  # fmt: skip

    def targets(self, data_dir: Path, **kwargs: object) -> RestoreTargets:
        password = self.postgres.password if self.postgres else None
        return RestoreTargets(data_dir, store_url=self.url, store_password=password, **kwargs)  # type: ignore[arg-type]


@contextmanager
def gateway(store: Store, data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(store.settings(data_dir))) as client:
        yield client


def login(client: TestClient, user: str, org: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", data={"username": f"{user}@{org}", "password": PASSWORDS[user]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Written:
    api_key: str
    document_id: str
    document_sha256: str
    qr_payload: str


def write_state(client: TestClient, serial: int = 31) -> Written:
    """Users, an API key, a revoked token, an idempotent write, a document and a QR code."""
    gw = client.app.state.gw  # type: ignore[attr-defined]
    gw.users.add(TA, "officer9", Role.registrar, PASSWORDS["officer9"], enrollment_id="officer9")
    gw.enroller.enroll(TA, "officer9", Role.registrar, "x")
    gw.users.add(BANK, "loan9", Role.loan_officer, PASSWORDS["loan9"], enrollment_id="loan9")
    gw.enroller.enroll(BANK, "loan9", Role.loan_officer, "x")
    key = gw.users.create_api_key(TA, "officer9", "restore-test")
    gw.users.revoke_token("jti-restore", 9e12)
    officer = {"X-API-Key": key, "Idempotency-Key": f"reg-{serial}"}
    registered = client.post("/api/v1/vehicles", json=registration(serial), headers=officer)
    assert registered.status_code == 201, registered.text
    content = f"owner consent for {vin(serial)}".encode() * 100
    uploaded = client.post(
        "/api/v1/documents",
        headers=login(client, "loan9", BANK),
        data={"doc_type": "owner_consent", "vin": vin(serial)},
        files={"file": ("consent.pdf", content)},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()["document"]
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    qr = client.post(f"/api/v1/vehicles/{vin(serial)}/qr", headers={"X-API-Key": key})
    assert qr.status_code == 201, qr.text
    return Written(key, document["document_id"], document["sha256"], qr.json()["payload"])


def check_state(client: TestClient, written: Written, serial: int = 31) -> None:
    """Everything :func:`write_state` wrote answers as before, through the API."""
    gw = client.app.state.gw  # type: ignore[attr-defined]
    bank = login(client, "loan9", BANK)  # the users log in with their passwords
    login(client, "officer9", TA)
    by_key = client.get(f"/api/v1/vehicles/{vin(serial)}", headers={"X-API-Key": written.api_key})
    assert by_key.status_code == 200, by_key.text  # the API key works, the vehicle is on the ledger
    again = client.post(
        "/api/v1/vehicles",
        json=registration(serial),
        headers={"X-API-Key": written.api_key, "Idempotency-Key": f"reg-{serial}"},
    )
    assert again.status_code == 201, again.text  # the idempotency record replays (a new write: 409)
    assert gw.users.token_revoked("jti-restore")
    down = client.get(f"/api/v1/documents/{written.document_id}/content", headers=bank)
    assert down.status_code == 200, down.text
    assert hashlib.sha256(down.content).hexdigest() == written.document_sha256
    assert down.headers["x-document-sha256"] == written.document_sha256
    checked = client.post(
        f"/api/v1/documents/{written.document_id}/verify", headers=bank, files={"file": ("c", down.content)}
    )
    assert checked.status_code == 200 and checked.json()["matches"] is True, checked.text
    verdict = client.post("/api/v1/qr/verify", json={"payload": written.qr_payload})
    assert verdict.status_code == 200 and verdict.json()["valid"] is True, verdict.text
