"""Characters a text field may hold: no control characters, surrogates or Unicode noncharacters.

Why: Fabric builds composite keys with U+0000 as the separator and U+10FFFF as the range end, so one of
them in a key-forming field (VIN, plate, make, an id) breaks the key; elsewhere they are never
legitimate data and only hide text from a reader. Free text may keep tab and line breaks. Used by the
contract's models and raw arguments and by the gateway's models, so both refuse with the same reason.
"""

from __future__ import annotations

import unicodedata

#: Whitespace a multi-line free-text field may keep.
LINE_BREAKS = frozenset("\t\n\r")


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def bad_character(value: str, *, multiline: bool = False) -> str | None:
    """The reason ``value`` is refused (naming the first bad character and its position), or None."""
    for index, char in enumerate(value):
        if multiline and char in LINE_BREAKS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            kind = "a control character"
        elif category == "Cs":
            kind = "a lone surrogate"
        elif _noncharacter(ord(char)):
            kind = "a Unicode noncharacter"
        else:
            continue
        return f"contains {kind} (U+{ord(char):04X} at position {index})"
    return None


def clean_line(value: str) -> str:
    """Pydantic AfterValidator for one-line fields (names, ids, keys): no control characters at all."""
    reason = bad_character(value)
    if reason:
        raise ValueError(reason)
    return value


def clean_text(value: str) -> str:
    """Pydantic AfterValidator for free text: tab and line breaks allowed, other controls refused."""
    reason = bad_character(value, multiline=True)
    if reason:
        raise ValueError(reason)
    return value
