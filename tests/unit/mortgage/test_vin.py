"""VIN rule: ISO 3779 syntax everywhere, the position-9 check digit where the region mandates it."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaincode.mortgage.vin import (
    VinError,
    check_digit_required,
    compute_check_digit,
    validate_vin,
    with_check_digit,
)

ALLOWED = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP042788",  # the 49 CFR 565 worked example (check digit X)
        "11111111111111111",  # all ones: weighted sum 89, 89 % 11 = 1
        "1HGCM82633A004352",  # North America (US), check digit 3
        "LSVAU218XN2183294",  # China (GB 16735): check digit verified
        "WVWZZZ1JZXW000001",  # Europe: position 9 'Z' is fine, no check digit mandated
        "JTDKB20U793512345",  # Japan: position 9 not verified
    ],
)
def test_accepts_valid_vins(vin: str) -> None:
    assert validate_vin(vin) == vin


@pytest.mark.parametrize(
    ("vin", "reason"),
    [
        ("1M8GDM9AXKP04278", "must be 17 characters, got 16"),
        ("1M8GDM9AXKP0427888", "must be 17 characters, got 18"),
        ("1M8GDM9AXKP04278O", "invalid character(s) 'O'"),
        ("IM8GDM9AXKP042788", "invalid character(s) 'I'"),
        ("1M8GDM9AXKP04278Q", "invalid character(s) 'Q'"),
        ("1m8gdm9axkp042788", "invalid character(s)"),  # lower case is refused, not folded
        ("1M8GDM9A1KP042788", "check digit (position 9) is '1', expected 'X'"),
        ("LSVAU2180N2183294", "check digit (position 9) is '0', expected 'X'"),
        ("1M8GDM9AXKP04278-", "invalid character(s) '-'"),
    ],
)
def test_refuses_with_reason(vin: str, reason: str) -> None:
    with pytest.raises(VinError) as err:
        validate_vin(vin)
    assert reason in str(err.value)


def test_check_digit_regions() -> None:
    for prefix in "12345L":
        assert check_digit_required(prefix + "0" * 16)
    for prefix in "JKSWVZ69":
        assert not check_digit_required(prefix + "0" * 16)


vin_bodies = st.text(alphabet=ALLOWED, min_size=17, max_size=17)


@given(vin_bodies)
def test_with_check_digit_always_validates(body: str) -> None:
    vin = with_check_digit(body)
    assert validate_vin(vin) == vin
    assert vin[8] in string.digits + "X"


@given(vin_bodies.filter(lambda b: b[0] in "12345L"), st.sampled_from(list(ALLOWED)))
def test_any_other_check_character_is_refused_in_check_digit_regions(body: str, replacement: str) -> None:
    vin = with_check_digit(body)
    changed = vin[:8] + replacement + vin[9:]
    if replacement == vin[8]:
        assert validate_vin(changed) == changed
    else:
        with pytest.raises(VinError, match="check digit"):
            validate_vin(changed)


@given(vin_bodies.filter(lambda b: b[0] in "12345L"), st.integers(0, 16).filter(lambda i: i != 8))
def test_single_transcription_error_is_caught(body: str, pos: int) -> None:
    """One changed character of a different value breaks the check (weights are non-zero mod 11)."""
    vin = with_check_digit(body)
    if pos == 0:
        return  # the first character selects the region itself
    for c in ALLOWED:
        changed = vin[:pos] + c + vin[pos + 1 :]
        same_value = compute_check_digit(changed) == vin[8]
        if same_value:
            continue  # a transliteration collision (e.g. A and J both weigh 1)
        with pytest.raises(VinError):
            validate_vin(changed)
