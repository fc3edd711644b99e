"""Issue 15 over HTTP on the embedded backend: the paths a bank, the vehicle office, an insurer and the
regulator use for lien law (PATCH /liens/{id} and PATCH /vehicles/{vin} used to answer 405)."""

from __future__ import annotations

from datetime import timedelta

from app.users.provision import demo_password
from tests.unit.api.builders import BANK_A, BANK_B, DEALER, INSURER, REGULATOR, TA, TODAY, Api, lien, vin

BANK_A_MODELS = "models1@BankAMSP"
BANK_A_APPRAISER = "appraiser1@BankAMSP"


def _doc(api: Api, user: str, doc_type: str, text: str, **link: str) -> str:
    return str(api.ok(api.upload(user, doc_type, text.encode(), **link), 201)["document"]["document_id"])


def _two_liens(api: Api, serial: int) -> tuple[str, str]:
    api.register(serial)
    senior = api.mortgage(serial, "A", bank=BANK_A, amount="70000.00")
    consent = _doc(api, BANK_B, "owner_consent", f"consent {serial}B", vin=vin(serial))
    api.ok(api.post(BANK_B, "/liens", json=lien(serial, "B", consent, amount="40000.00")), 201)
    api.ok(api.post(TA, f"/liens/L-{serial}-B/record"))
    return senior, f"L-{serial}-B"


def test_junior_disposal_needs_the_seniors_consent_and_pays_by_balance(api: Api) -> None:
    senior, junior = _two_liens(api, 151)
    v = vin(151)
    notice = _doc(api, BANK_B, "foreclosure_notice", "notice 151", lien_id=junior)
    api.ok(api.post(BANK_B, f"/liens/{junior}/foreclosure", json={"notice_document_id": notice}))
    sale = _doc(api, BANK_B, "sale_contract", "sale 151", vin=v)
    disposal = {
        "sale_price": "120000.00",
        "currency": "CNY",
        "buyer": {"name": "Zhou Ming", "id_number": "110101199505055151"},
        "sale_document_id": sale,
    }
    refused = api.post(BANK_B, f"/vehicles/{v}/disposal", json=disposal)
    assert refused.status_code == 409, refused.text
    assert "rule 'senior_consent'" in refused.json()["error"]["message"]
    enforcement = api.ok(api.get(BANK_B, f"/vehicles/{v}/enforcement"))
    assert [(x["lien_id"], x["senior"]) for x in enforcement["liens"]] == [(senior, True), (junior, False)]

    balance = {"outstanding": "30000.00", "currency": "CNY", "as_of": TODAY.isoformat()}
    api.ok(api.post(BANK_A, f"/liens/{senior}/balance", json=balance))
    api.ok(
        api.post(
            BANK_A,
            f"/liens/{senior}/enforcement-consents",
            json={"foreclosing_lien_id": junior, "below_reserve": True},
        )
    )
    result = api.ok(api.post(BANK_B, f"/vehicles/{v}/disposal", json=disposal))["result"]
    assert [(p["lien_id"], p["paid"]) for p in result["distribution"]] == [
        (senior, "30000.00"),
        (junior, "40000.00"),
    ]
    assert result["surplus"] == "50000.00"
    assert api.ok(api.get(BANK_A, f"/vehicles/{v}/surpluses"))[0]["amount"] == "50000.00"


