"""Documents across orgs: each document is wrapped for its party orgs' own keys (issue 12, finding 2).

Each org runs its own gateway (own data dir, own users, own private org key, one shared folder of
public keys); in embedded mode they share one ledger (the embedded ledger has a single owner, so one
instance over ``ledger_data_dir``) and one IPFS blockstore (on the network: each org's peer and the
private kubo swarm). Documents anchored before parties existed (version-1 envelopes under the
consortium key ring) stay readable with that ring.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.documents.service import KEYRING_ENV, DocumentService
from app.ledger.factory import create_ledger
from app.ledger.port import Caller
from app.main import create_app
from app.settings import Settings
from app.users.provision import demo_password
from ipfs.embedded import EmbeddedContentStore
from ipfs.keyring import KeyringFileError, create_keyring_file, rotate_keyring_file
from ipfs.orgkeys import OrgKeyError, OrgKeys
from ipfs.party_envelope import KEY_REF, envelope_parties
from tests.unit.api.builders import BANK_A, BANK_B, DEALER, REGULATOR, TA, Api, lien, valuation, vin

MakeClient = Callable[..., TestClient]

#: The data-dir name of each org's gateway in these tests.
GATEWAYS = {
    "TrafficAuthorityMSP": "ta",
    "BankAMSP": "bank-a",
    "BankBMSP": "bank-b",
    "InsurerMSP": "insurer",
    "RegulatorMSP": "regulator",
    "DealerMSP": "dealer",
}


class Consortium:
    """Gateways of several orgs over one ledger folder and one IPFS store."""

    def __init__(self, root: Path, make_client: MakeClient, *, publish: bool = True) -> None:
        self.root = root
        self.make_client = make_client
        self.ledger_dir = root / "ledger"
        self.ledger = create_ledger(Settings(data_dir=root / "ledger-owner", ledger_data_dir=self.ledger_dir))
        self.store = EmbeddedContentStore(root / "ipfs")
        self.keyring = root / "keys" / "consortium-keyring.json"
        self.public_keys = root / "org-public-keys"
        create_keyring_file(self.keyring)
        if publish:  # every org has set up its gateway's key pair and published the public half
            for msp, name in GATEWAYS.items():
                OrgKeys.load_or_create(root / name / "keys" / "orgs", [msp], self.public_keys)

    def gateway(self, name: str, orgs: list[str], keyring: Path | None = None) -> Api:
        settings = Settings(
            data_dir=self.root / name,
            orgs=orgs,
            ledger_data_dir=self.ledger_dir,
            document_keyring=keyring or self.keyring,
            document_public_keys=self.public_keys,
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


def _anchor_legacy(api: Api, serial: int, doc_id: str, content: bytes) -> dict[str, object]:
    """A document as anchored before documents named parties: a version-1 envelope under the key ring."""
    gw = api.gw
    stored = api.portal.call(gw.documents.put, doc_id, content)
    anchor = {
        "document_id": doc_id,
        "doc_type": "court_order",
        "cid": stored.cid,
        "sha256": stored.sha256,
        "size": stored.size,
        "encryption_key_ref": stored.key_ref,
        "vin": vin(serial),
    }
    caller = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})
    api.portal.call(gw.ledger.submit, caller, "AnchorDocument", [json.dumps(anchor)])
    return anchor


def test_party_orgs_read_on_their_own_gateways_and_no_other_org_can(consortium: Consortium) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    bank = consortium.gateway("bank-a", ["BankAMSP"])
    bank_b = consortium.gateway("bank-b", ["BankBMSP"])
    regulator = consortium.gateway("regulator", ["RegulatorMSP"])
    dealer = consortium.gateway("dealer", ["DealerMSP"])
    ta.register(61)
    consent = bank.ok(bank.upload(BANK_A, "owner_consent", b"consent 61", vin=vin(61)), 201)["document"]
    assert consent["encryption_key_ref"] == KEY_REF
    assert consent["parties"] == ["BankAMSP", "RegulatorMSP", "TrafficAuthorityMSP"]
    bank.ok(bank.post(BANK_A, "/liens", json=lien(61, "A", consent["document_id"])), 201)
    bank.register_model(BANK_A)
    bank.ok(bank.post(BANK_A, "/valuation-records", json=valuation(61)), 201)
    ta.ok(ta.post(TA, "/liens/L-61-A/record"))

    content = os.urandom(70_000) + b"court order: release of lien"
    doc = _upload_court_order(ta, 61, "DOC-61", content)
    assert doc["parties"] == ["BankAMSP", "RegulatorMSP", "TrafficAuthorityMSP"]  # BankA holds the lien
    envelope = consortium.store.cat(doc["cid"])
    assert envelope_parties(envelope) == doc["parties"] and content[:64] not in envelope

    for api, user in ((ta, TA), (bank, BANK_A), (regulator, REGULATOR)):
        down = api.get(user, "/documents/DOC-61/content")
        assert down.status_code == 200, down.text
        assert down.content == content
        assert down.headers["x-document-sha256"] == hashlib.sha256(content).hexdigest() == doc["sha256"]
        verified = api.ok(api.post(user, "/documents/DOC-61/verify", files={"file": ("c.pdf", content)}))
        assert verified["matches"] is True

    # BankB (no lien) and the dealer are no parties: refused, though they see the anchor
    for api, user in ((bank_b, BANK_B), (dealer, DEALER)):
        refused = api.get(user, "/documents/DOC-61/content")
        assert refused.status_code == 403 and "document_parties" in refused.json()["error"]["message"]
        assert api.ok(api.get(user, "/documents/DOC-61"))["cid"] == doc["cid"]
    assert bank_b.get(BANK_B, f"/documents/{consent['document_id']}/content").status_code == 403

    # and below the API: BankB's gateway holds no key that opens it, whatever it asks for
    service = bank_b.gw.documents
    with pytest.raises(OrgKeyError, match="holds no private key of BankAMSP"):
        bank_b.portal.call(service.get, "DOC-61", doc["cid"], doc["sha256"], KEY_REF, "BankAMSP")
    with pytest.raises(Exception, match="not one of its parties"):
        bank_b.portal.call(service.get, "DOC-61", doc["cid"], doc["sha256"], KEY_REF, "BankBMSP")
    # a gateway never signs in a user of an org it does not serve
    login = {"username": TA, "password": demo_password("TrafficAuthorityMSP", "officer1")}
    assert bank.client.post("/api/v1/auth/token", data=login).status_code == 401


def test_upload_refused_while_a_party_org_has_published_no_key(
    tmp_path: Path, make_client: MakeClient
) -> None:
    consortium = Consortium(tmp_path, make_client, publish=False)
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])  # the regulator has not published its key
    ta.register(62)
    refused = ta.upload(TA, "court_order", b"seizure order", vin=vin(62), document_id="DOC-62")
    assert refused.status_code == 503 and "RegulatorMSP" in refused.json()["error"]["message"]
    assert ta.get(TA, "/documents/DOC-62").status_code == 404  # nothing was anchored
    consortium.gateway("regulator", ["RegulatorMSP"])  # its gateway starts and publishes its key
    up = ta.ok(ta.upload(TA, "court_order", b"seizure order", vin=vin(62), document_id="DOC-62"), 201)
    assert up["document"]["parties"] == ["RegulatorMSP", "TrafficAuthorityMSP"]


def test_legacy_document_on_a_gateway_without_its_master_key_names_the_key_id(
    consortium: Consortium, tmp_path: Path
) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    other_ring = tmp_path / "elsewhere" / "keyring.json"
    create_keyring_file(other_ring)
    outsider = consortium.gateway("regulator", ["RegulatorMSP"], keyring=other_ring)
    ta.register(62)
    doc = _anchor_legacy(ta, 62, "DOC-62", b"seizure order")

    answer = outsider.get(REGULATOR, "/documents/DOC-62/content")
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert doc["encryption_key_ref"] in error["message"] and "key ring" in error["message"]
    assert error["details"][0]["field"] == "encryption_key_ref"
    assert str(doc["sha256"]) not in answer.text  # no content-related leak in the error
    anchor = outsider.ok(outsider.get(REGULATOR, "/documents/DOC-62"))  # the anchor itself stays readable
    assert anchor["cid"] == doc["cid"]


def test_legacy_documents_follow_the_read_rule_of_their_vehicle(consortium: Consortium) -> None:
    """A version-1 anchor names no parties: its readers are the uploader, the office, the regulator
    and the vehicle's lienholders now — not every org holding the consortium key ring."""
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    bank_b = consortium.gateway("bank-b", ["BankBMSP"])
    ta.register(66)
    _anchor_legacy(ta, 66, "DOC-66", b"legacy order")
    refused = bank_b.get(BANK_B, "/documents/DOC-66/content")
    assert refused.status_code == 403 and "document_parties" in refused.json()["error"]["message"]
    assert ta.get(TA, "/documents/DOC-66/content").content == b"legacy order"


