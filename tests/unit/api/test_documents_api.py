"""Documents: upload → encrypt → IPFS → anchor; download with hash check; verify; tamper detection."""

from __future__ import annotations

import hashlib
import json
import os

from app.ledger.port import Caller
from tests.unit.api.builders import AUDITOR, BANK_A, DEALER, TA, Api, vin


def test_upload_download_verify_round_trip(api: Api) -> None:
    api.register(11)
    content = os.urandom(300_000)  # more than one 256 KiB chunk
    up = api.ok(api.upload(BANK_A, "owner_consent", content, vin=vin(11), document_id="DOC-11"), 201)
    doc = up["document"]
    assert doc["sha256"] == hashlib.sha256(content).hexdigest() and doc["size"] == len(content)
    assert up["result"]["cid"] == doc["cid"] and up["validation_code"] == "VALID"
    # the bytes in IPFS are the encrypted envelope, not the document
    stored = api.gw.documents.store.cat(doc["cid"])
    assert stored.startswith(b"MLENC2") and content[:64] not in stored
    assert doc["parties"] == ["BankAMSP", "RegulatorMSP", "TrafficAuthorityMSP"]

    down = api.get(AUDITOR, "/documents/DOC-11/content")
    assert down.status_code == 200 and down.content == content
    assert down.headers["x-document-sha256"] == doc["sha256"]
    anchor = api.ok(api.get(TA, "/documents/DOC-11"))
    assert anchor["cid"] == doc["cid"] and anchor["vin"] == vin(11)
    assert [d["document_id"] for d in api.ok(api.get(TA, f"/vehicles/{vin(11)}/documents"))] == ["DOC-11"]

    same = api.post(TA, "/documents/DOC-11/verify", files={"file": ("copy.pdf", content)})
    assert api.ok(same)["matches"] is True
    altered = content[:-1] + bytes([content[-1] ^ 1])
    other = api.ok(api.post(TA, "/documents/DOC-11/verify", files={"file": ("copy.pdf", altered)}))
    assert other["matches"] is False and other["presented_sha256"] != other["anchored_sha256"]

    # the dealer's org is no party: it sees the anchor but may not decrypt; re-anchoring is a conflict
    refused = api.get(DEALER, "/documents/DOC-11/content")
    assert refused.status_code == 403 and "document_parties" in refused.json()["error"]["message"]
    again = api.upload(BANK_A, "owner_consent", b"other", vin=vin(11), document_id="DOC-11")
    assert again.status_code == 409
    assert api.get(TA, "/documents/DOC-404/content").status_code == 404


def test_tampered_block_and_misbound_envelope_are_detected(api: Api) -> None:
    api.register(12)
    up = api.ok(
        api.upload(TA, "court_order", b"court order text " * 100, vin=vin(12), document_id="DOC-12"), 201
    )
    gw = api.gw

    # an envelope anchored under another document id does not open (the id is bound as AAD)
    moved = {**up["document"], "document_id": "DOC-12-COPY"}
    caller = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})
    api.portal.call(gw.ledger.submit, caller, "AnchorDocument", [json.dumps(moved)])
    misbound = api.get(TA, "/documents/DOC-12-COPY/content")
    assert misbound.status_code == 502 and "integrity" in misbound.json()["error"]["message"]

    # flip one byte of the stored block: the store or the decryption refuses it
    blocks = list(gw.documents.store.blocks.iter_files())
    assert blocks
    for path in blocks:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    tampered = api.get(TA, "/documents/DOC-12/content")
    assert tampered.status_code == 502 and "integrity check failed" in tampered.json()["error"]["message"]