def test_payoff_amend_extend_and_patch_routes(api: Api) -> None:
    senior, junior = _two_liens(api, 152)
    v = vin(152)
    amended = api.client.patch(
        f"/api/v1/liens/{senior}",
        headers=api.headers(BANK_A),
        json={"mortgage_contract_number": "BA-MC-NEW", "reason": "renumbered"},
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["result"]["version"] == 2
    raise_without_consent = api.client.patch(
        f"/api/v1/liens/{senior}",
        headers=api.headers(BANK_A),
        json={"secured_amount": "80000", "reason": "x"},
    )
    assert raise_without_consent.status_code == 409
    assert "rule 'owner_consent'" in raise_without_consent.json()["error"]["message"]
    later = (TODAY + timedelta(days=2000)).isoformat()
    assert (
        api.ok(api.post(BANK_A, f"/liens/{senior}/extension", json={"maturity_date": later}))["result"][
            "maturity_date"
        ]
        == later
    )

    consent = _doc(api, DEALER, "owner_consent", "payoff consent 152", vin=v)
    request = {"request_id": "R1", "requested_by": "dealer", "owner_consent_document_id": consent}
    api.ok(api.post(DEALER, f"/liens/{junior}/payoff-requests", json=request), 201)
    quote = {
        "quote_id": "Q1",
        "request_id": "R1",
        "amount": "39000.00",
        "currency": "CNY",
        "good_through": (TODAY + timedelta(days=10)).isoformat(),
    }
    api.ok(api.post(BANK_B, f"/liens/{junior}/payoff-quotes", json=quote), 201)
    # the dealer that asked reads the answer (and finds its id by listing), not the lien's account
    assert [q["quote_id"] for q in api.ok(api.get(DEALER, f"/liens/{junior}/payoff-quotes"))] == ["Q1"]
    read = api.ok(api.get(DEALER, f"/liens/{junior}/payoff-quotes/Q1"))
    assert (read["amount"], read["good_through"], read["vin"], read["status"]) == (
        "39000.00",
        quote["good_through"],
        v,
        "OPEN",
    )
    assert "balance" not in read and "payoff_requests" not in read
    assert api.get(DEALER, f"/liens/{junior}/account").status_code == 403
    refused = api.get(BANK_A, f"/liens/{junior}/payoff-quotes/Q1")
    assert refused.status_code == 403 and "rule 'payoff_quote_party'" in refused.json()["error"]["message"]
    assert api.ok(api.get(BANK_A, f"/liens/{junior}/payoff-quotes")) == []
    assert api.get(INSURER, f"/liens/{junior}/payoff-quotes/Q1").status_code == 403
    assert api.ok(api.get(REGULATOR, f"/liens/{junior}/payoff-quotes/Q1"))["requester_msp"] == "DealerMSP"
    assert api.get(DEALER, f"/liens/{junior}/payoff-quotes/Q9").status_code == 404
    assert api.get(DEALER, f"/liens/{junior}/payoff-quotes/bad%20id").status_code in (400, 422)
    payment = {
        "quote_id": "Q1",
        "amount": "39000.00",
        "currency": "CNY",
        "paid_on": TODAY.isoformat(),
        "payment_reference": "WIRE-152",
    }
    released = api.ok(api.post(BANK_B, f"/liens/{junior}/payoff-payments", json=payment))["result"]
    assert (released["status"], released["end_reason"]) == ("RELEASED", "payoff")
    assert api.ok(api.get(BANK_B, f"/liens/{junior}/account"))["payoff_quotes"][0]["paid"] is True
    assert api.ok(api.get(DEALER, f"/liens/{junior}/payoff-quotes/Q1"))["status"] == "PAID"

    change_doc = _doc(api, TA, "registration_change", "plate change 152", vin=v)
    change = {
        "change_id": "RC-152",
        "document_id": change_doc,
        "colour": "black",
        "owner_contact": {"phone": "13812345678"},
    }
    patched = api.client.patch(f"/api/v1/vehicles/{v}", headers=api.headers(TA), json=change)
    assert patched.status_code == 200, patched.text
    assert patched.json()["result"]["colour"] == "black"
    assert api.ok(api.get(TA, f"/vehicles/{v}/owner"))["phone"] == "13812345678"
    assert (
        api.ok(api.get(BANK_A, f"/vehicles/{v}/registration-changes"))[0]["changes"]["colour"]["after"]
        == "black"
    )

    swept = api.ok(api.post(INSURER, "/liens/maturity-sweep", json={"page_size": 50}))
    assert swept["result"]["lapsed"] == []
    assert api.post(REGULATOR, "/liens/maturity-sweep", json={}).status_code == 403


def test_holds_brands_model_versions_appraisals_and_alerts(api: Api) -> None:
    api.register(153)
    v = vin(153)
    police = _doc(api, TA, "police_report", "theft report 153", vin=v)
    hold = {"kind": "stolen", "document_id": police, "authority": "Beijing PSB", "reason": "reported stolen"}
    api.ok(api.post(TA, f"/vehicles/{v}/holds", json=hold))
    assert api.ok(api.get(DEALER, f"/vehicles/{v}/status"))["holds"] == ["stolen"]
    lift = {"document_id": police, "authority": "Beijing PSB", "reason": "recovered"}
    api.ok(api.post(TA, f"/vehicles/{v}/holds/stolen/lift", json=lift))

    loss = _doc(api, INSURER, "loss_report", "flood 153", vin=v)
    api.ok(api.post(INSURER, f"/vehicles/{v}/brands", json={"kind": "flood", "document_id": loss}))
    assert [b["kind"] for b in api.ok(api.get(DEALER, f"/vehicles/{v}/status"))["brands"]] == ["flood"]

    # a bank values only a vehicle it holds or has requested a lien on (rule valuer_lien)
    consent = api.ok(api.upload(BANK_A, "owner_consent", b"consent 153", vin=v), 201)["document"]
    api.ok(api.post(BANK_A, "/liens", json=lien(153, "V", consent["document_id"])), 201)
    zeros = {
        "valuation_id": "VAL-153-0",
        "vin": v,
        "value": "100000.00",
        "currency": "CNY",
        "interval_low": "90000.00",
        "interval_high": "110000.00",
        "coverage": 0.9,
        "model_id": "manual",
        "model_version": "-",
        "inputs_hash": "0" * 64,
        "valuer": "desk",
    }
    assert api.post(BANK_A, "/valuation-records", json=zeros).status_code == 400
    manual = {**zeros, "inputs_hash": "ab" * 32}
    assert api.post(BANK_A, "/valuation-records", json=manual).status_code == 403
    appraisal = _doc(api, BANK_A_APPRAISER, "appraisal", "appraisal 153", vin=v)
    recorded = api.ok(
        api.post(BANK_A_APPRAISER, "/valuation-records", json={**manual, "appraisal_document_id": appraisal}),
        201,
    )
    assert recorded["result"]["attestation"] == f"appraisal:{appraisal}"
    model = {"model_id": "hedonic", "model_version": "2.0.0", "model_card_sha256": "ef" * 32}
    assert api.post(BANK_A, "/model-versions", json=model).status_code == 403
    api.ok(api.post(BANK_A_MODELS, "/model-versions", json=model), 201)
    assert [m["model_version"] for m in api.ok(api.get(REGULATOR, "/model-versions"))] == ["2.0.0"]

    api.register(154)
    lien_id = api.mortgage(154)
    alert = {
        "alert_id": "A-154",
        "lien_id": lien_id,
        "rule": "ltv_breach",
        "severity": "high",
        "alert_sha256": "12" * 32,
    }
    api.ok(api.post(BANK_A, "/risk-alerts", json=alert), 201)
    assert api.ok(api.get(REGULATOR, "/risk-alerts/counts"))["unacknowledged"] == 1
    api.ok(api.post(BANK_A, "/risk-alerts/A-154/acknowledge", json={"note": "customer called"}))
    counts = api.ok(api.get(REGULATOR, "/risk-alerts/counts"))
    assert (counts["total"], counts["unacknowledged"], counts["by_severity"]) == (1, 0, {"high": 1})


def test_regulator_dashboard_counts_alerts_from_the_ledger(api: Api) -> None:
    api.register(155)
    lien_id = api.mortgage(155)
    for n, severity in enumerate(("high", "critical", "high")):
        alert = {
            "alert_id": f"A-155-{n}",
            "lien_id": lien_id,
            "rule": "r",
            "severity": severity,
            "alert_sha256": "34" * 32,
        }
        api.ok(api.post(BANK_A, "/risk-alerts", json=alert), 201)
    api.ok(api.post(BANK_A, "/risk-alerts/A-155-0/acknowledge", json={"note": "handled"}))
    login = api.client.post(
        "/login",
        data={
            "username": REGULATOR,
            "password": demo_password("RegulatorMSP", "regulator1"),
            "csrf": _login_csrf(api),
        },
        headers={"Origin": str(api.client.base_url)},
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    page = api.client.get("/regulator")
    assert page.status_code == 200, page.text
    assert 'data-testid="ledger-alerts"' in page.text and "(3, 2 unacknowledged)" in page.text


def _login_csrf(api: Api) -> str:
    """The login form's CSRF token (every form post carries one)."""
    page = api.client.get("/login")
    return page.text.split('name="csrf" value="')[1].split('"')[0]


def test_lender_page_reports_balances_and_consents(api: Api) -> None:
    senior, junior = _two_liens(api, 156)
    origin = {"Origin": str(api.client.base_url)}
    password = demo_password("BankAMSP", "loan1")
    form = {"username": BANK_A, "password": password, "csrf": _login_csrf(api)}
    login = api.client.post("/login", data=form, headers=origin, follow_redirects=False)
    assert login.status_code == 303, login.text
    page = api.client.get("/lender")
    assert 'data-testid="balance-form"' in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    done = api.client.post(
        f"/lender/liens/{senior}/balance", data={"csrf": csrf, "outstanding": "65000"}, headers=origin
    )
    assert done.status_code == 200 and f"{senior}: balance reported" in done.text
    assert api.ok(api.get(BANK_A, f"/liens/{senior}/account"))["balance"]["outstanding"] == "65000"
    consent = {"csrf": csrf, "foreclosing_lien_id": junior, "below_reserve": "1"}
    done = api.client.post(f"/lender/liens/{senior}/consent", data=consent, headers=origin)
    assert done.status_code == 200 and f"{senior}: consent to the sale recorded" in done.text
    refused = api.client.post(f"/lender/liens/{junior}/consent", data=consent, headers=origin)
    assert "rule &#39;lienholder_only&#39;" in refused.text or "rule 'lienholder_only'" in refused.text
