"""Issue 16.1 over HTTP on the embedded backend: the office enrols an owner, a bank asks for a consent, the
owner signs the document on their own side (the key never reaches the gateway), the bank carries the
signature and lends on it; another owner's signature is refused."""

from __future__ import annotations

import json

from app.ledger.embedded.enrolment import issue_user_identity
from app.services.owners import sign_document, signed_document
from tests.unit.api.builders import BANK_A, DEALER, TA, Api, lien, vin


def _owner(api: Api, account: str) -> tuple[str, bytes]:
    """The owner's certificate (public, handed to the office) and key (stays on the owner's device)."""
    issued = issue_user_identity(
        api.gw.settings.embedded_ledger_dir, "TrafficAuthorityMSP", account, {"role": "owner"}
    )
    return issued.cert_pem.decode(), issued.key_pem


def test_owner_signs_a_consent_and_the_bank_lends_on_it(api: Api) -> None:
    api.register(161)
    api.register(162)
    v, w = vin(161), vin(162)
    alice_cert, alice_key = _owner(api, "owner-apialice1")
    bob_cert, bob_key = _owner(api, "owner-apibob001")
    api.ok(api.post(TA, "/owners", json={"certificate_pem": alice_cert, "vins": [v]}))
    api.ok(api.post(TA, "/owners", json={"certificate_pem": bob_cert, "vins": [w]}))
    refused = api.post(BANK_A, "/owners", json={"certificate_pem": bob_cert, "vins": [w]})
    assert refused.status_code == 403, refused.text

    body = lien(161, "A", "unused")
    del body["consent_document_id"]
    terms = {k: str(body[k]) for k in ("lien_id", "secured_amount", "currency", "maturity_date")}
    api.ok(
        api.post(
            BANK_A,
            "/owner-consents",
            json={"consent_id": "OC-161", "vin": v, "kind": "lien_request", "terms": terms},
        )
    )
    consent = api.ok(api.get(BANK_A, "/owner-consents/OC-161"))
    assert {"consent_id", "vin", "kind", "terms", "grantee", "status", "expires_at"} <= set(consent)
    assert consent["status"] == "REQUESTED" and consent["owner_account"] == "owner-apialice1"
    document = signed_document(consent)

    forged = api.post(
        BANK_A, "/owner-consents/OC-161/signature", json={"signature": sign_document(bob_key, document)}
    )
    assert forged.status_code == 403 and "field 'signature'" in forged.json()["error"]["message"]
    other = {**document, "terms": {**document["terms"], "secured_amount": "1.00"}}
    tampered = api.post(
        BANK_A,
        "/owner-consents/OC-161/signature",
        json={"signature": sign_document(alice_key, other), "signed_terms": json.dumps(other)},
    )
    assert tampered.status_code == 403 and "terms.secured_amount" in tampered.json()["error"]["message"]

    api.ok(
        api.post(
            BANK_A, "/owner-consents/OC-161/signature", json={"signature": sign_document(alice_key, document)}
        )
    )
    api.ok(api.post(BANK_A, "/liens", json={**body, "owner_consent_id": "OC-161"}), 201)
    recorded = api.ok(api.get(BANK_A, "/liens/L-161-A"))
    assert recorded["consent_method"] == "owner_signature"
    listed = api.ok(api.get(TA, "/owners/owner-apialice1/consents"))
    assert [(c["consent_id"], c["status"]) for c in listed] == [("OC-161", "USED")]
    # a dealer may read a consent (for a certificate) but not an owner account
    assert api.get(DEALER, "/owners/owner-apialice1").status_code == 403
