"""The owner's sessions at the API edge: challenge sign-in plumbing and the ``CurrentOwner`` dependency.

An owner's bearer token (or page cookie) is good only for the owner's own routes (``/api/v1/owner/…``)
and pages; every read behind them runs as the vehicle office's service identity, limited to the
owner's own account by :mod:`app.services.owner_portal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from app.api.deps import AuthUser, State, oauth2_scheme
from app.api.errors import ApiError
from app.api.reads import reader
from app.api.state import GatewayState
from app.ledger.port import Caller
from app.services import owner_portal
from app.services.errors import ServiceError
from app.services.reads import Reader
from app.users.owner_signin import OwnerChallenges, OwnerSignInError
from app.users.roles import Role
from app.users.store import User

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_KEY = "owner_challenges"


def challenges(state: GatewayState) -> OwnerChallenges:
    if _KEY not in state.extras:
        state.extras[_KEY] = OwnerChallenges(state.users.db)
    found: OwnerChallenges = state.extras[_KEY]
    return found


def sign_in_error(exc: OwnerSignInError) -> ApiError:
    headers = _CHALLENGE if exc.status == 401 else None
    return ApiError(exc.status, str(exc), details=[{"field": exc.field, "reason": str(exc)}], headers=headers)


def desk_user(state: GatewayState) -> AuthUser:
    """The vehicle office's service identity as a gateway user (for the write path's ``WriteContext``)."""
    caller = owner_portal.desk_caller(state.settings.orgs)
    user = User(caller.msp_id, caller.user_id, Role(caller.attributes["role"]), True, caller.user_id, False)
    return AuthUser(user)


@dataclass(frozen=True, slots=True)
class OwnerContext:
    """A signed-in owner: their session, the account as the chain has it now, and how to read."""

    session: owner_portal.OwnerSession
    account: dict[str, Any]
    caller: Caller  # the office's service identity, never the owner
    read: Reader


async def owner_context(state: GatewayState, token: str) -> OwnerContext:
    """ServiceError / ApiError when the token is not a live owner session of a current account."""
    session = owner_portal.session_of(state.settings.signing_secret, state.users, token)
    caller = owner_portal.desk_caller(state.settings.orgs)
    read = reader(state)
    account = await owner_portal.current_account(read, caller, session)
    return OwnerContext(session, account, caller, read)


async def current_owner(state: State, token: Annotated[str | None, Depends(oauth2_scheme)]) -> OwnerContext:
    if not token:
        raise ApiError(
            401, "owner sign-in required (Bearer token from /api/v1/owner-auth)", headers=_CHALLENGE
        )
    try:
        return await owner_context(state, token)
    except ServiceError as exc:
        status = 401 if exc.status == 403 else exc.status
        raise ApiError(status, exc.message, headers=_CHALLENGE if status == 401 else None) from exc


CurrentOwner = Annotated[OwnerContext, Depends(current_owner)]
