"""The owner's pages (issue 16.1) through the web forms on the embedded backend: sign-in by challenge
with no password, my vehicles, liens, waiting and given consents, personal data; another owner's vehicle
or consent by URL is refused; a bank user's session is no owner's."""

from __future__ import annotations

import re
from typing import Any

from app.services.owners import sign_document, signed_document
from app.users.owner_signin import sign_challenge
from tests.unit.api.builders import BANK_A, Api
from tests.unit.api.conftest import login
from tests.unit.api.owner_helpers import Owner, ask_lien_consent, challenge, enrol, record_lien

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(page: Any) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def _sign_in(api: Api, owner: Owner, key_pem: bytes | None = None, next_path: str = "/owner") -> Any:
    """What the sign-in page's script does: ask a challenge, sign it with the key file, post the form."""
    csrf = _csrf(api.client.get("/owner/signin"))
    found = api.ok(challenge(api, owner.account))
    form = {
        "csrf": csrf,
        "account_id": owner.account,
        "challenge_id": found["challenge_id"],
        "signature": sign_challenge(key_pem or owner.key_pem, found["document"]),
        "next": next_path,
    }
    return api.client.post("/owner/signin", data=form, follow_redirects=False)


def test_no_session_or_a_bank_session_is_sent_to_the_owner_sign_in(api: Api) -> None:
    enrol(api, "owner-pagenone01", 190)
    first = api.client.get("/owner", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/owner/signin")
    api.client.cookies.set("mledger_session", login(api.client, BANK_A)["Authorization"].split()[1])
    assert api.client.get("/owner", follow_redirects=False).status_code == 303
    page = api.client.get("/owner/signin?lang=zh")
    assert "车主登录" in page.text and 'name="password"' not in page.text


def test_owner_pages_show_my_own_and_refuse_another_owners(api: Api) -> None:
    alice, bob = enrol(api, "owner-pagealice1", 191), enrol(api, "owner-pagebob001", 192)
    body = ask_lien_consent(api, 191, "OC-191")
    ask_lien_consent(api, 192, "OC-192", suffix="B")

    wrong = _sign_in(api, alice, key_pem=bob.key_pem)
    assert wrong.status_code == 401 and "field &#39;signature&#39;" in wrong.text
    assert "mledger_session" not in wrong.cookies

    signed_in = _sign_in(api, alice)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/owner"
    home = api.client.get("/owner")
    assert home.status_code == 200 and alice.account in home.text
    assert f'data-testid="vehicle-{alice.vin}"' in home.text and bob.vin not in home.text
    assert 'data-testid="waiting-OC-191"' in home.text and "OC-192" not in home.text
    assert "100000.00" in home.text and 'href="/owner/sign?consent=OC-191"' in home.text
    assert api.client.get(f"/owner/vehicles/{bob.vin}").status_code == 404
    assert api.client.get("/owner/sign?consent=OC-192").status_code == 404
    bob_consent = api.ok(api.get(BANK_A, "/owner-consents/OC-192"))
    stolen = {"csrf": _csrf(home), "signature": sign_document(alice.key_pem, signed_document(bob_consent))}
    assert api.client.post("/owner/consents/OC-192/signature", data=stolen).status_code == 404

    sign_page = api.client.get("/owner/sign?consent=OC-191")
    consent = api.ok(api.get(BANK_A, "/owner-consents/OC-191"))
    assert sign_page.status_code == 200 and 'action="/owner/consents/OC-191/signature"' in sign_page.text
    form = {"csrf": _csrf(sign_page), "signature": sign_document(alice.key_pem, signed_document(consent))}
    assert (
        api.client.post("/owner/consents/OC-191/signature", data={**form, "csrf": "0" * 40}).status_code
        == 403
    )
    sent = api.client.post("/owner/consents/OC-191/signature", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/owner?signed=OC-191"
    after = api.client.get("/owner?signed=OC-191")
    assert 'data-testid="given-OC-191"' in after.text and 'data-testid="waiting-OC-191"' not in after.text
    assert 'data-testid="flash"' in after.text
    chinese = api.client.get("/owner?lang=zh")
    assert "我的车辆" in chinese.text and "待我签署的授权" in chinese.text and "已签署" in chinese.text
    api.client.get("/owner?lang=en")

    record_lien(api, 191, body, "OC-191")
    detail = api.client.get(f"/owner/vehicles/{alice.vin}")
    assert detail.status_code == 200 and "Chen Jie" in detail.text and "BankA" in detail.text
    assert "00000191" in detail.text and "00000192" not in detail.text

    api.client.post("/logout", data={"csrf": _csrf(detail)})
    assert api.client.get("/owner", follow_redirects=False).status_code == 303
    assert _sign_in(api, bob).status_code == 303
    as_bob = api.client.get("/owner")
    assert 'data-testid="waiting-OC-192"' in as_bob.text and alice.vin not in as_bob.text
    assert api.client.get(f"/owner/vehicles/{alice.vin}").status_code == 404
