"""VIN validation: ISO 3779 syntax plus the position-9 check digit where the region mandates it.

ISO 3779 fixes 17 characters from ``0-9A-Z`` without ``I``, ``O`` and ``Q`` but does not mandate a check
digit. North America (49 CFR 565, WMI first character 1-5) and China (GB 16735, WMI first character
``L``) do, with the same weights and transliteration; for those VINs position 9 must match. Other regions
are checked for syntax only, because a valid European or Japanese VIN may carry any character there.
"""

from __future__ import annotations

import re

VIN_LENGTH = 17
CHECK_DIGIT_INDEX = 8
CHECK_DIGIT_WMI_PREFIXES = frozenset("12345L")

_VIN_RE = re.compile(r"^[0-9A-HJ-NPR-Z]{17}$")
_TRANSLITERATION: dict[str, int] = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


class VinError(ValueError):
    """A VIN that is not acceptable; the message says why."""


def compute_check_digit(vin: str) -> str:
    """The check character for a syntactically valid VIN ('0'-'9' or 'X')."""
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def check_digit_required(vin: str) -> bool:
    """True when the VIN's world manufacturer identifier belongs to a check-digit region."""
    return vin[:1] in CHECK_DIGIT_WMI_PREFIXES


def validate_vin(vin: str) -> str:
    """Return ``vin`` unchanged if acceptable, else raise VinError naming the reason."""
    if not isinstance(vin, str):
        raise VinError("must be a string")
    if len(vin) != VIN_LENGTH:
        raise VinError(f"must be {VIN_LENGTH} characters, got {len(vin)}")
    if not _VIN_RE.match(vin):
        bad = sorted({c for c in vin if not re.match(r"[0-9A-HJ-NPR-Z]", c)})
        shown = ", ".join(repr(c) for c in bad)
        raise VinError(f"invalid character(s) {shown}: only 0-9 and upper-case A-Z without I, O, Q")
    if check_digit_required(vin):
        expected = compute_check_digit(vin)
        if vin[CHECK_DIGIT_INDEX] != expected:
            raise VinError(f"check digit (position 9) is {vin[CHECK_DIGIT_INDEX]!r}, expected {expected!r}")
    return vin


def with_check_digit(vin17: str) -> str:
    """Return the VIN with position 9 replaced by its computed check digit (test and demo helper)."""
    return vin17[:CHECK_DIGIT_INDEX] + compute_check_digit(vin17) + vin17[CHECK_DIGIT_INDEX + 1 :]
