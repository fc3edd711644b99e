"""Issue 16.1, owners as users: the owner's consent was a file the bank uploads; now the owner signs the
exact terms with the key of their own fabric-ca enrolment and the contract verifies it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaincode.runtime.testing import TestIdentity

from .chain import Chain, ContractFailed, owner, vin
from .owner_keys import owner_identity, sign, signed_document

V = vin(161)
W = vin(162)
ALICE = "owner-alice0001"
BOB = "owner-bob000002"


def as_owner(c: Chain, who: TestIdentity, fn: str, *args: Any) -> Any:
    result = c.ledger.invoke(who, fn, *(a if isinstance(a, str) else json.dumps(a) for a in args))
    if not result.ok:
        raise ContractFailed(result.response.status, result.response.message)
    return json.loads(result.response.payload) if result.response.payload else None


def enrol(c: Chain, account: str, *vins: str) -> dict[str, Any]:
    cert = owner_identity(account).cert_pem.decode()
    return c.ok("ta", "EnrolOwner", {"certificate_pem": cert, "vins": list(vins)})


def lien_terms(c: Chain, lien_id: str = "L1", amount: str = "50000") -> dict[str, str]:
    return {
        "lien_id": lien_id,
        "secured_amount": amount,
        "currency": "CNY",
        "maturity_date": c.days_from_now(3 * 365),
    }


def ask(c: Chain, consent_id: str, kind: str, terms: dict[str, str], who: str = "bank_a", v: str = V) -> Any:
    return c.ok(
        who, "RequestOwnerConsent", {"consent_id": consent_id, "vin": v, "kind": kind, "terms": terms}
    )


def signed(c: Chain, consent_id: str, account: str = ALICE, **extra: Any) -> dict[str, Any]:
    consent = c.ok("ta", "GetOwnerConsent", consent_id)
    body = {"signature": sign(owner_identity(account), signed_document(consent)), **extra}
    return c.ok("bank_a", "SignOwnerConsent", consent_id, body)


def lien_request(c: Chain, lien_id: str = "L1", amount: str = "50000", **consent: str) -> dict[str, Any]:
    return {
        "lien_id": lien_id,
        "vin": V,
        "loan_number": f"LN-{lien_id}",
        "mortgage_contract_number": f"MC-{lien_id}",
        "secured_amount": amount,
        "currency": "CNY",
        "maturity_date": c.days_from_now(3 * 365),
        **consent,
    }


@pytest.fixture
def c() -> Chain:
    chain = Chain()
    chain.register(V, label="alice")
    chain.register(W, label="bob")
    chain.value(V, "150000")
    enrol(chain, ALICE, V)
    enrol(chain, BOB, W)
    return chain


def test_a_lien_carries_the_owners_own_signature_not_an_uploaded_file(c: Chain) -> None:
    """The reproduction: a lien's consent was a document id the bank anchored itself."""
    ask(c, "C1", "lien_request", lien_terms(c))
    consent = signed(c, "C1")
    assert consent["status"] == "SIGNED" and consent["signature"]
    lien = c.ok("bank_a", "RequestLien", lien_request(c, owner_consent_id="C1"))
    assert lien["consent_method"] == "owner_signature"
    assert lien["owner_consent_id"] == "C1" and lien.get("consent_document_id") is None
    shown = c.ok("bank_a", "GetOwnerConsent", "C1")
    assert shown["status"] == "USED" and shown["used_by"] == "lien:L1"
    assert {"consent_id", "vin", "kind", "terms", "grantee", "status", "expires_at"} <= set(shown)
    # the scan stays a fallback, flagged as such
    scan = c.document("bank_a", "owner_consent", V)
    fallback = c.ok("bank_a", "RequestLien", lien_request(c, "L2", consent_document_id=scan))
    assert fallback["consent_method"] == "uploaded_scan"


def test_webcrypto_raw_signatures_verify(c: Chain) -> None:
    ask(c, "C1", "lien_request", lien_terms(c))
    consent = c.ok("ta", "GetOwnerConsent", "C1")
    body = {"signature": sign(owner_identity(ALICE), signed_document(consent), raw=True)}
    assert c.ok("dealer", "SignOwnerConsent", "C1", body)["status"] == "SIGNED"


def test_a_consent_signed_by_another_owner_is_refused(c: Chain) -> None:
    ask(c, "C1", "lien_request", lien_terms(c))
    consent = c.ok("ta", "GetOwnerConsent", "C1")
    body = {"signature": sign(owner_identity(BOB), signed_document(consent))}
    msg = c.fail("bank_a", "SignOwnerConsent", "C1", body, status=403)
    assert "field 'signature'" in msg and ALICE in msg
    bob_cert = owner_identity(BOB).cert_pem.decode()
    msg = c.fail("bank_a", "SignOwnerConsent", "C1", {**body, "signer_certificate_pem": bob_cert}, status=403)
    assert "field 'signer_certificate_pem'" in msg and BOB in msg
    assert c.ok("ta", "GetOwnerConsent", "C1")["status"] == "REQUESTED"


