"""app.services.risk: each bank reaches only its own scorecard, with a role that may."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services import risk
from app.services.errors import NotPermitted
from app.users.roles import Role
from app.valuation.registry import ModelRegistry


def test_a_bank_gets_its_own_scorecard_and_others_are_refused_naming_why(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    own = risk.bank_scorecard(
        registry, "BankAMSP", Role.loan_officer, frozenset({Role.loan_officer}), "scoring"
    )
    assert own is risk.scorecard_of(registry, "BankAMSP")  # one service per process and bank
    assert risk.scorecard_name("BankAMSP") == "application-scorecard-banka"
    with pytest.raises(NotPermitted, match="scoring needs a bank's loan_officer") as refused:
        risk.bank_scorecard(
            registry, "InsurerMSP", Role.loan_officer, frozenset({Role.loan_officer}), "scoring"
        )
    assert refused.value.status == 403 and "(you are loan_officer of InsurerMSP)" in refused.value.message
    with pytest.raises(NotPermitted):
        risk.bank_scorecard(registry, "BankAMSP", Role.auditor, frozenset({Role.loan_officer}), "scoring")
