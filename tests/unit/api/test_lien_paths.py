"""The remaining lien paths through HTTP: assignment between banks, court release, foreclosure and
disposal by priority, scrapping; plus the gateway-side refusals on the way."""

from __future__ import annotations

from tests.unit.api.builders import AUDITOR, BANK_A, BANK_B, REGULATOR, TA, Api, lien, vin


def _doc(api: Api, user: str, doc_type: str, text: str, **link: str) -> str:
    return str(api.ok(api.upload(user, doc_type, text.encode(), **link), 201)["document"]["document_id"])


def test_assignment_court_release_foreclosure_disposal_and_scrap(api: Api) -> None:
    api.register(41)
    first = api.mortgage(41, "A", bank=BANK_A, amount="60000.00")
    consent = _doc(api, BANK_B, "owner_consent", "consent 41B", vin=vin(41))
    api.ok(api.post(BANK_B, "/liens", json=lien(41, "B", consent, amount="30000.00")), 201)
    second = api.ok(api.post(TA, "/liens/L-41-B/record"))["result"]
    assert second["priority"] == 2

    # assignment: proposed by the holder, accepted by the assignee (both banks endorse)
    assert api.post(
        BANK_A, f"/liens/{first}/assignment", json={"assignee_msp_id": "BankAMSP"}
    ).status_code in (
        400,
        409,
    )
    bad = api.post(BANK_A, f"/liens/{first}/assignment", json={"assignee_msp_id": "InsurerMSP"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "assignee_msp_id"
    proposed = api.ok(api.post(BANK_A, f"/liens/{first}/assignment", json={"assignee_msp_id": "BankBMSP"}))
    assert proposed["result"]["status"] == "ASSIGNMENT_PENDING"
    assert api.post(BANK_A, f"/liens/{first}/assignment/accept").status_code == 403
    accepted = api.ok(api.post(BANK_B, f"/liens/{first}/assignment/accept"))
    assert accepted["result"]["lienholder"] == "BankBMSP" and accepted["result"]["priority"] == 1

    # court release of the junior lien by the vehicle office, on an anchored court order
    order = _doc(api, TA, "court_order", "release order 41B", lien_id="L-41-B")
    released = api.ok(api.post(TA, "/liens/L-41-B/court-release", json={"court_order_document_id": order}))
    assert released["result"]["status"] == "RELEASED"

    # foreclosure by the new holder, disposal pays by priority, title to the buyer
    notice = _doc(api, BANK_B, "foreclosure_notice", "notice 41A", lien_id=first)
    api.ok(api.post(BANK_B, f"/liens/{first}/foreclosure", json={"notice_document_id": notice}))
    assert api.ok(api.get(AUDITOR, f"/vehicles/{vin(41)}"))["status"] == "IN_DISPOSAL"
    sale = _doc(api, BANK_B, "sale_contract", "sale 41", vin=vin(41))
    disposal = {
        "sale_price": "50000.00",
        "currency": "CNY",
        "buyer": {"name": "Zhou Ming", "id_number": "110101199505055555"},
        "sale_document_id": sale,
    }
    assert api.post(REGULATOR, f"/vehicles/{vin(41)}/disposal", json=disposal).status_code == 403
    done = api.ok(api.post(BANK_B, f"/vehicles/{vin(41)}/disposal", json=disposal))["result"]
    assert [(d["lien_id"], d["paid"], d["shortfall"]) for d in done["distribution"]] == [
        (first, "50000.00", "10000.00")
    ]
    assert api.ok(api.get(TA, f"/vehicles/{vin(41)}/owner"))["name"] == "Zhou Ming"
    assert api.ok(api.get(REGULATOR, f"/liens/{first}"))["status"] == "DISCHARGED"

    # an unencumbered vehicle can be scrapped; scrapped is final
    certificate = _doc(api, TA, "scrap_certificate", "scrap 41", vin=vin(41))
    scrapped = api.ok(api.post(TA, f"/vehicles/{vin(41)}/scrap", json={"document_id": certificate}))
    assert scrapped["result"]["status"] == "SCRAPPED"
    again = api.post(TA, f"/vehicles/{vin(41)}/scrap", json={"document_id": certificate})
    assert again.status_code == 409