def test_a_consent_signed_for_other_terms_is_refused_naming_the_field(c: Chain) -> None:
    ask(c, "C1", "lien_request", lien_terms(c))
    document = signed_document(c.ok("ta", "GetOwnerConsent", "C1"))
    other = {**document, "terms": {**document["terms"], "secured_amount": "90000.00"}}
    body = {"signature": sign(owner_identity(ALICE), other)}
    msg = c.fail("bank_a", "SignOwnerConsent", "C1", body, status=403)
    assert "field 'signature'" in msg
    msg = c.fail("bank_a", "SignOwnerConsent", "C1", {**body, "signed_terms": json.dumps(other)}, status=403)
    assert "field 'terms.secured_amount'" in msg and "90000.00" in msg


def test_a_signed_consent_binds_the_lien_terms_grantee_and_is_spent_once(c: Chain) -> None:
    ask(c, "C1", "lien_request", lien_terms(c))
    msg = c.fail("bank_a", "RequestLien", lien_request(c, owner_consent_id="C1"), status=409)
    assert "not signed by the owner" in msg
    signed(c, "C1")
    msg = c.fail("bank_a", "RequestLien", lien_request(c, amount="60000", owner_consent_id="C1"), status=409)
    assert "field 'secured_amount'" in msg and "50000.00" in msg and "60000.00" in msg
    msg = c.fail("bank_b", "RequestLien", lien_request(c, owner_consent_id="C1"), status=409)
    assert "given to BankAMSP" in msg
    c.ok("bank_a", "RequestLien", lien_request(c, owner_consent_id="C1"))
    msg = c.fail("bank_a", "RequestLien", lien_request(c, "L9", owner_consent_id="C1"), status=409)
    assert "USED" in msg


def test_an_expired_consent_is_refused(c: Chain) -> None:
    c.ok(
        "bank_a",
        "RequestOwnerConsent",
        {"consent_id": "C1", "vin": V, "kind": "lien_request", "terms": lien_terms(c), "valid_days": 1},
    )
    c.advance(days=2)
    assert c.ok("ta", "GetOwnerConsent", "C1")["status"] == "EXPIRED"
    consent = c.ok("ta", "GetOwnerConsent", "C1")
    body = {"signature": sign(owner_identity(ALICE), signed_document(consent))}
    assert "expired" in c.fail("bank_a", "SignOwnerConsent", "C1", body, status=409)


def test_amount_increase_payoff_release_transfer_and_certificate_release(c: Chain) -> None:
    ask(c, "C1", "lien_request", lien_terms(c))
    signed(c, "C1")
    c.ok("bank_a", "RequestLien", lien_request(c, owner_consent_id="C1"))
    c.ok("ta", "RecordLien", "L1")
    # amount increase
    ask(c, "C2", "amount_increase", {"lien_id": "L1", "secured_amount": "60000", "currency": "CNY"})
    signed(c, "C2")
    amendment = {"secured_amount": "60000", "owner_consent_id": "C2", "reason": "top-up"}
    assert float(c.ok("bank_a", "AmendLien", "L1", amendment)["secured_amount"]) == 60000
    # payoff quote released to a dealer (the buyer's side)
    ask(c, "C3", "payoff_quote_release", {"lien_id": "L1", "buyer_ref": "BUYER-7"}, who="dealer")
    consent = c.ok("ta", "GetOwnerConsent", "C3")
    c.ok(
        "dealer",
        "SignOwnerConsent",
        "C3",
        {"signature": sign(owner_identity(ALICE), signed_document(consent))},
    )
    quote = {"request_id": "Q1", "requested_by": "buyer", "owner_consent_id": "C3"}
    assert c.ok("dealer", "RequestPayoffQuote", "L1", quote)["owner_consent_id"] == "C3"
    # certificate release: asked, signed, readable by the certificate issuer
    ask(c, "C4", "certificate_release", {"buyer_ref": "BUYER-7"}, who="dealer")
    consent = c.ok("ta", "GetOwnerConsent", "C4")
    c.ok(
        "dealer",
        "SignOwnerConsent",
        "C4",
        {"signature": sign(owner_identity(ALICE), signed_document(consent))},
    )
    assert c.ok("dealer", "GetOwnerConsent", "C4")["status"] == "SIGNED"
    # transfer: the office asks for the current owner's consent to the new owner hash
    _, new_hash = owner("carol")
    ask(c, "C5", "transfer", {"new_owner_hash": new_hash}, who="ta")
    signed(c, "C5")


