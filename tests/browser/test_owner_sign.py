"""Issue 16: the owner signs a consent on a phone-sized page with the key of their own enrolment (read by
the browser from a local file, WebCrypto signs, nothing but the signature leaves the device); the
ledger verifies the signature against the certificate the vehicle office registered."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Page, expect

from app.ledger.embedded.enrolment import issue_user_identity
from tests.browser.conftest import FREE, Gateway, shot

TA = "officer1@TrafficAuthorityMSP"
DEALER = "dealer1@DealerMSP"


def test_owner_signs_a_consent_on_a_phone(phone_page: Page, gateway: Gateway, tmp_path: Path) -> None:
    assert gateway.ledger_dir is not None
    issued = issue_user_identity(
        gateway.ledger_dir, "TrafficAuthorityMSP", "owner-webphone1", {"role": "owner"}
    )
    key = serialization.load_pem_private_key(issued.key_pem, None)
    key_file = tmp_path / "owner-webphone1.pem"  # the file on the owner's phone
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    gateway.api(TA, "POST", "/owners", json={"certificate_pem": issued.cert_pem.decode(), "vins": [FREE.vin]})
    request = {
        "consent_id": "OC-WEB-1",
        "vin": FREE.vin,
        "kind": "certificate_release",
        "terms": {"buyer_ref": "BUYER-1"},
    }
    gateway.api(DEALER, "POST", "/owner-consents", json=request)
    consent = gateway.api(DEALER, "GET", "/owner-consents/OC-WEB-1")

    phone_page.goto("/owner/sign")
    phone_page.get_by_test_id("consent-document").fill(consent["signed_document"])
    expect(phone_page.get_by_test_id("consent-terms")).to_contain_text(FREE.vin)
    expect(phone_page.get_by_test_id("consent-terms")).to_contain_text("BUYER-1")
    phone_page.get_by_test_id("owner-key").set_input_files(str(key_file))
    phone_page.get_by_test_id("sign-consent").click()
    expect(phone_page.get_by_test_id("consent-signature")).not_to_have_value("")
    expect(phone_page.get_by_test_id("sign-error")).to_have_text("")
    signature = phone_page.get_by_test_id("consent-signature").input_value()
    shot(phone_page, "owner-sign-phone")

    # the phone page is usable at 390 px: nothing wider than the screen
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    signed = gateway.api(DEALER, "POST", "/owner-consents/OC-WEB-1/signature", json={"signature": signature})
    assert signed["result"]["status"] == "SIGNED"
    assert gateway.api(DEALER, "GET", "/owner-consents/OC-WEB-1")["status"] == "SIGNED"
    # a signature over other bytes (the document edited on the page) is refused by the ledger
    request = {**request, "consent_id": "OC-WEB-2"}
    gateway.api(DEALER, "POST", "/owner-consents", json=request)
    other = gateway.api(DEALER, "GET", "/owner-consents/OC-WEB-2")
    phone_page.get_by_test_id("consent-document").fill(other["signed_document"].replace("BUYER-1", "BUYER-9"))
    phone_page.get_by_test_id("sign-consent").click()
    expect(phone_page.get_by_test_id("consent-signature")).not_to_have_value("")
    forged = phone_page.get_by_test_id("consent-signature").input_value()
    token = gateway.token(DEALER)
    refused = gateway.http.post(
        "/api/v1/owner-consents/OC-WEB-2/signature",
        json={"signature": forged},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403 and "field 'signature'" in refused.text