def test_rotation_old_legacy_documents_still_open(consortium: Consortium) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    stale_copy = consortium.root / "stale" / "keyring.json"  # a gateway the new file has not reached yet
    stale_copy.parent.mkdir(mode=0o700)
    shutil.copy2(consortium.keyring, stale_copy)
    stale = consortium.gateway("regulator", ["RegulatorMSP"], keyring=stale_copy)
    ta.register(63)
    old = _anchor_legacy(ta, 63, "DOC-63-OLD", b"before rotation")

    new_kid = rotate_keyring_file(consortium.keyring).active  # gateways re-read the file: no restart
    assert new_kid != old["encryption_key_ref"]
    new = _anchor_legacy(ta, 63, "DOC-63-NEW", b"after rotation")
    assert new["encryption_key_ref"] == new_kid

    assert ta.get(TA, "/documents/DOC-63-OLD/content").content == b"before rotation"
    assert ta.get(TA, "/documents/DOC-63-NEW/content").content == b"after rotation"
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
    legacy = _anchor_legacy(api, 64, "DOC-64", b"order")
    assert legacy["encryption_key_ref"] == current
    assert api.get(TA, "/documents/DOC-64/content").content == b"order"
    # no per-gateway master key was generated, only the org key pairs (sealed in the store by the KEK)
    assert sorted(p.name for p in (settings.data_dir / "keys").iterdir()) == ["orgs", "store.kek"]
    with sqlite3.connect(settings.data_dir / "documents.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM document_master_keys").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM document_org_keys").fetchone()[0] > 0


def test_key_ring_that_turns_unsafe_stops_readiness_and_legacy_reads(consortium: Consortium) -> None:
    ta = consortium.gateway("ta", ["TrafficAuthorityMSP"])
    ta.register(65)
    _anchor_legacy(ta, 65, "DOC-65-OLD", b"old order")
    os.chmod(consortium.keyring, 0o644)
    refused = ta.get(TA, "/documents/DOC-65-OLD/content")
    assert refused.status_code == 503 and "key ring" in refused.json()["error"]["message"]
    assert str(consortium.keyring) not in refused.text  # the path goes to the log only
    ready = ta.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ipfs"] == "down: document key ring unusable"
    # documents wrapped for party orgs need no master key
    assert ta.upload(TA, "court_order", b"order", vin=vin(65), document_id="DOC-65").status_code == 201
    os.chmod(consortium.keyring, 0o600)
    assert ta.get(TA, "/documents/DOC-65-OLD/content").content == b"old order"