def test_transfer_consent_binds_the_new_owner(c: Chain) -> None:
    transient, new_hash = owner("carol")
    _, other_hash = owner("dave")
    ask(c, "C5", "transfer", {"new_owner_hash": other_hash}, who="ta")
    signed(c, "C5")
    body = {"new_owner_hash": new_hash, "reason": "sale", "owner_consent_id": "C5"}
    msg = c.fail("ta", "TransferTitle", V, body, status=409, transient=transient)
    assert "field 'new_owner_hash'" in msg
    ask(c, "C6", "transfer", {"new_owner_hash": new_hash}, who="ta")
    signed(c, "C6")
    c.ok("ta", "TransferTitle", V, {**body, "owner_consent_id": "C6"}, transient=transient)
    name, payload = c.last_event()
    assert name == "TitleTransferred" and payload["owner_consent_id"] == "C6"
    # Alice no longer holds V: a consent for it is not asked of her
    request = {"consent_id": "C7", "vin": V, "kind": "lien_request", "terms": lien_terms(c)}
    assert "not enrolled" in c.fail("bank_a", "RequestOwnerConsent", request, status=409)


def test_enrolment_refuses_a_certificate_without_role_owner_or_with_a_personal_name(c: Chain) -> None:
    from chaincode.runtime.testing import make_identity

    clerk = make_identity("TrafficAuthorityMSP", "owner-clerk0001", {"role": "registrar"}).cert_pem.decode()
    msg = c.fail("ta", "EnrolOwner", {"certificate_pem": clerk, "vins": [V]}, status=400)
    assert "role is registrar" in msg
    named = make_identity("TrafficAuthorityMSP", "Li Wei", {"role": "owner"}).cert_pem.decode()
    assert "pseudonymous" in c.fail("ta", "EnrolOwner", {"certificate_pem": named, "vins": [V]}, status=400)
    foreign = make_identity("BankAMSP", "owner-bank00001", {"role": "owner"}).cert_pem.decode()
    msg = c.fail("ta", "EnrolOwner", {"certificate_pem": foreign, "vins": [V]}, status=400)
    assert "not by the vehicle office's CA" in msg
    msg = c.fail("ta", "EnrolOwner", {"certificate_pem": owner_identity(BOB).cert_pem.decode(), "vins": [V]},
                 status=409)  # fmt: skip
    assert ALICE in msg
    assert "rule 'owner_enrol'" in c.fail(
        "bank_a", "EnrolOwner", {"certificate_pem": clerk, "vins": [V]}, status=403
    )


def test_events_carry_no_personal_data(c: Chain) -> None:
    ask(c, "C1", "lien_request", lien_terms(c))
    name, payload = c.last_event()
    assert name == "OwnerConsentRequested"
    assert set(payload) == {
        "tx_id",
        "at",
        "consent_id",
        "vin",
        "kind",
        "grantee",
        "owner_account",
        "expires_at",
    }
    signed(c, "C1")
    name, payload = c.last_event()
    assert name == "OwnerConsentSigned" and "Owner alice" not in json.dumps(payload)


def test_an_owner_reads_their_own_personal_data_and_nobody_elses(c: Chain) -> None:
    alice, bob = owner_identity(ALICE), owner_identity(BOB)
    assert as_owner(c, alice, "GetOwner", V)["name"] == "Owner alice"
    assert as_owner(c, bob, "GetOwner", W)["name"] == "Owner bob"
    with pytest.raises(ContractFailed) as refused:
        as_owner(c, bob, "GetOwner", V)
    assert refused.value.status == 403 and "owner_self" in refused.value.message
    assert as_owner(c, alice, "GetOwnerAccount", ALICE)["vins"] == [V]
    with pytest.raises(ContractFailed) as refused:
        as_owner(c, bob, "GetOwnerAccount", ALICE)
    assert refused.value.status == 403
    ask(c, "C1", "lien_request", lien_terms(c))
    assert [x["consent_id"] for x in as_owner(c, alice, "GetOwnerConsents", ALICE)] == ["C1"]
    with pytest.raises(ContractFailed):
        as_owner(c, bob, "GetOwnerConsent", "C1")
    # an owner signs as the transaction's creator too (a CLI holding their key)
    consent = as_owner(c, alice, "GetOwnerConsent", "C1")
    body = {"signature": sign(alice, signed_document(consent))}
    assert as_owner(c, alice, "SignOwnerConsent", "C1", body)["status"] == "SIGNED"
    # an owner identity writes nothing else
    with pytest.raises(ContractFailed) as refused:
        as_owner(c, alice, "RequestLien", lien_request(c, owner_consent_id="C1"))
    assert refused.value.status == 403
