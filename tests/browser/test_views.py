"""Logged-in pages in a real browser: timeline, lender (request and release), auditor search + CSV,
regulator dashboard (read-only). Every read goes through the gateway's auth and the chaincode's rules."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.conftest import FREE, LIFECYCLE_VIN, MORTGAGED, RELEASE_LIEN, Gateway, log_in, shot

pytestmark = pytest.mark.browser

AUDITOR, REGULATOR, LENDER = "auditor1@TrafficAuthorityMSP", "regulator1@RegulatorMSP", "loan1@BankAMSP"
MORTGAGE_LIEN = f"L-{MORTGAGED.vin[-6:]}"  # the demo seed's lien


def test_login_is_required_and_wrong_password_is_refused(page: Page) -> None:
    page.goto(f"/vehicles/{MORTGAGED.vin}/timeline")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", AUDITOR)
    page.fill("#password", "wrong")
    page.click("form.stack button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")


def test_walk_the_timeline(page: Page, gateway: Gateway) -> None:
    log_in(page, AUDITOR, f"/vehicles/{MORTGAGED.vin}/timeline")
    timeline = page.get_by_test_id("timeline")
    events = timeline.locator("li.ev")
    names = [events.nth(i).get_attribute("data-event") for i in range(events.count())]
    assert names[0] == "VehicleRegistered"
    for expected in (
        "ValuationRecorded",
        "DocumentAnchored",
        "LienRequested",
        "LienRecorded",
        "QrIdentityIssued",
    ):
        assert expected in names
    assert names.index("LienRequested") < names.index("LienRecorded")
    blocks = [int(b) for b in timeline.get_by_test_id("block").all_inner_texts()]
    assert blocks == sorted(blocks) and blocks[0] >= 1
    orgs = timeline.get_by_test_id("org").all_inner_texts()
    assert orgs[names.index("VehicleRegistered")] == "TrafficAuthorityMSP"
    assert orgs[names.index("LienRequested")] == "BankAMSP"
    assert orgs[names.index("LienRecorded")] == "TrafficAuthorityMSP"
    # the consent document is fetched from IPFS and checked against its anchored SHA-256
    consent = events.nth(names.index("DocumentAnchored")).get_by_test_id("document")
    expect(consent.get_by_test_id("doc-verified")).to_be_visible()
    shot(page, "timeline-desktop")
    with page.expect_download() as download:
        consent.get_by_role("link").first.click()
    assert download.value.path().read_bytes().startswith(b"Owner consent")
    # each tx id opens its audit record
    events.nth(names.index("LienRecorded")).locator(".txid a").click()
    expect(page.get_by_test_id("audit-rows")).to_contain_text("VALID")


def test_timeline_from_registration_to_disposal(page: Page) -> None:
    log_in(page, REGULATOR, f"/vehicles/{LIFECYCLE_VIN}/timeline")
    events = page.get_by_test_id("timeline").locator("li.ev")
    names = [events.nth(i).get_attribute("data-event") for i in range(events.count())]
    orgs = page.get_by_test_id("timeline").get_by_test_id("org").all_inner_texts()
    by_event = dict(zip(names, orgs, strict=True))
    assert names[0] == "VehicleRegistered" and names[-1] == "DisposalCompleted"
    assert by_event["InsurancePolicyRecorded"] == "InsurerMSP"
    assert by_event["MaintenanceRecorded"] == "DealerMSP"
    assert by_event["OdometerAnomaly"] == "DealerMSP"
    assert by_event["ForeclosureStarted"] == "BankAMSP"
    assert by_event["DisposalCompleted"] == "BankAMSP"
    assert names.count("LienRecorded") == 2 and "LienReleased" in names
    assert "TitleTransferred" not in names  # refused while mortgaged: no transaction, no event
    for doc_type in ("owner_consent", "foreclosure_notice", "sale_contract"):  # each checked in IPFS
        anchored = page.get_by_test_id("document").filter(has_text=doc_type)
        expect(anchored.first.get_by_test_id("doc-verified")).to_be_visible()
    expect(events.nth(names.index("DisposalCompleted"))).to_contain_text("surplus=")
    shot(page, "timeline-disposal-desktop")


def test_lender_view_request_and_release(page: Page, gateway: Gateway) -> None:
    log_in(page, LENDER)
    expect(page).to_have_url(re.compile(r"/lender$"))
    row = page.locator(f"tr[data-lien='{MORTGAGE_LIEN}']")
    expect(row).to_contain_text("RECORDED")
    expect(row.get_by_test_id("ltv")).to_have_text("75.0%")  # 120000 / 160000
    expect(row).to_contain_text("150000.00–170000.00")
    shot(page, "lender-desktop")

    form = page.get_by_test_id("request-form")
    lien_id = "L-WEB-REQ"
    form.locator("[name=lien_id]").fill(lien_id)
    form.locator("[name=vin]").fill(FREE.vin)
    form.locator("[name=loan_number]").fill("BA-WEB-REQ")
    form.locator("[name=mortgage_contract_number]").fill("MC-WEB-REQ")
    form.locator("[name=secured_amount]").fill("50000.00")
    form.locator("[name=maturity_date]").fill((date.today() + timedelta(days=700)).isoformat())
    form.locator("[name=consent_file]").set_input_files(
        files=[FilePayload(name="consent.txt", mimeType="text/plain", buffer=b"I consent. Li Wei")]
    )
    form.get_by_role("button", name="Submit").click()
    expect(page.get_by_test_id("flash")).to_contain_text(f"{lien_id}: requested")
    expect(page.locator(f"tr[data-lien='{lien_id}']")).to_contain_text("REQUESTED")

    page.locator(f"tr[data-lien='{RELEASE_LIEN}'] button.danger").click()
    expect(page.get_by_test_id("flash")).to_contain_text(f"{RELEASE_LIEN}: released")
    expect(page.locator(f"tr[data-lien='{RELEASE_LIEN}']")).to_contain_text("RELEASED")
    lien = gateway.api(LENDER, "GET", f"/liens/{RELEASE_LIEN}")
    assert lien["status"] == "RELEASED"


def test_lender_request_with_a_bad_vin_names_the_field(page: Page) -> None:
    log_in(page, LENDER)
    form = page.get_by_test_id("request-form")
    for name, value in (("lien_id", "L-WEB-BAD"), ("vin", "LSVAU2A30N2100001"), ("loan_number", "X1"),
                        ("mortgage_contract_number", "X1"), ("secured_amount", "1000"),
                        ("consent_document_id", "DOC-NONE")):  # fmt: skip
        form.locator(f"[name={name}]").fill(value)
    form.locator("[name=maturity_date]").fill((date.today() + timedelta(days=100)).isoformat())
    form.get_by_role("button", name="Submit").click()
    expect(page.get_by_test_id("flash")).to_contain_text("vin")
    expect(page.get_by_test_id("flash")).to_contain_text("Refused")
    assert page.locator("tr[data-lien='L-WEB-BAD']").count() == 0


def test_lender_view_on_a_phone(phone_page: Page) -> None:
    log_in(phone_page, LENDER)
    expect(phone_page.locator(f"tr[data-lien='{MORTGAGE_LIEN}']")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    shot(phone_page, "lender-phone")


def test_auditor_search_and_csv_export(page: Page, gateway: Gateway) -> None:
    log_in(page, AUDITOR)
    expect(page).to_have_url(re.compile(r"/audit$"))
    for query in (MORTGAGED.vin, MORTGAGED.plate):
        page.fill("#q", query)
        page.get_by_role("button", name="Search").click()
        rows = page.get_by_test_id("audit-rows").locator("tbody tr")
        expect(rows.first).to_contain_text(MORTGAGED.vin)
        assert rows.count() >= 3  # vehicle versions + the lien's versions
    shot(page, "audit-desktop")
    table_rows = page.get_by_test_id("audit-rows").locator("tbody tr").count()
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    parsed = list(csv.reader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
    assert parsed[0] == ["kind", "key", "tx_id", "block_number", "timestamp", "org", "status", "is_delete"]
    assert len(parsed) - 1 == table_rows
    tx_id = next(r[2] for r in parsed[1:] if r[0] == "lien" and r[6] == "RECORDED")
    assert {r[5] for r in parsed[1:]} <= {"TrafficAuthorityMSP", "BankAMSP"}

    page.fill("#q", MORTGAGE_LIEN)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("audit-rows")).to_contain_text("REQUESTED")
    page.fill("#q", tx_id)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("audit-rows")).to_contain_text("VALID")
    expect(page.get_by_test_id("audit-rows")).to_contain_text("TrafficAuthorityMSP")


def test_regulator_sees_charts_and_no_write_action(page: Page, gateway: Gateway) -> None:
    log_in(page, REGULATOR)
    expect(page).to_have_url(re.compile(r"/regulator$"))
    expect(page.get_by_test_id("read-only")).to_be_visible()
    assert page.locator("svg.chart").count() == 4
    counts = dict(
        zip(
            page.get_by_test_id("status-counts").locator("td:nth-child(1)").all_text_contents(),
            page.get_by_test_id("status-counts").locator("td:nth-child(2)").all_text_contents(),
            strict=True,
        )
    )
    assert int(counts["MORTGAGED"]) >= 1 and int(counts["REGISTERED"]) >= 1
    shot(page, "regulator-desktop")

    for path in ("/regulator", f"/vehicles/{MORTGAGED.vin}/timeline", f"/audit?q={MORTGAGED.vin}"):
        page.goto(path)
        forms = page.locator("form[method=post]")
        actions = [forms.nth(i).get_attribute("action") for i in range(forms.count())]
        assert actions == ["/logout"], f"{path}: write forms {actions}"
        assert page.locator("button.danger").count() == 0
    page.goto("/lender")
    expect(page.get_by_role("alert")).to_contain_text("not a bank")
    # A forged post is refused too (the CSRF token of the regulator's own session does not help).
    csrf = page.evaluate("document.cookie")  # the session cookie is HttpOnly: invisible to scripts
    assert "mledger_session" not in csrf
    answer = page.request.post(f"/lender/liens/{MORTGAGE_LIEN}/release", form={"csrf": "x"})
    assert answer.status == 403
    assert gateway.api(AUDITOR, "GET", f"/liens/{MORTGAGE_LIEN}")["status"] == "RECORDED"


def test_regulator_dashboard_on_a_phone_in_chinese(phone_page: Page) -> None:
    log_in(phone_page, REGULATOR)
    phone_page.goto("/regulator?lang=zh")
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("监管")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(phone_page, "regulator-phone-zh")


def test_loan_officer_may_not_read_history(page: Page) -> None:
    log_in(page, LENDER)
    page.goto(f"/vehicles/{MORTGAGED.vin}/timeline")
    expect(page.get_by_role("alert")).to_contain_text("history_read")  # the chaincode's own rule
