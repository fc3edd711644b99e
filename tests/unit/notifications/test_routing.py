"""Who hears of what: lienholders of registration changes, holds, brands, lapses and another
lienholder's enforcement; owners of liens recorded/released and consents requested."""

from __future__ import annotations

from app.notifications.models import Party
from app.notifications.routing import IndexChange, VehicleParties, route

VIN = "LHGCV1F30NA000001"
OWNER = "ab" * 32


def _index(**liens: str) -> dict[str, VehicleParties]:
    return {VIN: VehicleParties(OWNER, dict(liens))}


def _who(event: str, payload: dict, index: dict[str, VehicleParties]) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    out = route(event, payload, lambda v: index.get(v, VehicleParties()))
    return {(n.party.key, n.topic) for n in out.notes}


def test_holds_brands_and_registration_changes_reach_every_lienholder_named() -> None:
    payload = {"vin": VIN, "kind": "STOLEN", "document_id": "D1", "lienholders": ["BankAMSP", "BankBMSP"]}
    assert _who("HoldSet", payload, {}) == {("org:BankAMSP", "hold"), ("org:BankBMSP", "hold")}
    assert _who("VehicleBranded", {**payload, "kind": "SALVAGE"}, {}) == {
        ("org:BankAMSP", "brand"),
        ("org:BankBMSP", "brand"),
    }
    change = {"vin": VIN, "change_id": "C1", "changes": {"plate": {}}, "lienholders": ["BankAMSP"]}
    assert _who("RegistrationChanged", change, {}) == {("org:BankAMSP", "registration_change")}
    assert _who("HoldSet", {**payload, "lienholders": []}, {}) == set()


def test_seizure_and_insurance_lapse_use_the_index_of_liens() -> None:
    index = _index(L1="BankAMSP", L2="BankBMSP")
    assert _who("VehicleSeized", {"vin": VIN, "authority": "court"}, index) == {
        ("org:BankAMSP", "hold"),
        ("org:BankBMSP", "hold"),
    }
    lapse = {"vin": VIN, "policy_id": "P1", "reason": "unpaid"}
    assert _who("InsuranceLapsed", lapse, index) == {
        ("org:BankAMSP", "lapse_notice"),
        ("org:BankBMSP", "lapse_notice"),
    }
    assert _who("InsuranceLapsed", lapse, {}) == set()


def test_foreclosure_is_told_to_the_other_lienholders_and_the_owner_not_the_foreclosing_bank() -> None:
    index = _index(L1="BankAMSP", L2="BankBMSP")
    who = _who("ForeclosureStarted", {"vin": VIN, "lien_id": "L2", "lienholder": "BankBMSP"}, index)
    assert who == {("org:BankAMSP", "foreclosure_by_other"), (f"owner:{OWNER}", "foreclosure")}


def test_owner_hears_of_liens_recorded_and_released_and_the_index_follows() -> None:
    index = _index(L1="BankAMSP")
    recorded = route(
        "LienRecorded",
        {"vin": VIN, "lien_id": "L2", "lienholder": "BankBMSP", "priority": 2},
        lambda v: index[v],
    )
    assert {(n.party.key, n.topic) for n in recorded.notes} == {
        (f"owner:{OWNER}", "lien_recorded"),
        ("org:BankAMSP", "lien_recorded_by_other"),
    }
    assert recorded.changes == [IndexChange("add_lien", VIN, "BankBMSP", "L2")]
    released = route(
        "LienReleased", {"vin": VIN, "lien_id": "L1", "lienholder": "BankAMSP"}, lambda v: index[v]
    )
    assert [(n.party, n.topic) for n in released.notes] == [(Party.owner(OWNER), "lien_released")]
    assert released.changes == [IndexChange("remove_lien", VIN, lien_id="L1")]


def test_maturity_sweep_sends_lapse_notices_to_each_lienholder() -> None:
    sweep = {
        "notices": [{"lien_id": "L1", "vin": VIN, "lienholder": "BankAMSP", "days_left": 30}],
        "lapsed": [{"lien_id": "L2", "vin": VIN, "lienholder": "BankBMSP", "maturity_date": "2026-01-01"}],
    }
    out = route("LienMaturitySweep", sweep, lambda v: _index(L1="BankAMSP", L2="BankBMSP")[v])
    assert {(n.party.key, n.topic) for n in out.notes} == {
        ("org:BankAMSP", "lapse_notice"),
        ("org:BankBMSP", "lapse_notice"),
        (f"owner:{OWNER}", "lien_released"),
    }
    assert out.changes == [IndexChange("remove_lien", VIN, lien_id="L2")]


def test_owner_consent_events_reach_the_owner_and_the_signed_one_the_grantee() -> None:
    index = _index()
    requested = {"consent_id": "C1", "vin": VIN, "kind": "lien_request", "grantee": "BankAMSP"}
    assert _who("OwnerConsentRequested", requested, index) == {(f"owner:{OWNER}", "consent_requested")}
    assert _who("OwnerConsentSigned", requested, index) == {
        (f"owner:{OWNER}", "consent_signed"),
        ("org:BankAMSP", "consent_signed"),
    }


def test_title_transfer_moves_the_owner_and_unrelated_events_route_nowhere() -> None:
    out = route(
        "TitleTransferred",
        {"vin": VIN, "previous_owner_hash": OWNER, "new_owner_hash": "cd" * 32, "lienholders": []},
        lambda v: VehicleParties(),
    )
    assert [(n.party.key, n.topic) for n in out.notes] == [(f"owner:{OWNER}", "title_transferred")]
    assert out.changes == [IndexChange("set_owner", VIN, "cd" * 32)]
    assert route("OdometerRecorded", {"vin": VIN}, lambda v: VehicleParties()).notes == []


def test_a_retail_sale_moves_the_owner_so_the_buyer_hears_of_consents_asked_of_them() -> None:
    buyer = "ef" * 32
    out = route("RetailSaleCompleted", {"vin": VIN, "new_owner_hash": buyer}, lambda v: VehicleParties())
    assert out.notes == [] and out.changes == [IndexChange("set_owner", VIN, buyer)]
    requested = {"consent_id": "C2", "vin": VIN, "kind": "lien_request", "grantee": "BankBMSP"}
    index = {VIN: VehicleParties(buyer, {})}
    assert _who("OwnerConsentRequested", requested, index) == {(f"owner:{buyer}", "consent_requested")}
