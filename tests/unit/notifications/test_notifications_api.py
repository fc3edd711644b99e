"""The notifications API on the embedded ledger: subscriptions with field-named refusals, access
(a bank only for vehicles it holds liens on), webhooks from real chaincode events, my notifications."""

from __future__ import annotations

import time
from typing import Any

from tests.unit.api.builders import BANK_A, BANK_B, TA, Api, vin
from tests.unit.notifications.receiver import Receiver

AUDITOR_TA = "auditor1@TrafficAuthorityMSP"


def _wait(predicate: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _field(response: Any) -> tuple[int, list[str]]:
    return response.status_code, [d["field"] for d in response.json()["error"]["details"]]


def test_subscription_refusals_name_the_field(notify_api: Api, receiver: Receiver) -> None:
    api = notify_api
    api.register(71)
    api.mortgage(71)
    api.register(72)  # no lien of BankA
    post = lambda body: api.post(BANK_A, "/notifications/subscriptions", json=body)  # noqa: E731
    assert _field(post({"url": "http://example.com/hook"})) == (400, ["url"])
    assert _field(post({"url": "https://10.0.0.5/hook"})) == (400, ["url"])
    assert _field(post({"url": "https://user:pw@example.com/hook"})) == (400, ["url"])
    assert _field(post({"url": receiver.url, "event_types": ["HoldSet", "Nope"]})) == (
        400,
        ["event_types[1]"],
    )
    assert _field(post({"url": receiver.url, "event_types": ["OwnerConsentRequested"]})) == (
        400,
        ["event_types[0]"],
    )
    assert _field(post({"url": receiver.url, "vins": ["NOTAVIN"]})) == (400, ["vins[0]"])
    assert _field(post({"url": receiver.url, "vins": [vin(71), vin(72)]})) == (403, ["vins[1]"])
    unknown = post({"url": receiver.url, "extra": 1})
    assert unknown.status_code == 400
    refused = api.post(TA, "/notifications/subscriptions", json={"url": receiver.url})
    assert refused.status_code == 403 and "lienholders" in refused.json()["error"]["message"]
    assert api.ok(api.get(BANK_A, "/notifications/subscriptions"))["subscriptions"] == []


def test_a_seizure_reaches_the_lienholder_by_signed_webhook_and_inbox(
    notify_api: Api, receiver: Receiver
) -> None:
    api = notify_api
    api.register(73)
    lien_id = api.mortgage(73)
    created = api.ok(
        api.post(BANK_A, "/notifications/subscriptions", json={"url": receiver.url, "vins": [vin(73)]}), 201
    )
    receiver.secret, receiver.fail_first = created["secret"], 1
    assert created["secret"].startswith("whsec_") and created["party"] == "org:BankAMSP"
    listed = api.ok(api.get(BANK_A, "/notifications/subscriptions"))["subscriptions"]
    assert [s["subscription_id"] for s in listed] == [created["subscription_id"]] and "secret" not in listed[
        0
    ]
    assert api.ok(api.get(BANK_B, "/notifications/subscriptions"))["subscriptions"] == []
    assert api.get(BANK_B, f"/notifications/subscriptions/{created['subscription_id']}").status_code == 404

    doc = api.ok(api.upload(TA, "court_order", b"order 73", vin=vin(73)), 201)["document"]["document_id"]
    api.ok(
        api.post(
            TA,
            f"/vehicles/{vin(73)}/seizure",
            json={"document_id": doc, "authority": "Court", "reason": "judgment"},
        )
    )
    _wait(lambda: len(receiver.accepted) == 1)
    ((key, body),) = receiver.accepted.items()
    assert body["type"] == "VehicleSeized" and body["vin"] == vin(73) and body["topic"] == "hold"
    assert receiver.attempts[key] == 2 and receiver.bad_signatures == 0

    inbox = api.ok(api.get(BANK_A, "/notifications"))
    assert inbox["party"] == "org:BankAMSP"
    assert [n["event_name"] for n in inbox["notifications"]] == ["VehicleSeized"]
    assert api.ok(api.get(BANK_B, "/notifications"))["notifications"] == []
    deliveries = api.ok(api.get(BANK_A, "/notifications/deliveries"))["deliveries"]
    assert [(d["idempotency_key"], d["status"], d["attempts"]) for d in deliveries] == [(key, "delivered", 2)]
    assert lien_id

    assert (
        api.client.delete(
            f"/api/v1/notifications/subscriptions/{created['subscription_id']}", headers=api.headers(BANK_B)
        ).status_code
        == 404
    )
    gone = api.client.delete(
        f"/api/v1/notifications/subscriptions/{created['subscription_id']}", headers=api.headers(BANK_A)
    )
    assert gone.status_code == 204
    assert api.ok(api.get(BANK_A, "/notifications/subscriptions"))["subscriptions"] == []


def test_dead_letters_are_listed_and_replayed_through_the_api(notify_api: Api, receiver: Receiver) -> None:
    api = notify_api
    api.register(74)
    api.mortgage(74)
    created = api.ok(api.post(BANK_A, "/notifications/subscriptions", json={"url": receiver.url}), 201)
    receiver.secret, receiver.always_fail = created["secret"], True
    doc = api.ok(api.upload(TA, "court_order", b"order 74", vin=vin(74)), 201)["document"]["document_id"]
    api.ok(
        api.post(
            TA,
            f"/vehicles/{vin(74)}/seizure",
            json={"document_id": doc, "authority": "Court", "reason": "judgment"},
        )
    )
    _wait(lambda: bool(api.ok(api.get(BANK_A, "/notifications/dead-letters"))["dead_letters"]))
    (dead,) = api.ok(api.get(BANK_A, "/notifications/dead-letters"))["dead_letters"]
    assert dead["attempts"] == 4 and dead["last_status"] == 503
    assert api.post(BANK_B, f"/notifications/dead-letters/{dead['delivery_id']}/replay").status_code == 404
    receiver.always_fail = False
    replayed = api.ok(api.post(BANK_A, f"/notifications/dead-letters/{dead['delivery_id']}/replay"))
    assert replayed["status"] == "pending" and replayed["attempts"] == 0
    _wait(lambda: dead["delivery_id"] in receiver.accepted)
    again = api.post(BANK_A, f"/notifications/dead-letters/{dead['delivery_id']}/replay")
    assert _field(again) == (400, ["delivery_id"])
