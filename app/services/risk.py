"""Risk use cases the edges share: each bank's own scorecard service and who may use it.

A bank's scorecard is named after the bank (``application-scorecard-banka``); only that bank's users
with the right role reach it, the regulator reads any bank's. Refusals are domain errors.
"""

from __future__ import annotations

from functools import lru_cache

from app.risk.scoring import SCORECARD_NAME, ScorecardService
from app.services.errors import NotPermitted
from app.services.valuation import registry_for
from app.users.roles import BANKS, Role, org_key
from app.valuation.registry import ModelRegistry


@lru_cache(maxsize=16)
def _service(root: str, name: str) -> ScorecardService:
    return ScorecardService(registry_for(root), name)


def scorecard_name(msp_id: str) -> str:
    """Each bank's own scorecard name, e.g. ``application-scorecard-banka``."""
    return f"{SCORECARD_NAME}-{org_key(msp_id)}"


def scorecard_of(registry: ModelRegistry, bank: str) -> ScorecardService:
    """The scorecard service of ``bank`` over ``registry`` (one per process and bank)."""
    return _service(str(registry.root), scorecard_name(bank))


def refused(msp_id: str, role: Role, what: str) -> NotPermitted:
    return NotPermitted(f"access rule: {what} (you are {role.value} of {msp_id})")


def bank_scorecard(
    registry: ModelRegistry, msp_id: str, role: Role, roles: frozenset[Role], what: str
) -> ScorecardService:
    """The caller's own bank's scorecard when the caller's role is one of ``roles``."""
    if msp_id not in BANKS or role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise refused(msp_id, role, f"{what} needs a bank's {allowed}")
    return scorecard_of(registry, msp_id)
