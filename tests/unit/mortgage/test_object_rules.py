"""Object-level rules one member could otherwise use against another (issue 12, findings 1 and 3).

- owner personal data: a bank reads it only through a lien the vehicle office has recorded;
- a lien request carries the owner's consent anchored by the requesting bank for that very vehicle;
- a valuation (it bounds every lien's LTV) comes from the vehicle office or a bank with a lien stake.
Every refusal is a 403/409 naming the rule, and writes nothing.
"""

from __future__ import annotations

import pytest

from .chain import Chain, valuation_body, vin

V = vin(901)
V2 = vin(902)


@pytest.fixture
def c() -> Chain:
    chain = Chain()
    chain.register(V)
    chain.register(V2)
    chain.value(V, "200000")
    chain.value(V2, "200000")
    return chain


def lien_request(c: Chain, lien_id: str, v: str, consent: str) -> dict[str, object]:
    return {
        "lien_id": lien_id,
        "vin": v,
        "loan_number": f"LN-{lien_id}",
        "mortgage_contract_number": f"MC-{lien_id}",
        "secured_amount": "50000",
        "currency": "CNY",
        "maturity_date": c.days_from_now(3 * 365),
        "consent_document_id": consent,
    }


# --- finding 1: owner personal data ----------------------------------------------------------


def test_requested_lien_gives_a_bank_no_owner_data(c: Chain) -> None:
    c.request_lien("bank_b", "LB1", V)
    message = c.fail("bank_b", "GetOwner", V, status=403)
    assert "owner_read_lienholder" in message and "recorded" in message


def test_recorded_lien_gives_its_holder_the_owner_data_and_no_other_bank(c: Chain) -> None:
    c.lien("bank_a", "LA1", V)
    assert c.ok("bank_a", "GetOwner", V)["name"] == f"Owner {V}"
    assert "owner_read_lienholder" in c.fail("bank_b", "GetOwner", V, status=403)
    # a lien on another vehicle opens nothing here
    c.lien("bank_b", "LB2", V2)
    assert "owner_read_lienholder" in c.fail("bank_b", "GetOwner", V, status=403)


def test_released_lien_ends_the_access(c: Chain) -> None:
    c.lien("bank_a", "LA1", V)
    c.ok("bank_a", "ReleaseLien", "LA1")
    assert "owner_read_lienholder" in c.fail("bank_a", "GetOwner", V, status=403)


def test_office_and_regulator_read_owner_data_without_a_lien(c: Chain) -> None:
    assert c.ok("ta", "GetOwner", V)["vin"] == V
    assert c.ok("regulator", "GetOwner", V)["vin"] == V


def test_consent_of_another_bank_is_refused(c: Chain) -> None:
    consent = c.document("bank_a", "owner_consent", V)
    message = c.fail("bank_b", "RequestLien", lien_request(c, "LB1", V, consent), status=409)
    assert "consent_document_id" in message and "anchored by BankAMSP" in message


def test_consent_without_a_vin_is_refused(c: Chain) -> None:
    consent = c.document("bank_b", "owner_consent")
    message = c.fail("bank_b", "RequestLien", lien_request(c, "LB1", V, consent), status=409)
    assert "consent_document_id" in message and "names no vehicle" in message


def test_consent_for_another_vehicle_is_refused(c: Chain) -> None:
    consent = c.document("bank_b", "owner_consent", V2)
    message = c.fail("bank_b", "RequestLien", lien_request(c, "LB1", V, consent), status=409)
    assert "consent_document_id" in message and V2 in message


def test_consent_anchored_by_the_office_is_not_a_consent_to_a_bank(c: Chain) -> None:
    consent = c.document("ta", "owner_consent", V)
    message = c.fail("bank_b", "RequestLien", lien_request(c, "LB1", V, consent), status=409)
    assert "anchored by TrafficAuthorityMSP" in message


def test_consent_is_spent_by_one_live_lien(c: Chain) -> None:
    consent = c.document("bank_b", "owner_consent", V)
    c.ok("bank_b", "RequestLien", lien_request(c, "LB1", V, consent))
    message = c.fail("bank_b", "RequestLien", lien_request(c, "LB2", V, consent), status=409)
    assert "already carried by lien LB1" in message
    # once the office rejects the first request, the owner's consent may back a corrected one
    c.ok("ta", "RejectLien", "LB1", "wrong loan number")
    assert c.ok("bank_b", "RequestLien", lien_request(c, "LB2", V, consent))["status"] == "REQUESTED"


def test_bound_consent_then_recording_opens_the_owner_data(c: Chain) -> None:
    consent = c.document("bank_b", "owner_consent", V)
    c.ok("bank_b", "RequestLien", lien_request(c, "LB1", V, consent))
    c.fail("bank_b", "GetOwner", V, status=403)
    c.ok("ta", "RecordLien", "LB1")
    assert c.ok("bank_b", "GetOwner", V)["id_number"] == f"ID-{V}"


# --- finding 3: valuations -------------------------------------------------------------------


def latest(c: Chain, v: str) -> str:
    return str(c.ok("ta", "GetLatestValuation", v)["value"])


def test_bank_without_a_lien_cannot_value_anothers_collateral(c: Chain) -> None:
    c.lien("bank_a", "LA1", V, "100000")
    before = latest(c, V)
    message = c.fail("bank_b", "RecordValuation", valuation_body(V, "1.00", "V-LOW"), status=403)
    assert "valuer_lien" in message and "BankBMSP" in message
    assert latest(c, V) == before
    # BankA's next lien is judged on the honest value
    c.lien("bank_a", "LA2", V, "10000")


def test_bank_with_a_requested_or_recorded_lien_may_value(c: Chain) -> None:
    c.request_lien("bank_b", "LB1", V)
    c.value(V, "180000", who="bank_b")
    assert latest(c, V) == "180000"
    c.ok("ta", "RecordLien", "LB1")
    c.value(V, "170000", who="bank_b")
    assert latest(c, V) == "170000"


def test_ended_lien_ends_the_right_to_value(c: Chain) -> None:
    c.lien("bank_a", "LA1", V)
    c.ok("bank_a", "ReleaseLien", "LA1")
    assert "valuer_lien" in c.fail("bank_a", "RecordValuation", valuation_body(V, "9", "V-X"), status=403)


@pytest.mark.parametrize(
    "who", ["insurer", "dealer", "regulator", "bank_a_admin", "bank_a_auditor", "ta_admin"]
)
def test_other_roles_cannot_value(c: Chain, who: str) -> None:
    message = c.fail(who, "RecordValuation", valuation_body(V, "9", "V-X"), status=403)
    assert "rule 'valuer'" in message


def test_vehicle_office_values_any_vehicle(c: Chain) -> None:
    c.value(V2, "123456", who="ta")
    assert latest(c, V2) == "123456"
