"""The floor check on a phone (issue 19): BankA's field auditor opens a check on the dealer's line, takes
photos of the real QR codes of two of the three financed cars (rendered PNGs, photographed: tilted,
blurred, JPEG), closes the check and sees the third car listed as not seen; the bank's portfolio shows
the sold-out-of-trust alert, the dealer its stock and curtailments, the regulator the totals."""

from __future__ import annotations

import re

from playwright.sync_api import FilePayload, Page, expect

from app.demo.data import demo_vin
from tests.browser.conftest import Gateway, log_in, new_page, photo_of, shot

TA, BANK, CHECKER = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP", "checker1@BankAMSP"
OEM, DEALER, REGULATOR = "oem1@ManufacturerMSP", "dealer1@DealerMSP", "regulator1@RegulatorMSP"
VINS = [demo_vin(190001 + i, "LFV", "FP9A1") for i in range(3)]


def _stock(gw: Gateway) -> dict[str, bytes]:
    """Three cars registered, financed on BankA's line FL-WEB, each with its QR code photographed."""
    photos = {}
    for i, v in enumerate(VINS):
        vehicle = {
            "vin": v, "plate": f"沪F9{i}001", "make": "BYD", "model": "Seal", "trim": "AWD", "year": 2026,
            "configuration": {}, "registration_date": "2026-01-05", "new_price": "200000.00",
            "currency": "CNY", "region": "Shanghai",
        }  # fmt: skip
        gw.api(
            TA,
            "POST",
            "/vehicles",
            json={
                "vehicle": vehicle,
                "owner": {"name": "Pudong Motors", "id_number": f"91310115MA1K{i}0001X"},
            },
        )
        gw.api(TA, "POST", f"/vehicles/{v}/qr")
        photos[v] = photo_of(gw.api(TA, "GET", f"/vehicles/{v}/qr.png"))
    gw.api(
        OEM,
        "POST",
        "/floor-plan/whitelist",
        json={"dealer_id": "D-WEB", "dealer_msp_id": "DealerMSP", "name": "Pudong Motors"},
    )
    gw.api(BANK, "POST", "/floor-plan/lines", json={
        "line_id": "FL-WEB", "dealer_id": "D-WEB", "approver_msp_id": "ManufacturerMSP", "limit": "500000",
        "currency": "CNY", "rate": "0.058",
    })  # fmt: skip
    for i, v in enumerate(VINS):
        gw.api(BANK, "POST", "/floor-plan/advances", json={
            "advance_id": f"A-WEB-{i}", "line_id": "FL-WEB", "vin": v, "amount": "150000", "odometer_km": 6,
        })  # fmt: skip
    return photos


def test_floor_check_on_a_phone_with_real_qr_photos(phone_page: Page, gateway: Gateway) -> None:
    photos = _stock(gateway)
    page = phone_page
    log_in(page, CHECKER, "/floor-plan")
    page.goto("/floor-plan")
    section = page.locator("section[data-line='FL-WEB']")
    expect(section.get_by_test_id("fp-stock")).to_contain_text(VINS[2])
    form = section.get_by_test_id("open-check")
    form.locator("[name=check_id]").fill("FC-WEB-1")
    form.locator("[name=location]").fill("Pudong lot, row A-C")
    form.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/floor-plan/checks/FC-WEB-1"))
    expect(page.get_by_test_id("check-status")).to_have_text("OPEN")
    for v in VINS[:2]:
        scan = page.get_by_test_id("scan-form")
        scan.locator("[name=image]").set_input_files(
            files=[FilePayload(name="IMG_0001.jpg", mimeType="image/jpeg", buffer=photos[v])]
        )
        scan.locator("[name=odometer_km]").fill("9")
        scan.locator("button[type=submit]").click()
        expect(page.get_by_test_id("flash")).to_contain_text("scan recorded")
        expect(page.locator(f"[data-testid=scans] li[data-vin='{v}']")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    shot(page, "floor-check-phone")
    # a photo with no code in it is answered on the page, nothing is recorded
    scan = page.get_by_test_id("scan-form")
    scan.locator("[name=image]").set_input_files(
        files=[FilePayload(name="blank.jpg", mimeType="image/jpeg", buffer=photo_of(_blank_png()))]
    )
    scan.locator("button[type=submit]").click()
    expect(page.get_by_test_id("problem")).to_contain_text("no readable QR code")
    expect(page.locator("[data-testid=scans] li")).to_have_count(2)

    page.get_by_test_id("close-form").get_by_role("button").click()
    expect(page.get_by_test_id("check-status")).to_have_text("CLOSED")
    expect(page.get_by_test_id("not-seen")).to_have_text(VINS[2])
    shot(page, "floor-check-closed-phone")

    check = gateway.api(BANK, "GET", "/floor-plan/checks/FC-WEB-1")["check"]
    assert (sorted(check["seen"]), check["not_seen"]) == (sorted(VINS[:2]), [VINS[2]])
    alerts = gateway.api(BANK, "GET", "/floor-plan/lines/FL-WEB/alerts")
    assert [(a["rule"], a["vin"]) for a in alerts] == [("sold_out_of_trust:not_seen", VINS[2])]


def test_bank_dealer_and_regulator_views(page: Page, gateway: Gateway) -> None:
    if not gateway.api(BANK, "GET", "/floor-plan/lines/exposure")["dealers"]:
        _stock(gateway)
    log_in(page, BANK)
    page.goto("/floor-plan")
    expect(page.get_by_test_id("fp-exposure")).to_contain_text("D-WEB")
    context = page.context
    for user, testid, text in ((DEALER, "fp-stock", VINS[0]), (REGULATOR, "fp-totals", "BankAMSP")):
        other = new_page(context.browser, gateway)  # type: ignore[arg-type]
        log_in(other, user)
        other.goto("/floor-plan")
        expect(other.get_by_test_id(testid).first).to_contain_text(text)
        other.context.close()


def _blank_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(out, "PNG")
    return out.getvalue()
