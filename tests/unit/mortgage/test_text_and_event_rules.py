"""Text the contract accepts (issue 12, finding 14) and which events a caller may see (finding 5).

NUL and U+10FFFF are Fabric's composite-key separator and range end: in a key-forming field they used
to reach the key builder (a 502 on the embedded backend); every text field refuses them with a 400 that
names the field, and free-text fields have length limits (a 9.6 MB configuration value was accepted).
"""

from __future__ import annotations

import pytest

from chaincode.mortgage import access
from chaincode.mortgage.text import bad_character

from .chain import PRINCIPALS, Chain, owner, vin

V = vin(931)


@pytest.fixture
def c() -> Chain:
    return Chain()


def vehicle(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "vin": V,
        "plate": "A12345",
        "make": "Honda",
        "model": "Civic",
        "year": 2024,
        "registration_date": "2025-12-01",
    }
    body.update(fields)
    return body


@pytest.mark.parametrize("bad", ["Hon\x00da", "Honda\U0010ffff", "Hon\x1bda", "Hon\ufdd0da", "Hon\ud800da"])
def test_key_forming_make_refuses_control_and_noncharacters(c: Chain, bad: str) -> None:
    message = c.fail("ta", "RegisterVehicle", vehicle(make=bad), transient=owner("x")[0], status=400)
    assert "make" in message
    c.fail("ta", "GetVehicle", V, status=404)  # nothing was written


@pytest.mark.parametrize("plate", ["\x00", "A\U0010ffff", "A\n1"])
def test_plate_lookup_refuses_control_and_noncharacters(c: Chain, plate: str) -> None:
    assert "plate" in c.fail("bank_a", "GetVehicleByPlate", plate, status=400)


@pytest.mark.parametrize(
    "fields",
    [
        {"configuration": {"color": "x" * 201}},
        {"configuration": {"color": "x" * 9_600_000}},
        {"configuration": {"k" * 65: 1}},
        {"configuration": {"co\x00lor": "blue"}},
        {"trim": "t" * 101},
        {"region": "r" * 65},
        {"model": "m\x00"},
    ],
)
def test_vehicle_free_text_is_bounded_and_clean(c: Chain, fields: dict[str, object]) -> None:
    field = next(iter(fields))
    assert field in c.fail("ta", "RegisterVehicle", vehicle(**fields), transient=owner("x")[0], status=400)


def test_free_text_keeps_line_breaks_but_no_other_controls() -> None:
    assert bad_character("line one\nline two\tend", multiline=True) is None
    assert bad_character("one\ntwo") == "contains a control character (U+000A at position 3)"
    assert "U+0000" in str(bad_character("a\x00", multiline=True))


def test_every_event_maps_to_a_read_function_and_unknown_events_go_to_history_readers_only() -> None:
    assert set(access.EVENT_READS.values()) <= set(access.ACCESS)
    for principal, (msp, role) in PRINCIPALS.items():
        seen = access.event_visible("LienRequested", msp, role)
        assert seen == access.ACCESS["GetLien"].allows(msp, role or ""), principal
        assert access.event_visible("SomethingNew", msp, role) == access.HISTORY_READ.allows(msp, role or "")
    assert not access.event_visible("LienRecorded", "InsurerMSP", "admin")
    assert not access.event_visible("ValuationRecorded", "DealerMSP", "admin")
    assert access.event_visible("LienRecorded", "BankBMSP", "admin")


def test_a_payoff_quote_event_goes_to_the_quote_parties_and_neutral_readers_only() -> None:
    """Same rule as GetPayoffQuote: the dealer that asked sees it; another bank or dealer does not."""
    payload = {"lien_id": "L2", "lienholder": "BankBMSP", "requester_msp": "DealerMSP", "amount": "1"}
    assert access.EVENT_READS["PayoffQuoted"] == "GetPayoffQuote"
    for msp, role in [("DealerMSP", "admin"), ("BankBMSP", "admin"), ("TrafficAuthorityMSP", "admin")]:
        assert access.event_visible("PayoffQuoted", msp, role, payload), (msp, role)
    for msp, role in [("RegulatorMSP", "regulator"), ("BankAMSP", "auditor")]:
        assert access.event_visible("PayoffQuoted", msp, role, payload), (msp, role)
    assert not access.event_visible("PayoffQuoted", "BankAMSP", "admin", payload)
    assert not access.event_visible("PayoffQuoted", "InsurerMSP", "admin", payload)
    bank_asked = {**payload, "requester_msp": "BankAMSP"}
    assert access.event_visible("PayoffQuoted", "BankAMSP", "admin", bank_asked)
    assert not access.event_visible("PayoffQuoted", "DealerMSP", "admin", bank_asked)
    # an event naming no parties (or no payload) reaches only the neutral readers
    assert not access.event_visible("PayoffQuoted", "BankBMSP", "admin", None)
    assert access.event_visible("PayoffQuoted", "TrafficAuthorityMSP", "admin", None)


def test_every_event_the_contract_emits_has_a_read_rule() -> None:
    """A new event without an entry would reach only history readers; keep the table complete."""
    import re
    from pathlib import Path

    import chaincode.mortgage.contract as contract

    emitted: set[str] = set()
    for module in Path(contract.__file__).parent.glob("*.py"):
        emitted |= set(re.findall(r'emit\(\s*"([A-Za-z]+)"', module.read_text(encoding="utf-8")))
    assert len(emitted) >= 20 and emitted == set(access.EVENT_READS)
