"""Documents across orgs: one consortium key ring lets every authorised org's gateway decrypt.

Each org runs its own gateway (own data dir, own users, own settings); in embedded mode they share
one ledger (the embedded ledger has a single owner, so one instance over ``ledger_data_dir``) and
one IPFS blockstore (on the network: each org's peer and the private kubo swarm).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.documents.service import KEYRING_ENV, DocumentService
from app.ledger.factory import create_ledger
from app.main import create_app
from app.settings import Settings
from app.users.provision import demo_password
from ipfs.embedded import EmbeddedContentStore
from ipfs.keyring import KeyringFileError, create_keyring_file, load_keyring_file, rotate_keyring_file
from tests.unit.api.builders import BANK_A, DEALER, REGULATOR, TA, Api, vin

MakeClient = Callable[..., TestClient]


class Consortium:
    """Gateways of several orgs over one ledger folder and one IPFS store."""

    def __init__(self, root: Path, make_client: MakeClient) -> None:
        self.root = root
        self.make_client = make_client
        self.ledger_dir = root / "ledger"
        self.ledger = create_ledger(Settings(data_dir=root / "ledger-owner", ledger_data_dir=self.ledger_dir))
        self.store = EmbeddedContentStore(root / "ipfs")
        self.keyring = root / "keys" / "consortium-keyring.json"
        create_keyring_file(self.keyring)

    def gateway(self, name: str, orgs: list[str], keyring: Path | None = None) -> Api:
        settings = Settings(
            data_dir=self.root / name,
            orgs=orgs,
            ledger_data_dir=self.ledger_dir,
            document_keyring=keyring or self.keyring,
            token_secret=f"secret-of-{name}-" + "x" * 24,
        )
        service = DocumentService.from_settings(settings, store=self.store)
        return Api(self.make_client(settings, ledger=self.ledger, document_service=service))


@pytest.fixture
def consortium(tmp_path: Path, make_client: MakeClient) -> Consortium:
    return Consortium(tmp_path, make_client)


def _upload_court_order(ta: Api, serial: int, doc_id: str, content: bytes) -> dict[str, str]:
    up = ta.ok(ta.upload(TA, "court_order", content, vin=vin(serial), document_id=doc_id), 201)
    return up["document"]  # type: ignore[no-any-return]


def test_document_from_one_orgs_gateway_is_read_on_the_others(consortium: Consortium) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    bank = consortium.gateway("bank-a", ["BankAMSP"])
    regulator = consortium.gateway("regulator", ["RegulatorMSP"])
    dealer = consortium.gateway("dealer", ["DealerMSP"])
    ta.register(61)
    content = os.urandom(70_000) + b"court order: release of lien"
    doc = _upload_court_order(ta, 61, "DOC-61", content)
    assert doc["encryption_key_ref"] == load_keyring_file(consortium.keyring).active

    for api, user in ((bank, BANK_A), (regulator, REGULATOR)):
        down = api.get(user, "/documents/DOC-61/content")
        assert down.status_code == 200, down.text
        assert down.content == content
        assert down.headers["x-document-sha256"] == hashlib.sha256(content).hexdigest() == doc["sha256"]
        verified = api.ok(api.post(user, "/documents/DOC-61/verify", files={"file": ("c.pdf", content)}))
        assert verified["matches"] is True

    # authorisation stays with the read rule: the dealer's gateway has the key, its user may not decrypt
    refused = dealer.get(DEALER, "/documents/DOC-61/content")
    assert refused.status_code == 403 and "decrypt" in refused.json()["error"]["message"]
    # and a gateway never signs in a user of an org it does not serve
    login = {"username": TA, "password": demo_password("TrafficAuthorityMSP", "officer1")}
    assert bank.client.post("/api/v1/auth/token", data=login).status_code == 401


def test_gateway_without_the_key_names_the_missing_key_id(consortium: Consortium, tmp_path: Path) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    other_ring = tmp_path / "elsewhere" / "keyring.json"
    create_keyring_file(other_ring)
    outsider = consortium.gateway("bank-a", ["BankAMSP"], keyring=other_ring)
    ta.register(62)
    doc = _upload_court_order(ta, 62, "DOC-62", b"seizure order")

    answer = outsider.get(BANK_A, "/documents/DOC-62/content")
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert doc["encryption_key_ref"] in error["message"] and "key ring" in error["message"]
    assert error["details"][0]["field"] == "encryption_key_ref"
    assert doc["sha256"] not in answer.text  # no content-related leak in the error
    anchor = outsider.ok(outsider.get(BANK_A, "/documents/DOC-62"))  # the anchor itself stays readable
    assert anchor["cid"] == doc["cid"]


def test_rotation_old_documents_still_open_new_ones_use_the_new_key(consortium: Consortium) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    bank = consortium.gateway("bank-a", ["BankAMSP"])
    stale_copy = consortium.root / "stale" / "keyring.json"  # a gateway the new file has not reached yet
    stale_copy.parent.mkdir(mode=0o700)
    shutil.copy2(consortium.keyring, stale_copy)
    stale = consortium.gateway("regulator", ["RegulatorMSP"], keyring=stale_copy)
    ta.register(63)
    old = _upload_court_order(ta, 63, "DOC-63-OLD", b"before rotation")

    new_kid = rotate_keyring_file(consortium.keyring).active  # gateways re-read the file: no restart
    assert new_kid != old["encryption_key_ref"]
    new = _upload_court_order(ta, 63, "DOC-63-NEW", b"after rotation")
    assert new["encryption_key_ref"] == new_kid

    assert bank.get(BANK_A, "/documents/DOC-63-OLD/content").content == b"before rotation"
    assert bank.get(BANK_A, "/documents/DOC-63-NEW/content").content == b"after rotation"
    assert stale.get(REGULATOR, "/documents/DOC-63-OLD/content").content == b"before rotation"
    missing = stale.get(REGULATOR, "/documents/DOC-63-NEW/content")
    assert missing.status_code == 503 and new_kid in missing.json()["error"]["message"]
    shutil.copy2(consortium.keyring, stale_copy)  # distribution reaches it
    assert stale.get(REGULATOR, "/documents/DOC-63-NEW/content").content == b"after rotation"


def test_gateway_configured_by_environment_refuses_a_loose_key_ring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    ring = tmp_path / "keyring.json"
    current = create_keyring_file(ring).active
    monkeypatch.setenv(KEYRING_ENV, str(ring))
    settings = Settings(data_dir=tmp_path / "gw", token_secret="t" * 32)
    assert settings.document_keyring == ring  # the setting and the app's default wiring agree

    os.chmod(ring, 0o644)
    ledger = create_ledger(settings.model_copy(update={"data_dir": tmp_path / "refused"}))
    try:
        with pytest.raises(KeyringFileError, match=r"permissions 0644 are too open.*chmod 600"):
            create_app(settings, ledger=ledger)
    finally:
        asyncio.run(ledger.close())

    os.chmod(ring, 0o600)
    api = Api(make_client(settings))  # the app's own document wiring picks the key ring up
    api.register(64)
    doc = api.ok(api.upload(TA, "court_order", b"order", vin=vin(64), document_id="DOC-64"), 201)
    assert doc["document"]["encryption_key_ref"] == current
    assert not (settings.data_dir / "keys").exists()  # no per-gateway key was generated


def test_key_ring_that_turns_unsafe_stops_uploads_and_readiness(consortium: Consortium) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    ta.register(65)
    os.chmod(consortium.keyring, 0o644)
    refused = ta.upload(TA, "court_order", b"order", vin=vin(65), document_id="DOC-65")
    assert refused.status_code == 503 and "key ring" in refused.json()["error"]["message"]
    assert str(consortium.keyring) not in refused.text  # the path goes to the log only
    ready = ta.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ipfs"] == "down: document key ring unusable"
    assert ta.get(TA, "/documents/DOC-65").status_code == 404  # nothing was anchored
    os.chmod(consortium.keyring, 0o600)
    assert ta.upload(TA, "court_order", b"order", vin=vin(65), document_id="DOC-65").status_code == 201
