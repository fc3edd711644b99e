"""The webhook signature: what a receiver checks (docs/notifications.md shows the same code)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.notifications.signing import SignatureError, new_secret, sign, verify


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    secret, body = new_secret(), b'{"id":"whk_1"}'
    header = sign(secret, body, timestamp=1_700_000_000)
    expected = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(secret, body, header, now=1_700_000_010) == 1_700_000_000


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s, b, h: (s, b + b" ", h), "no matching"),
        (lambda s, b, h: (new_secret(), b, h), "no matching"),
        (lambda s, b, h: (s, b, h.replace("t=1700000000", "t=1700000001")), "no matching"),
        (lambda s, b, h: (s, b, None), "missing"),
        (lambda s, b, h: (s, b, "v1=abc"), "expected t="),
    ],
)
def test_tampered_body_secret_or_timestamp_is_refused(mutate, reason) -> None:  # type: ignore[no-untyped-def]
    secret, body = new_secret(), b"{}"
    header = sign(secret, body, timestamp=1_700_000_000)
    s, b, h = mutate(secret, body, header)
    with pytest.raises(SignatureError, match=reason):
        verify(s, b, h, now=1_700_000_000)


def test_stale_timestamp_is_refused_and_any_v1_may_match() -> None:
    secret, body = new_secret(), b"{}"
    header = sign(secret, body, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(secret, body, header, now=1_700_000_000 + 301)
    rotated = header.replace("v1=", "v1=deadbeef,v1=")
    assert verify(secret, body, rotated, now=1_700_000_000) == 1_700_000_000
