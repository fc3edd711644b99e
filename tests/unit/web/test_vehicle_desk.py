"""The vehicle desk's forms (issue 15, pages where people act): the vehicle office's holds and
registration changes, the insurer's brand, the lapse sweep. Each: the allowed role acts and the state
changes; a wrong role sees no form and its post is refused (403); the contract's refusal is shown with
the input kept and nothing written; a post without the CSRF token is refused."""

from __future__ import annotations

from tests.unit.api.builders import BANK_A, DEALER, INSURER, TA, Api, vin
from tests.unit.web.browse import Browser


def _doc(api: Api, user: str, doc_type: str, text: str, **link: str) -> str:
    return str(api.ok(api.upload(user, doc_type, text.encode(), **link), 201)["document"]["document_id"])


def _status(api: Api, v: str) -> dict:  # type: ignore[type-arg]
    return api.ok(api.get(DEALER, f"/vehicles/{v}/status"))  # type: ignore[no-any-return]


def test_vehicle_office_sets_and_lifts_holds(api: Api) -> None:
    api.register(301)
    v = vin(301)
    desk = f"/vehicles/{v}/desk"
    police = _doc(api, TA, "police_report", "theft 301", vin=v)
    officer = Browser(api).sign_in(TA)
    assert 'data-testid="hold-form"' in officer.get(desk).text
    fields = {
        "kind": "stolen",
        "document_id": police,
        "authority": "Beijing PSB",
        "reason": "reported stolen",
    }
    done = officer.post(desk, f"{desk}/hold", **fields)
    assert done.status_code == 200 and "hold set" in done.text
    assert _status(api, v)["holds"] == ["stolen"]

    # the contract refuses a customs hold on a police report: named, input kept, nothing written
    refused = officer.post(
        desk, f"{desk}/hold", **{**fields, "kind": "customs", "authority": "Tianjin Customs"}
    )
    assert refused.status_code == 409
    assert "document_id: document" in refused.text and "expected customs_notice" in refused.text
    assert 'value="Tianjin Customs"' in refused.text and '<option value="customs" selected>' in refused.text
    assert _status(api, v)["holds"] == ["stolen"]

    lifted = officer.post(desk, f"{desk}/lift", **{**fields, "reason": "recovered"})
    assert lifted.status_code == 200 and "hold lifted" in lifted.text
    assert _status(api, v)["holds"] == []

    order = _doc(api, TA, "seizure_order", "seizure 301", vin=v)
    seized = officer.post(
        desk, f"{desk}/hold", kind="seizure", document_id=order, authority="Court", reason="debt"
    )
    assert seized.status_code == 200 and _status(api, v)["seized"] is True


def test_wrong_roles_see_no_vehicle_office_forms_and_cannot_post(api: Api) -> None:
    api.register(302)
    v = vin(302)
    desk = f"/vehicles/{v}/desk"
    police = _doc(api, TA, "police_report", "theft 302", vin=v)
    bank = Browser(api).sign_in(BANK_A)
    page = bank.get(desk)
    assert page.status_code == 200
    assert 'data-testid="hold-form"' not in page.text and 'data-testid="change-form"' not in page.text
    assert 'data-testid="brand-form"' not in page.text and 'data-testid="sweep-form"' in page.text
    fields = {"kind": "stolen", "document_id": police, "authority": "PSB", "reason": "x"}
    refused = bank.post(desk, f"{desk}/hold", **fields)
    assert refused.status_code == 403 and "rule &#39;registrar&#39;" in refused.text
    assert bank.post(desk, f"{desk}/brand", kind="flood", document_id=police).status_code == 403
    assert _status(api, v)["holds"] == [] and _status(api, v)["brands"] == []


def test_forms_need_the_csrf_token(api: Api) -> None:
    api.register(303)
    v = vin(303)
    desk = f"/vehicles/{v}/desk"
    police = _doc(api, TA, "police_report", "theft 303", vin=v)
    officer = Browser(api).sign_in(TA)
    fields = {"kind": "stolen", "document_id": police, "authority": "PSB", "reason": "x"}
    assert officer.post_without_csrf(f"{desk}/hold", **fields).status_code == 403
    assert officer.post_without_csrf(f"{desk}/hold", csrf="forged", **fields).status_code == 403
    assert _status(api, v)["holds"] == []
    anonymous = api.client
    anonymous.cookies.clear()
    assert anonymous.post(f"{desk}/hold", data=fields, follow_redirects=False).status_code == 303  # to login


def test_registration_change_shows_before_and_after(api: Api) -> None:
    api.register(304)
    v = vin(304)
    desk = f"/vehicles/{v}/desk"
    change_doc = _doc(api, TA, "registration_change", "change 304", vin=v)
    officer = Browser(api).sign_in(TA)
    fields = {"change_id": "RC-304", "document_id": change_doc, "colour": "black", "engine_number": "EN304"}
    done = officer.post(desk, f"{desk}/change", **fields, phone="13800000304")
    assert done.status_code == 200 and "registration changed" in done.text
    assert 'data-testid="colour">black<' in done.text and "colour: — → black" in done.text
    assert api.ok(api.get(TA, f"/vehicles/{v}/owner"))["phone"] == "13800000304"
    # the plate is checked by the contract's request model: the field and reason are named, input kept
    bad = officer.post(desk, f"{desk}/change", **{**fields, "change_id": "RC-304b", "plate": "bad plate!"})
    assert bad.status_code == 400 and 'data-testid="refusal-field"><strong>plate</strong>' in bad.text
    assert 'value="bad plate!"' in bad.text
    assert len(api.ok(api.get(TA, f"/vehicles/{v}/registration-changes"))) == 1
    dealer = Browser(api).sign_in(DEALER)
    assert dealer.post(desk, f"{desk}/change", **{**fields, "change_id": "RC-304c"}).status_code == 403


def test_insurer_records_a_brand_and_a_second_one_is_refused(api: Api) -> None:
    api.register(305)
    v = vin(305)
    desk = f"/vehicles/{v}/desk"
    loss = _doc(api, INSURER, "loss_report", "flood 305", vin=v)
    insurer = Browser(api).sign_in(INSURER)
    assert 'data-testid="brand-form"' in insurer.get(desk).text
    done = insurer.post(desk, f"{desk}/brand", kind="flood", document_id=loss)
    assert done.status_code == 200 and "brand recorded" in done.text
    assert [b["kind"] for b in _status(api, v)["brands"]] == ["flood"]
    again = insurer.post(desk, f"{desk}/brand", kind="flood", document_id=loss, claim_id="CL-305")
    assert again.status_code == 409 and "already branded flood" in again.text
    assert 'value="CL-305"' in again.text
    assert len(_status(api, v)["brands"]) == 1


def test_the_lapse_sweep_runs_for_the_consortium_and_not_the_regulator(api: Api) -> None:
    api.register(306)
    v = vin(306)
    desk = f"/vehicles/{v}/desk"
    dealer = Browser(api).sign_in(DEALER)
    swept = dealer.post(desk, f"{desk}/sweep")
    assert swept.status_code == 200 and "lapse sweep: 0 lapsed" in swept.text
    regulator = Browser(api).sign_in("regulator1@RegulatorMSP")
    assert 'data-testid="sweep-form"' not in regulator.get(desk).text
    assert regulator.post(desk, f"{desk}/sweep").status_code == 403
