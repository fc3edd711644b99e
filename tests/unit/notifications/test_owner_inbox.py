"""The owner's inbox, keyed by the owner account (issue 16.4 for owners): a consent asked of an enrolled
owner, a lien recorded and released on their vehicle land in that owner's inbox, and in nobody else's;
the owner reads it signed in by challenge."""

from __future__ import annotations

import time
from typing import Any

from app.services.owners import sign_document, signed_document
from tests.unit.api.builders import BANK_A, Api
from tests.unit.api.owner_helpers import ask_lien_consent, enrol, record_lien, sign_in


def _inbox(api: Api, headers: dict[str, str]) -> list[tuple[str, str, str | None]]:
    body = api.ok(api.client.get("/api/v1/owner/notifications", headers=headers))
    return [(n["event_name"], n["topic"], n["vin"]) for n in body["notifications"]]


def _wait_for(api: Api, headers: dict[str, str], wanted: set[str], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        inbox = _inbox(api, headers)
        if wanted <= {topic for _, topic, _ in inbox}:
            return inbox
        time.sleep(0.05)
    raise AssertionError(f"the owner's inbox never held {sorted(wanted)}: {_inbox(api, headers)}")


def test_consents_and_liens_on_my_vehicle_reach_my_inbox_and_no_one_elses(notify_api: Api) -> None:
    api = notify_api
    alice, bob = enrol(api, "owner-alice0181", 181), enrol(api, "owner-bob000182", 182)
    body = ask_lien_consent(api, 181, "OC-181")
    as_alice, as_bob = sign_in(api, alice), sign_in(api, bob)
    consent = api.ok(api.client.get("/api/v1/owner/consents/OC-181", headers=as_alice))
    signature = {"signature": sign_document(alice.key_pem, signed_document(consent))}
    api.ok(api.client.post("/api/v1/owner/consents/OC-181/signature", json=signature, headers=as_alice))
    record_lien(api, 181, body, "OC-181")
    api.ok(api.post(BANK_A, f"/liens/{body['lien_id']}/release"))

    inbox = _wait_for(
        api, as_alice, {"consent_requested", "consent_signed", "lien_recorded", "lien_released"}
    )
    assert ("OwnerConsentRequested", "consent_requested", alice.vin) in inbox
    assert ("LienRecorded", "lien_recorded", alice.vin) in inbox
    assert ("LienReleased", "lien_released", alice.vin) in inbox
    assert all(v == alice.vin for _, _, v in inbox)
    assert _inbox(api, as_bob) == []
