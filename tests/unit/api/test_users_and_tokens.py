"""Users, password hashing and signed tokens (no ledger needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.users.passwords import hash_password, verify_password
from app.users.roles import Role
from app.users.store import UserError, UserStore, split_qualified
from app.users.tokens import TokenError, issue_token, verify_token

SECRET = b"k" * 32


def test_password_hash_is_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("$argon2id$")
    assert verify_password("correct horse", first)
    assert not verify_password("wrong horse", first)
    assert not verify_password("correct horse", "garbage")


def test_token_round_trip_and_expiry() -> None:
    token = issue_token(SECRET, "BankAMSP/loan1", "loan_officer", ttl_seconds=60, now=1000)
    claims = verify_token(SECRET, token, now=1030)
    assert (claims.subject, claims.role, claims.expires_at) == ("BankAMSP/loan1", "loan_officer", 1060)
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token, now=1060)


def test_a_verified_token_is_still_refused_once_expired() -> None:
    """The per-process cache of verified tokens keeps the signature check, never the expiry check."""
    token = issue_token(SECRET, "BankAMSP/loan1", "loan_officer", ttl_seconds=60, now=1000)
    assert verify_token(SECRET, token, now=1059).token_id == verify_token(SECRET, token, now=1001).token_id
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token, now=1060)
    expired = issue_token(SECRET, "BankAMSP/loan1", "loan_officer", ttl_seconds=60, now=1000)
    with pytest.raises(TokenError, match="expired"):  # real clock: issued at 1000, long expired
        verify_token(SECRET, expired)
    with pytest.raises(TokenError, match="signature"):  # cached for SECRET, still refused for another key
        verify_token(b"other" * 8, token, now=1030)


def test_forged_or_altered_token_refused() -> None:
    token = issue_token(SECRET, "BankAMSP/loan1", "loan_officer", ttl_seconds=60)
    with pytest.raises(TokenError, match="signature"):
        verify_token(b"other" * 8, token)
    header, _body, sig = token.split(".")
    altered = issue_token(SECRET, "BankAMSP/admin", "admin", ttl_seconds=60).split(".")[1]
    with pytest.raises(TokenError, match="signature"):
        verify_token(SECRET, f"{header}.{altered}.{sig}")
    with pytest.raises(TokenError, match="malformed"):
        verify_token(SECRET, "not-a-token")


def test_user_store_roles_api_keys_and_disable(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.sqlite")
    store.add("BankAMSP", "loan2", Role.loan_officer, "password-123")
    with pytest.raises(UserError, match="already exists"):
        store.add("BankAMSP", "loan2", Role.loan_officer, "password-123")
    with pytest.raises(UserError, match="role: 'registrar' is not a role of BankAMSP"):
        store.add("BankAMSP", "reg", Role.registrar, "password-123")
    with pytest.raises(UserError, match="password"):
        store.add("BankAMSP", "shorty", Role.auditor, "short")
    assert store.authenticate("BankAMSP", "loan2", "password-123") is not None
    assert store.authenticate("BankAMSP", "loan2", "wrong-password") is None
    assert store.authenticate("BankBMSP", "loan2", "password-123") is None

    key = store.create_api_key("BankAMSP", "loan2", "ci")
    user = store.user_for_api_key(key)
    assert user is not None and user.qualified_name == "loan2@BankAMSP"
    assert store.user_for_api_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    store.set_disabled("BankAMSP", "loan2", True)
    assert store.user_for_api_key(key) is None
    assert store.authenticate("BankAMSP", "loan2", "password-123") is None

    reopened = UserStore(tmp_path / "users.sqlite")
    assert [u.qualified_name for u in reopened.list_users("BankAMSP")] == ["loan2@BankAMSP"]


def test_qualified_names() -> None:
    assert split_qualified("loan1@BankAMSP", None) == ("BankAMSP", "loan1")
    assert split_qualified("loan1", "BankBMSP") == ("BankBMSP", "loan1")
    with pytest.raises(UserError, match="name@MSP"):
        split_qualified("loan1", None)
