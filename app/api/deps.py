"""FastAPI dependencies: the gateway state, the authenticated user and their Fabric caller.

All are ``async def``: they only do quick in-memory/SQLite work, and sync dependencies would each
cost a worker-thread hop per request.

Bearer tokens (OAuth2 password flow) and API keys (``X-API-Key``) both resolve to a stored user;
the user's org and role become the :class:`Caller` the ledger signs as.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from app.api import oidc_auth
from app.api.errors import ApiError
from app.api.state import GatewayState
from app.ledger.port import Caller
from app.users.roles import READ_ONLY_ROLES, Role
from app.users.store import User
from app.users.tokens import TokenError, verify_token

TOKEN_URL = "/api/v1/auth/token"
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def get_state(request: Request) -> GatewayState:
    return request.app.state.gw  # type: ignore[no-any-return]


State = Annotated[GatewayState, Depends(get_state)]


@dataclass(frozen=True, slots=True)
class AuthUser:
    user: User
    signer: str | None = None  # the enrolled identity that signs, when not the user's own (OIDC users)

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def caller(self) -> Caller:
        return Caller(
            user_id=self.signer or self.user.username,
            msp_id=self.user.msp_id,
            attributes={"role": self.user.role.value},
        )


def token_user(state: GatewayState, token: str) -> User:
    """The user a bearer token stands for; ApiError 401 when it is forged, expired, revoked (logout)
    or its user is gone, disabled, or a demo user outside demo mode. Shared with the web session."""
    try:
        claims = verify_token(state.settings.signing_secret, token)
    except TokenError as exc:
        raise ApiError(401, f"invalid bearer token: {exc}", headers=_CHALLENGE) from exc
    if state.users.token_revoked(claims.token_id):
        raise ApiError(401, "invalid bearer token: revoked (logged out)", headers=_CHALLENGE)
    if claims.role == Role.owner.value and claims.binding is not None:
        raise ApiError(
            403, "access rule: an owner's session reaches only /api/v1/owner/… and the owner's pages"
        )
    msp_id, _, username = claims.subject.partition("/")
    user = state.users.get(msp_id, username)
    if user is None or user.disabled:
        raise ApiError(401, "the token's user no longer exists or is disabled", headers=_CHALLENGE)
    return user


def bearer_auth(state: GatewayState, token: str) -> AuthUser:
    """Who a bearer token stands for: the identity provider's (OIDC, when on) or the gateway's own."""
    if oidc_auth.handles(state, token):
        identity = oidc_auth.verify(state, token)
        return AuthUser(oidc_auth.as_user(identity), signer=identity.signer)
    return AuthUser(token_user(state, token))


def _resolve(state: GatewayState, token: str | None, api_key: str | None) -> AuthUser | None:
    if api_key:
        user = state.users.user_for_api_key(api_key)
        if user is None:
            raise ApiError(401, "invalid or revoked API key", headers=_CHALLENGE)
    elif token and oidc_auth.handles(state, token):
        return bearer_auth(state, token)
    elif token:
        user = token_user(state, token)
    else:
        return None
    if user.demo and not state.settings.demo_mode:
        raise ApiError(401, "demo users are refused: this gateway is not in demo mode", headers=_CHALLENGE)
    if user.msp_id not in state.settings.orgs:
        raise ApiError(401, f"this gateway does not serve {user.msp_id}", headers=_CHALLENGE)
    return AuthUser(user)


Token = Annotated[str | None, Depends(oauth2_scheme)]
ApiKey = Annotated[str | None, Depends(api_key_scheme)]


async def optional_user(request: Request, token: Token, api_key: ApiKey) -> AuthUser | None:
    return _resolve(request.app.state.gw, token, api_key)


async def current_user(request: Request, token: Token, api_key: ApiKey) -> AuthUser:
    """The caller, from the two credential schemes directly (not through optional_user and the state
    dependency: FastAPI walks every sub-dependency of every use on each request, cached or not)."""
    user = _resolve(request.app.state.gw, token, api_key)
    if user is None:
        raise ApiError(401, "authentication required (Bearer token or X-API-Key)", headers=_CHALLENGE)
    return user


CurrentUser = Annotated[AuthUser, Depends(current_user)]


def refuse_if_read_only(state: GatewayState, user: AuthUser) -> None:
    """The regulator's gateway and read-only roles never reach the ledger with a write."""
    if state.settings.read_only:
        raise ApiError(403, "read-only gateway: RegulatorMSP's gateway refuses every write")
    if user.user.msp_id == "RegulatorMSP":
        raise ApiError(403, "access rule: RegulatorMSP reads everything and writes nothing")
    if user.role in READ_ONLY_ROLES:
        raise ApiError(403, f"access rule: role {user.role.value!r} is read-only")


async def writer(state: State, user: CurrentUser) -> AuthUser:
    refuse_if_read_only(state, user)
    return user


Writer = Annotated[AuthUser, Depends(writer)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency allowing only the given roles (for gateway-side features like event streams)."""

    async def check(user: CurrentUser) -> AuthUser:
        if user.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise ApiError(
                403, f"access rule: this resource needs role {allowed} (you are {user.role.value})"
            )
        return user

    return check


async def admin_user(user: CurrentUser) -> AuthUser:
    if user.role is not Role.admin:
        raise ApiError(403, "access rule: user administration needs role admin")
    return user


AdminUser = Annotated[AuthUser, Depends(admin_user)]
