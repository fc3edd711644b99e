"""Issue 16: the owner's own pages on a phone. The owner signs in with the key file of their enrolment
(the page signs a one-time challenge with WebCrypto; no password, the key is never sent), sees their
vehicle and a consent waiting for them, signs it from the page, and sees it among the consents given."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Page, expect

from app.demo.data import demo_vin
from app.ledger.embedded.enrolment import issue_user_identity
from tests.browser.conftest import Gateway, shot

pytestmark = pytest.mark.browser

TA = "officer1@TrafficAuthorityMSP"
BANK = "loan1@BankAMSP"
VIN = demo_vin(300161, "LGW", "EF4B2")
ACCOUNT = "owner-webportal1"


def _owner_with_a_waiting_consent(gateway: Gateway, key_file: Path) -> None:
    assert gateway.ledger_dir is not None
    vehicle = {
        "vin": VIN, "plate": "京W30161", "make": "Geely", "model": "Xingyue", "trim": "L 2.0T", "year": 2023,
        "configuration": {}, "registration_date": "2023-04-01", "new_price": "180000.00", "currency": "CNY",
        "region": "Beijing",
    }  # fmt: skip
    owner = {"name": "Portal Owner", "id_number": "110101199001016161"}
    gateway.api(TA, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
    issued = issue_user_identity(gateway.ledger_dir, "TrafficAuthorityMSP", ACCOUNT, {"role": "owner"})
    key = serialization.load_pem_private_key(issued.key_pem, None)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    gateway.api(TA, "POST", "/owners", json={"certificate_pem": issued.cert_pem.decode(), "vins": [VIN]})
    terms = {
        "lien_id": "L-WEB-OWNER", "secured_amount": "88000.00", "currency": "CNY",
        "maturity_date": (date.today() + timedelta(days=900)).isoformat(),
    }  # fmt: skip
    request = {"consent_id": "OC-WEB-PORTAL", "vin": VIN, "kind": "lien_request", "terms": terms}
    gateway.api(BANK, "POST", "/owner-consents", json=request)


def test_owner_signs_in_with_the_key_file_and_signs_a_waiting_consent(
    phone_page: Page, gateway: Gateway, tmp_path: Path
) -> None:
    key_file = tmp_path / f"{ACCOUNT}.pem"  # the file on the owner's phone
    _owner_with_a_waiting_consent(gateway, key_file)
    sent: list[str] = []
    phone_page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)

    phone_page.goto("/owner")  # not signed in: the owner's sign-in page
    expect(phone_page).to_have_url(f"{gateway.base_url}/owner/signin?next=/owner")
    phone_page.get_by_test_id("account-id").fill(ACCOUNT)
    phone_page.get_by_test_id("owner-key").set_input_files(str(key_file))
    phone_page.get_by_test_id("owner-signin").click()
    expect(phone_page.get_by_test_id("owner-account")).to_have_text(ACCOUNT)
    expect(phone_page.get_by_test_id(f"vehicle-{VIN}")).to_contain_text("京W30161")
    waiting = phone_page.get_by_test_id("waiting-OC-WEB-PORTAL")
    expect(waiting).to_contain_text("88000.00")
    expect(waiting).to_contain_text("BankA")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    wide = phone_page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391)"
        ".map(e => e.tagName + '.' + e.className + ':' + (e.textContent || '').slice(0, 40))"
    )
    assert width <= 390, (width, wide)
    shot(phone_page, "owner-portal-phone")

    phone_page.get_by_test_id("sign-OC-WEB-PORTAL").click()
    expect(phone_page.get_by_test_id("consent-terms")).to_contain_text("88000.00")
    phone_page.get_by_test_id("owner-key").set_input_files(str(key_file))
    phone_page.get_by_test_id("sign-consent").click()
    expect(phone_page.get_by_test_id("send-signature")).to_be_visible()
    phone_page.get_by_test_id("send-signature").click()

    expect(phone_page.get_by_test_id("flash")).to_contain_text("OC-WEB-PORTAL")
    expect(phone_page.get_by_test_id("given-OC-WEB-PORTAL")).to_contain_text("SIGNED")
    expect(phone_page.get_by_test_id("consents-waiting")).not_to_contain_text("OC-WEB-PORTAL")
    assert gateway.api(BANK, "GET", "/owner-consents/OC-WEB-PORTAL")["status"] == "SIGNED"
    key_body = "".join(key_file.read_text().splitlines()[1:-1])
    assert sent and not any(key_body[:40] in body for body in sent)  # the key never left the phone
    shot(phone_page, "owner-portal-signed")
