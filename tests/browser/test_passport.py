"""Public pages in a real browser: the QR passport (mortgaged and free car), photo upload scanning,
language switch, phone and desktop layouts. No login anywhere here."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.browser.conftest import FREE, MORTGAGED, Gateway, new_page, shot

pytestmark = pytest.mark.browser


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_passport_of_a_mortgaged_vehicle(page: Page, gateway: Gateway) -> None:
    page.goto(_path(gateway.qr_urls[MORTGAGED.vin]))
    expect(page.get_by_test_id("verdict")).to_contain_text("Genuine code, current")
    expect(page.get_by_test_id("vin")).to_have_text(MORTGAGED.vin)
    expect(page.get_by_test_id("plate")).to_have_text(MORTGAGED.plate)
    expect(page.get_by_test_id("status")).to_have_text("MORTGAGED")
    expect(page.get_by_test_id("mortgage")).to_contain_text("Mortgaged")
    expect(page.get_by_test_id("seizure")).to_contain_text("Not seized")
    expect(page.get_by_test_id("valuation")).to_contain_text("150,000–200,000 CNY")  # 160000 on the ledger
    body = page.content()
    for personal in (MORTGAGED.owner_name, MORTGAGED.owner_id):  # nothing personal on a public page
        assert personal not in body
    assert "160000" not in body  # only the band is public, not the bank's figure
    shot(page, "passport-mortgaged-desktop")


def test_passport_of_a_free_vehicle_on_a_phone(phone_page: Page, gateway: Gateway) -> None:
    phone_page.goto(_path(gateway.qr_urls[FREE.vin]))
    expect(phone_page.get_by_test_id("verdict")).to_contain_text("Genuine code, current")
    expect(phone_page.get_by_test_id("status")).to_have_text("REGISTERED")
    expect(phone_page.get_by_test_id("mortgage")).to_contain_text("Not mortgaged")
    expect(phone_page.get_by_test_id("insurance")).to_contain_text("Insured until")
    expect(phone_page.get_by_test_id("valuation")).to_contain_text("No valuation")
    # Responsive: nothing wider than the phone screen.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    shot(phone_page, "passport-free-phone")


def test_tampered_code_is_not_valid(page: Page, gateway: Gateway) -> None:
    url = _path(gateway.qr_urls[FREE.vin])
    payload, _, sig = url.partition("?s=")
    forged = payload + "?s=" + ("A" if sig[0] != "A" else "B") + sig[1:]
    page.goto(forged)
    expect(page.get_by_test_id("verdict")).to_contain_text("Code NOT valid")
    expect(page.get_by_test_id("verdict")).to_contain_text("invalid_signature")


def test_passport_in_chinese(browser: Browser, gateway: Gateway) -> None:
    page = new_page(browser, gateway, phone=True, locale="zh-CN")  # Accept-Language: zh-CN
    try:
        page.goto(_path(gateway.qr_urls[MORTGAGED.vin]))
        expect(page.get_by_test_id("mortgage")).to_contain_text("已抵押")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        shot(page, "passport-mortgaged-phone-zh")
        page.get_by_role("link", name="English").click()  # the switch remembers the choice
        expect(page.get_by_test_id("mortgage")).to_contain_text("Mortgaged")
        page.goto(f"/passport/{FREE.vin}")
        expect(page.get_by_test_id("mortgage")).to_contain_text("Not mortgaged")
    finally:
        page.context.close()


def test_upload_a_photo_of_the_code_opens_the_passport(phone_page: Page, gateway: Gateway) -> None:
    phone_page.goto("/scan")
    # Headless Chromium on Linux has no BarcodeDetector: the page says so and offers the upload.
    has_detector = phone_page.evaluate("'BarcodeDetector' in window")
    expect(phone_page.locator("#no-camera" if not has_detector else "#camera")).to_be_visible()
    shot(phone_page, "scan-phone")
    phone_page.set_input_files(
        "#image",
        files=[FilePayload(name="photo.jpg", mimeType="image/jpeg", buffer=gateway.photos[MORTGAGED.vin])],
    )
    phone_page.click("#upload-form button[type=submit]")
    expect(phone_page).to_have_url(re.compile(r"/v/[A-Za-z0-9_-]+\?s="))
    expect(phone_page.get_by_test_id("vin")).to_have_text(MORTGAGED.vin)
    expect(phone_page.get_by_test_id("verdict")).to_contain_text("Genuine code, current")


def test_upload_a_photo_without_a_code(page: Page) -> None:
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 200, 200)).save(blank, "PNG")
    page.goto("/scan")
    page.set_input_files(
        "#image", files=[FilePayload(name="x.png", mimeType="image/png", buffer=blank.getvalue())]
    )
    page.click("#upload-form button[type=submit]")
    expect(page.get_by_test_id("scan-problem")).to_contain_text("image:")


def test_home_and_passport_lookup_by_vin(page: Page) -> None:
    page.goto("/")
    page.fill("#vin", MORTGAGED.vin)
    page.get_by_role("button", name="Open passport").click()
    expect(page.get_by_test_id("status")).to_have_text("MORTGAGED")
    # the gateway holds the current code's payload, so the signature is checked here too
    expect(page.get_by_test_id("verdict")).to_contain_text("Genuine code, current")
    shot(page, "home-lookup-desktop")


CAMERA_STUB = """
// A camera and a BarcodeDetector for the test: the 'camera' is a canvas stream, and the detector
// 'sees' the code text the test put in window.__code once the video plays.
window.BarcodeDetector = class {
  constructor(options) { window.__formats = options.formats; }
  detect(source) { return Promise.resolve(source.readyState >= 2 ? [{ rawValue: window.__code }] : []); }
};
navigator.mediaDevices.getUserMedia = function () {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  const g = canvas.getContext("2d");
  setInterval(() => { g.fillStyle = "#" + Math.floor(Math.random() * 4095).toString(16);
                      g.fillRect(0, 0, 64, 64); }, 50);
  return Promise.resolve(canvas.captureStream(10));
};
"""


def test_camera_scan_where_the_browser_has_a_barcode_detector(browser: Browser, gateway: Gateway) -> None:
    page = new_page(browser, gateway, phone=True)
    try:
        page.add_init_script(CAMERA_STUB)
        page.add_init_script(f"window.__code = {gateway.qr_urls[FREE.vin]!r};")
        page.goto("/scan")
        expect(page.locator("#no-camera")).to_be_hidden()
        page.get_by_role("button", name="Scan with the camera").click()
        expect(page).to_have_url(re.compile(r"/v/[A-Za-z0-9_-]+\?s="))
        expect(page.get_by_test_id("vin")).to_have_text(FREE.vin)
        expect(page.get_by_test_id("verdict")).to_contain_text("Genuine code, current")
        assert page.evaluate("window.__formats") is None  # a fresh page after navigation
    finally:
        page.context.close()


def test_unknown_vehicle_is_a_404_page(page: Page) -> None:
    response = page.goto("/passport/LSVAU2A3XN2999999")
    assert response is not None and response.status in (400, 404)
    expect(page.get_by_role("alert")).to_be_visible()
