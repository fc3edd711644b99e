"""Canonical JSON and its sha256: the stable form a valuation's inputs are hashed and stored in."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from typing import Any


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("canonical JSON refuses NaN and infinity")
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _normalise(value.item())
    raise TypeError(f"cannot put {type(value).__name__} in canonical JSON")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys, no whitespace, shortest round-trip floats, no NaN."""
    return json.dumps(
        _normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: Any) -> str:
    return sha256_hex(canonical_json(value))
