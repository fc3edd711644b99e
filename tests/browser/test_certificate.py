"""A dealer scans a mortgaged car, downloads its search certificate, and the PDF's signature and QR
code verify (the signature offline with the dealer org's CA certificate, the QR online)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from app.certificates.document import load_trusted, verify
from app.certificates.pdf import extract_document
from app.qr.decode import decode_qr_codes
from tests.browser.conftest import MORTGAGED, Gateway, password_of, shot

pytestmark = pytest.mark.browser

DEALER = "dealer1@DealerMSP"


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _dealer_ca(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    found = sorted(Path(tmp_path_factory.getbasetemp()).glob("web-gateway*/**/DealerMSP/ca-cert.pem"))
    assert found, "the embedded ledger's DealerMSP CA certificate"
    return found[0].read_bytes()


def test_dealer_scans_a_mortgaged_car_and_its_certificate_verifies(
    page: Page, gateway: Gateway, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page.context.set_default_timeout(90000)  # the PDF is signed and rendered server-side on a shared CPU
    page.goto(_path(gateway.qr_urls[MORTGAGED.vin]))  # the scan, before logging in
    expect(page.get_by_test_id("lienholders")).to_contain_text("BankA")
    expect(page.get_by_test_id("holds")).to_contain_text("No holds")
    expect(page.get_by_test_id("odometer-anomaly")).to_be_visible()
    page.get_by_test_id("request-certificate").click()
    page.fill("#username", DEALER)
    page.fill("#password", password_of(DEALER))
    page.click("form.stack button[type=submit]")
    expect(page.get_by_test_id("vin")).to_have_text(MORTGAGED.vin)  # back on the passport
    with page.expect_download() as info:
        page.get_by_role("button", name="Request a search certificate").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and info.value.suggested_filename.startswith("SC-")

    document = extract_document(pdf)  # the signed JSON inside the PDF
    cert = document["certificate"]
    assert cert["vin"] == MORTGAGED.vin and cert["facts"]["liens"][0]["lienholder_name"] == "BankA"
    assert verify(document, load_trusted(_dealer_ca(tmp_path_factory))).ok

    images = [image.data for p in PdfReader(io.BytesIO(pdf)).pages for image in p.images]
    codes = [text for data in images for text in decode_qr_codes(data)]
    assert codes, "a QR code on the certificate"
    assert cert["certificate_number"] in codes[0] and document["sha256"] in codes[0]
    page.goto(_path(codes[0]))  # what a phone opens from the printed code
    expect(page.get_by_test_id("certificate-verdict")).to_contain_text("Certificate recorded on the ledger")
    expect(page.get_by_test_id("certificate-sha256")).to_have_text(document["sha256"])
    shot(page, "certificate-verified-desktop")

    altered = _path(codes[0])[:-1] + ("0" if codes[0][-1] != "0" else "1")
    page.goto(altered)
    expect(page.get_by_test_id("certificate-verdict")).to_contain_text("NOT verified")
