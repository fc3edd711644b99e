"""The facts a search certificate and the passport state, on the real contract (in-process host)."""

from __future__ import annotations

import pytest

from tests.unit.mortgage.chain import Chain, vin

V = vin(4242)


def encumbered(c: Chain) -> None:
    """Two liens (BankA first, BankB second), a flood brand, a stolen hold and an odometer rollback."""
    c.register(V)
    c.value(V, "160000")
    c.lien("bank_a", "L1", V, "50017")
    c.lien("bank_b", "L2", V, "30011")
    c.ok(
        "insurer", "RecordBrand", V, {"kind": "flood", "document_id": c.document("insurer", "loss_report", V)}
    )
    c.ok("dealer", "RecordOdometer", {"vin": V, "odometer_km": 52000, "source": "inspection"})
    c.ok("dealer", "RecordOdometer", {"vin": V, "odometer_km": 31000, "source": "inspection"})
    hold = {
        "kind": "stolen",
        "document_id": c.document("ta", "police_report", V),
        "authority": "Beijing PSB",
        "reason": "reported stolen",
    }
    c.ok("ta", "SetHold", V, hold)


def test_passport_names_lienholders_and_flags_the_odometer_and_insurance() -> None:
    c = Chain()
    encumbered(c)
    status = c.ok("ta_norole", "GetVehicleStatus", V)
    assert [(h["name"], h["priority"]) for h in status["lienholders"]] == [("BankA", 1), ("BankB", 2)]
    assert status["odometer_anomaly"] is True
    assert status["insurance"] == "none"
    assert status["holds"] == ["stolen"] and [b["kind"] for b in status["brands"]] == ["flood"]
    assert "secured_amount" not in str(status) and "50017" not in str(status)


def test_search_facts_show_every_lien_hold_brand_and_the_anomaly() -> None:
    c = Chain()
    encumbered(c)
    facts = c.ok("dealer", "GetSearchFacts", V)
    assert [(x["lienholder_name"], x["priority"], x["status"]) for x in facts["liens"]] == [
        ("BankA", 1, "RECORDED"),
        ("BankB", 2, "RECORDED"),
    ]
    assert [h["kind"] for h in facts["holds"]] == ["stolen"]
    assert [(b["kind"], b["insurer_name"]) for b in facts["brands"]] == [("flood", "Insurer")]
    assert facts["odometer_anomaly"] is True and facts["odometer_km"] == 52000
    assert facts["valuation_band"]["low"] == "150000" and facts["valuation_band"]["high"] == "200000"
    assert facts["insurance"]["state"] == "none"
    text = str(facts)
    assert "50017" not in text and "30011" not in text and "Owner" not in text  # no amounts, no personal data


@pytest.mark.parametrize("who", ["dealer", "bank_a", "bank_b", "ta"])
def test_dealers_banks_and_the_office_may_ask(who: str) -> None:
    c = Chain()
    c.register(V)
    assert c.ok(who, "GetSearchFacts", V)["liens"] == []


@pytest.mark.parametrize("who", ["insurer", "ta_norole", "oem"])
def test_others_may_not_ask(who: str) -> None:
    c = Chain()
    c.register(V)
    c.fail(who, "GetSearchFacts", V, status=403)


def test_a_certificate_is_recorded_once_and_readable_by_anyone() -> None:
    c = Chain()
    c.register(V)
    body = {
        "certificate_number": "SC-1",
        "vin": V,
        "sha256": "ab" * 32,
        "as_of_block": 7,
        "issuer": "TrafficAuthorityMSP",
    }
    record = c.ok("dealer", "RecordSearchCertificate", body)
    assert record["requested_by"] == "DealerMSP" and record["issuer_name"] == "TrafficAuthority"
    assert c.last_event()[0] == "SearchCertificateRecorded"
    c.fail("dealer", "RecordSearchCertificate", body, status=409)
    c.fail(
        "dealer",
        "RecordSearchCertificate",
        {**body, "certificate_number": "SC-2", "sha256": "xy"},
        status=400,
    )
    c.fail(
        "dealer",
        "RecordSearchCertificate",
        {**body, "certificate_number": "SC-3", "issuer": "EvilMSP"},
        status=400,
    )
    assert c.ok("ta_norole", "GetSearchCertificate", "SC-1")["sha256"] == "ab" * 32
    c.fail("ta_norole", "GetSearchCertificate", "SC-9", status=404)


# --- owners and buyers: against the owners module's interface (issue 16.1: `_owner_vins`,
# `_use_owner_consent`, ConsentKind.CERTIFICATE_RELEASE), stood in for here where it is not built in ---


def test_an_owner_asks_only_about_a_vehicle_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    from chaincode.mortgage import certificates
    from chaincode.mortgage.contract import MortgageContract
    from tests.unit.mortgage import chain

    monkeypatch.setitem(chain.PRINCIPALS, "ta_owner", ("TrafficAuthorityMSP", "owner"))
    held: set[str] = set()
    monkeypatch.setattr(MortgageContract, "_owner_vins", lambda self, ctx: held, raising=False)
    c = Chain()
    c.register(V)
    assert "certificate_owner" in c.fail("ta_owner", "GetSearchFacts", V, status=403)
    held.add(V)
    assert c.ok("ta_owner", "GetSearchFacts", V)["vin"] == V
    assert certificates.OWNER_ROLE == "owner"


def test_a_buyers_org_spends_the_owners_certificate_release_consent() -> None:
    """The owner signs a certificate_release to the buyer's bank (BankB): BankB records a certificate on
    it once; another org, or a second certificate on the same consent, is refused."""
    import json

    from tests.unit.mortgage.chain import identity
    from tests.unit.mortgage.owner_keys import owner_identity, sign, signed_document

    c = Chain()
    c.register(V)
    owner_id = owner_identity("owner-buyer01")
    c.ok("ta", "EnrolOwner", {"certificate_pem": owner_id.cert_pem.decode(), "vins": [V]})
    c.ok("bank_b", "RequestOwnerConsent", {"consent_id": "OC-1", "vin": V, "kind": "certificate_release"})
    shown = c.ledger.simulate(identity("ta"), "GetOwnerConsent", "OC-1").response.payload
    c.ok(
        "bank_b",
        "SignOwnerConsent",
        "OC-1",
        {"signature": sign(owner_id, signed_document(json.loads(shown)))},
    )
    body = {"certificate_number": "SC-B1", "vin": V, "sha256": "cd" * 32, "as_of_block": 4,
            "issuer": "BankBMSP", "owner_consent_id": "OC-1"}  # fmt: skip
    refused = c.fail("bank_a", "RecordSearchCertificate", {**body, "issuer": "BankAMSP"}, status=409)
    assert "was given to BankBMSP, not to BankAMSP" in refused
    record = c.ok("bank_b", "RecordSearchCertificate", body)
    assert record["owner_consent_id"] == "OC-1"
    again = c.fail("bank_b", "RecordSearchCertificate", {**body, "certificate_number": "SC-B2"}, status=409)
    assert "already used by search certificate SC-B1" in again
