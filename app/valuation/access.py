"""Who may use which valuation route, and the size limits on training.

Models belong to a bank: ``residual-value-banka`` is Bank A's. The rules:

| action | allowed |
|---|---|
| train, retrain, evaluate, promote | the bank's ``model_admin`` (its own bank's model only) |
| value, explain, forecast | the bank's ``loan_officer`` and ``model_admin`` (own bank's model) |
| reproduce | the bank's own users (not the scanner); the regulator org and every org's auditor (any bank's) |
| list models | the bank's own users; the regulator org and every org's auditor (every bank's) |
| mileage | every signed-in user except the QR scanner service identity |

Everything else is 403. A dealer, an insurer or a read-only role can therefore never register or
promote a version, and one bank can never train, promote or value with another bank's model.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from app.users.roles import BANKS, Role, org_key
from app.valuation.errors import AccessDenied

MODEL_PREFIX = "residual-value"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_TRAIN_ROWS = 100_000


class Action(StrEnum):
    train = "train"
    promote = "promote"
    value = "value"
    reproduce = "reproduce"
    list_models = "list_models"
    mileage = "mileage"


class _User(Protocol):
    @property
    def msp_id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def role(self) -> Role: ...


class _Auth(Protocol):
    @property
    def user(self) -> _User: ...


def bank_model_name(msp_id: str) -> str:
    if msp_id not in BANKS:
        raise ValueError(f"{msp_id} is not a bank")
    return f"{MODEL_PREFIX}-{org_key(msp_id)}"


def _oversight(msp_id: str, role: Role) -> bool:
    return msp_id == "RegulatorMSP" or role is Role.auditor


def authorise(auth: _Auth, action: Action, model_name: str | None) -> list[str] | None:
    """Raise AccessDenied unless allowed; for list_models, the model names the caller may see."""
    user = auth.user
    msp, role = user.msp_id, Role(user.role)
    own = bank_model_name(msp) if msp in BANKS else None
    if role is Role.scanner:
        raise AccessDenied("the QR scanner identity has no valuation access")
    if action is Action.mileage:
        return None
    if action is Action.list_models:
        if _oversight(msp, role):
            return [bank_model_name(b) for b in BANKS]
        if own is not None:
            return [own]
        raise AccessDenied(f"{msp} has no valuation models")
    if action is Action.reproduce:
        if _oversight(msp, role) or (own is not None and model_name == own):
            return None
        raise AccessDenied(f"{role.value} of {msp} may not reproduce valuations of model {model_name!r}")
    needed = {
        Action.train: {Role.model_admin},
        Action.promote: {Role.model_admin},
        Action.value: {Role.loan_officer, Role.model_admin},
    }[action]
    if own is None or role not in needed:
        allowed = " or ".join(sorted(r.value for r in needed))
        raise AccessDenied(f"{action.value} needs a bank's {allowed} (you are {role.value} of {msp})")
    if model_name is not None and model_name != own:
        raise AccessDenied(f"{msp} may only use its own model {own!r}, not {model_name!r}")
    return None
