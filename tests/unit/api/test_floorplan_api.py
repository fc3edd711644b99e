"""Floor-plan finance over HTTP on the embedded backend (issue 19): the manufacturer whitelists, the bank
opens a line and finances cars, the field auditor scans a real QR code (text and photo) and closes the
check, the retail sale pays off and moves the title, the dealer pledges a receivable once."""

from __future__ import annotations

from typing import Any

from tests.unit.api.builders import BANK_A, BANK_B, DEALER, REGULATOR, TA, TODAY, Api, vin

OEM = "oem1@ManufacturerMSP"
CHECKER = "checker1@BankAMSP"


def _setup(api: Api, serials: tuple[int, ...]) -> None:
    for serial in serials:
        api.register(serial)
    api.ok(
        api.post(
            OEM,
            "/floor-plan/whitelist",
            json={"dealer_id": "D1", "dealer_msp_id": "DealerMSP", "name": "Pudong Motors"},
        )
    )
    line = {
        "line_id": "FL1",
        "dealer_id": "D1",
        "approver_msp_id": "ManufacturerMSP",
        "limit": "300000",
        "currency": "CNY",
        "rate": "0.058",
    }
    api.ok(api.post(BANK_A, "/floor-plan/lines", json=line), 201)
    for serial in serials:
        body = {
            "advance_id": f"A{serial}",
            "line_id": "FL1",
            "vin": vin(serial),
            "amount": "100000",
            "odometer_km": 5,
        }
        api.ok(api.post(BANK_A, "/floor-plan/advances", json=body), 201)


def _payment(amount: str) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY", "paid_on": TODAY.isoformat(), "payment_reference": "PO-1"}


def test_floor_check_by_qr_text_and_photo_then_close(api: Api) -> None:
    _setup(api, (191, 192, 193))
    texts = {s: api.ok(api.post(TA, f"/vehicles/{vin(s)}/qr"), 201)["payload"] for s in (191, 192)}
    api.ok(
        api.post(
            CHECKER, "/floor-plan/checks", json={"check_id": "FC1", "line_id": "FL1", "location": "Pudong"}
        ),
        201,
    )
    scanned = api.ok(
        api.post(CHECKER, "/floor-plan/checks/FC1/scans", json={"qr_text": texts[191], "place": "row A"})
    )
    assert scanned["result"]["vin"] == vin(191)
    png = api.get(TA, f"/vehicles/{vin(192)}/qr.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    photo = api.client.post(
        "/api/v1/floor-plan/checks/FC1/photo-scans",
        headers=api.headers(CHECKER),
        files={"image": ("qr.png", png.content, "image/png")},
        data={"place": "row B", "latitude": "31.22", "longitude": "121.54"},
    )
    assert photo.status_code == 200, photo.text
    assert photo.json()["result"]["vin"] == vin(192)
    forged = texts[191][:-6] + ("AAAAAA" if not texts[191].endswith("AAAAAA") else "BBBBBB")
    refused = api.post(CHECKER, "/floor-plan/checks/FC1/scans", json={"qr_text": forged, "place": "x"})
    assert refused.status_code == 400, refused.text
    closed = api.ok(api.post(BANK_A, "/floor-plan/checks/FC1/close"))["result"]
    assert closed["not_seen"] == [vin(193)] and len(closed["alerts"]) == 1
    alerts = api.ok(api.get(BANK_A, "/floor-plan/lines/FL1/alerts"))
    assert [a["rule"] for a in alerts] == ["sold_out_of_trust:not_seen"]


def test_retail_sale_exposure_totals_and_pledge(api: Api) -> None:
    _setup(api, (194,))
    sale_doc = api.ok(api.upload(DEALER, "sale_contract", b"sale 194", vin=vin(194)), 201)["document"][
        "document_id"
    ]
    body = {
        "vin": vin(194),
        "sale_price": "150000",
        "currency": "CNY",
        "sale_document_id": sale_doc,
        "payoff": _payment("100000"),
        "buyer": {"name": "Li Lei", "id_number": "110101199001011194"},
    }
    short = api.post(
        BANK_A, "/floor-plan/advances/A194/retail-sale", json=body | {"payoff": _payment("99999")}
    )
    assert short.status_code == 409 and "rule 'payoff_amount'" in short.json()["error"]["message"]
    sold = api.ok(api.post(BANK_A, "/floor-plan/advances/A194/retail-sale", json=body))["result"]
    assert sold["floor_plan_lien_status"] == "RELEASED"
    assert api.ok(api.get(TA, f"/vehicles/{vin(194)}"))["status"] == "REGISTERED"
    exposure = api.ok(api.get(BANK_A, "/floor-plan/lines/exposure"))["dealers"]
    assert [(d["dealer_id"], d["outstanding"]) for d in exposure] == [("D1", "0")]
    assert api.ok(api.get(BANK_B, "/floor-plan/lines/exposure"))["dealers"] == []
    assert api.ok(api.get(REGULATOR, "/floor-plan/lines/totals"))["lenders"][0]["lines"] == 1
    assert api.get(BANK_A, "/floor-plan/lines/totals").status_code == 403
    pledge = {
        "receivable_id": "REB-1",
        "debtor_msp_id": "ManufacturerMSP",
        "line_id": "FL1",
        "kind": "rebate",
        "amount": "8000",
        "currency": "CNY",
        "due_date": TODAY.replace(year=TODAY.year + 1).isoformat(),
    }
    api.ok(api.post(DEALER, "/floor-plan/receivables", json=pledge), 201)
    again = api.post(DEALER, "/floor-plan/receivables", json=pledge)
    assert again.status_code == 409 and "rule 'double_pledge'" in again.json()["error"]["message"]
    assert [p["receivable_id"] for p in api.ok(api.get(DEALER, "/floor-plan/lines/FL1/receivables"))] == [
        "REB-1"
    ]
