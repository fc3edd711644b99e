"""The owner's sign-in by challenge and the owner's own API (issue 16.1), on the embedded backend with
two enrolled owners: the key never reaches the gateway, and each owner sees only their own."""

from __future__ import annotations

from typing import Any

from app.api.owner_auth import challenges
from app.services.owners import sign_document, signed_document
from tests.unit.api.builders import Api, vin
from tests.unit.api.owner_helpers import (
    Owner,
    answer,
    ask_lien_consent,
    challenge,
    enrol,
    record_lien,
    sign_in,
)


def _refusal(response: Any) -> tuple[int, list[str]]:
    return response.status_code, [d["field"] for d in response.json()["error"]["details"]]


def _two_owners(api: Api) -> tuple[Owner, Owner]:
    return enrol(api, "owner-alice0171", 171), enrol(api, "owner-bob000172", 172)


def test_good_answer_gives_an_owner_session_for_the_owner_routes_only(api: Api) -> None:
    alice, _ = _two_owners(api)
    found = api.ok(challenge(api, alice.account))
    assert found["challenge_id"].startswith("och_") and alice.account in found["document"]
    session = api.ok(answer(api, found, alice.key_pem))
    assert session["role"] == "owner" and session["account_id"] == alice.account
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    assert api.ok(api.client.get("/api/v1/owner/me", headers=headers))["account_id"] == alice.account
    # the owner's token is no gateway user: the general API refuses it (it would sign as someone)
    general = api.client.get(f"/api/v1/vehicles/{alice.vin}", headers=headers)
    assert general.status_code == 403 and "owner" in general.json()["error"]["message"]
    assert api.client.post("/api/v1/owner/sign-out", headers=headers).status_code == 204
    assert api.client.get("/api/v1/owner/me", headers=headers).status_code == 401


def test_wrong_key_replay_expiry_and_other_account_are_refused_naming_the_field(api: Api) -> None:
    alice, bob = _two_owners(api)
    wrong = answer(api, api.ok(challenge(api, alice.account)), bob.key_pem)
    assert _refusal(wrong) == (401, ["signature"]) and "access_token" not in wrong.json()

    found = api.ok(challenge(api, alice.account))
    api.ok(answer(api, found, alice.key_pem))
    replayed = answer(api, found, alice.key_pem)
    assert _refusal(replayed) == (401, ["challenge_id"]) and "already used" in replayed.text

    spent_by_failure = api.ok(challenge(api, alice.account))
    assert answer(api, spent_by_failure, bob.key_pem).status_code == 401
    assert _refusal(answer(api, spent_by_failure, alice.key_pem)) == (401, ["challenge_id"])

    challenges(api.gw).ttl_seconds = -1  # issued already expired: no clock games
    expired = answer(api, api.ok(challenge(api, alice.account)), alice.key_pem)
    assert _refusal(expired) == (401, ["challenge_id"]) and "expired" in expired.text
    challenges(api.gw).ttl_seconds = 120

    # Bob answers a challenge issued for Alice's account, with his own key and his own account id
    other = answer(api, api.ok(challenge(api, alice.account)), bob.key_pem, account=bob.account)
    assert _refusal(other) == (401, ["account_id"])
    assert _refusal(challenge(api, "owner-nobody0001")) == (404, ["account_id"])
    assert _refusal(challenge(api, "Alice Smith")) == (400, ["account_id"])
    forged = api.client.get("/api/v1/owner/me", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401


def test_each_owner_sees_their_vehicles_liens_consents_and_personal_data_only(api: Api) -> None:
    alice, bob = _two_owners(api)
    lien_body = ask_lien_consent(api, 171, "OC-171")
    as_alice, as_bob = sign_in(api, alice), sign_in(api, bob)
    get = lambda path, headers: api.client.get("/api/v1/owner" + path, headers=headers)  # noqa: E731

    consents = api.ok(get("/consents", as_alice))
    assert [c["consent_id"] for c in consents["waiting"]] == ["OC-171"] and consents["given"] == []
    waiting = consents["waiting"][0]
    assert waiting["terms"]["secured_amount"] == "100000.00" and waiting["grantee_name"] == "BankA"
    assert api.ok(get("/consents", as_bob))["waiting"] == []
    assert get("/consents/OC-171", as_bob).status_code == 404
    document = signed_document(api.ok(get("/consents/OC-171", as_alice)))
    bob_signs = {"signature": sign_document(bob.key_pem, document)}
    stolen = api.client.post("/api/v1/owner/consents/OC-171/signature", json=bob_signs, headers=as_bob)
    assert stolen.status_code == 404
    forged = api.client.post("/api/v1/owner/consents/OC-171/signature", json=bob_signs, headers=as_alice)
    assert forged.status_code == 403 and "field 'signature'" in forged.json()["error"]["message"]
    signed = {"signature": sign_document(alice.key_pem, document)}
    api.ok(api.client.post("/api/v1/owner/consents/OC-171/signature", json=signed, headers=as_alice))
    given = api.ok(get("/consents", as_alice))
    assert given["waiting"] == [] and [(c["consent_id"], c["status"]) for c in given["given"]] == [
        ("OC-171", "SIGNED")
    ]

    record_lien(api, 171, lien_body, "OC-171")
    mine = api.ok(get("/vehicles", as_alice))
    assert [v["vin"] for v in mine] == [alice.vin]
    (held,) = mine[0]["liens"]
    assert held["lienholder_name"] == "BankA" and held["priority"] == 1 and held["status"] == "RECORDED"
    assert held["secured_amount"] == "100000.00"
    detail = api.ok(get(f"/vehicles/{alice.vin}", as_alice))
    assert detail["owner"]["name"] == "Chen Jie" and detail["owner"]["id_number"].endswith("00000171")
    assert [v["vin"] for v in api.ok(get("/vehicles", as_bob))] == [bob.vin]
    assert get(f"/vehicles/{alice.vin}", as_bob).status_code == 404
    assert get(f"/vehicles/{vin(999)}", as_bob).status_code == 404


def test_a_vehicle_transferred_away_disappears_and_its_consents_stay_history(api: Api) -> None:
    alice, _ = _two_owners(api)
    ask_lien_consent(api, 171, "OC-171T")
    as_alice = sign_in(api, alice)
    get = lambda path: api.client.get("/api/v1/owner" + path, headers=as_alice)  # noqa: E731
    assert [v["vin"] for v in api.ok(get("/vehicles"))] == [alice.vin]
    transfer = {"new_owner": {"name": "Sun Li", "id_number": "110101199901019999"}, "reason": "sale"}
    api.ok(api.post("officer1@TrafficAuthorityMSP", f"/vehicles/{alice.vin}/transfer", json=transfer))
    assert api.ok(get("/vehicles")) == []
    assert get(f"/vehicles/{alice.vin}").status_code == 404  # nor the new owner's personal data
    consents = api.ok(get("/consents"))  # still hers to see, no longer hers to sign
    assert consents["waiting"] == [] and [c["consent_id"] for c in consents["other"]] == ["OC-171T"]
