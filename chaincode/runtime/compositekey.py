"""Fabric's composite-key encoding and key checks, shared by the peer stub and the in-process host.

Encoding as in fabric-chaincode-go's shim: ``U+0000 objectType U+0000 attr1 U+0000 attr2 U+0000 ...``.
A partial-key range scans ``[prefix, prefix + U+10FFFF)``. Simple keys must not start with U+0000
(that namespace belongs to composite keys); an empty range start key becomes ``U+0001``.
"""

from __future__ import annotations

from .errors import StubUsageError

COMPOSITE_KEY_NAMESPACE = "\x00"
MIN_UNICODE_RUNE = "\x00"
MAX_UNICODE_RUNE = "\U0010ffff"
EMPTY_KEY_SUBSTITUTE = "\x01"


def _validate_attribute(value: str) -> None:
    if not isinstance(value, str):
        raise StubUsageError(f"composite key attribute must be a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StubUsageError(f"not a valid utf8 string: [{value!r}]") from exc
    for ch in (MIN_UNICODE_RUNE, MAX_UNICODE_RUNE):
        if ch in value:
            raise StubUsageError(
                f"input contains unicode {ord(ch):#x} starting at position [{value.index(ch)}]. "
                f"{ord(MIN_UNICODE_RUNE):#x} and {ord(MAX_UNICODE_RUNE):#x} are not allowed in the input "
                "attribute of a composite key"
            )


def create_composite_key(object_type: str, attributes: list[str]) -> str:
    """Build the key exactly as Go's ``stub.CreateCompositeKey``."""
    _validate_attribute(object_type)
    parts = [COMPOSITE_KEY_NAMESPACE, object_type, MIN_UNICODE_RUNE]
    for attr in attributes:
        _validate_attribute(attr)
        parts.append(attr)
        parts.append(MIN_UNICODE_RUNE)
    return "".join(parts)


def split_composite_key(composite_key: str) -> tuple[str, list[str]]:
    """Inverse of :func:`create_composite_key` (Go's ``SplitCompositeKey``)."""
    components: list[str] = []
    start = 1
    for i in range(1, len(composite_key)):
        if composite_key[i] == MIN_UNICODE_RUNE:
            components.append(composite_key[start:i])
            start = i + 1
    if not components:
        return "", []
    return components[0], components[1:]


def partial_composite_key_range(object_type: str, attributes: list[str]) -> tuple[str, str]:
    """Start and end key of a partial composite-key scan."""
    start = create_composite_key(object_type, attributes)
    return start, start + MAX_UNICODE_RUNE


def validate_simple_key(*keys: str) -> None:
    """Refuse simple keys in the composite-key namespace, as Go's ``validateSimpleKeys``."""
    for key in keys:
        if key and key[0] == COMPOSITE_KEY_NAMESPACE:
            raise StubUsageError(
                f"first character of the key [{key!r}] contains a null character which is not allowed"
            )


def range_start(start_key: str) -> str:
    """Go's shim replaces an empty start key by U+0001 so composite keys stay out of simple ranges."""
    return start_key or EMPTY_KEY_SUBSTITUTE
