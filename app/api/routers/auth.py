"""Authentication: OAuth2 password flow for bearer tokens, self-service API keys, who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from app.api.deps import CurrentUser, State, oauth2_scheme
from app.api.errors import ApiError
from app.api.models import TokenResponse
from app.api.sessions import password_login, revoke, session_token
from app.users.store import UserError, split_qualified

router = APIRouter(prefix="/auth", tags=["auth"])


def default_org(orgs: list[str]) -> str | None:
    return orgs[0] if len(orgs) == 1 else None


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="OAuth2 password flow: username@MSP + password",
    responses={429: {"description": "Too many failed logins for this account or address (Retry-After)"}},
)
async def token(
    state: State, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    try:
        split_qualified(form.username, default_org(state.settings.orgs))
    except UserError as exc:
        raise ApiError(400, str(exc), details=[{"field": "username", "reason": str(exc)}]) from exc
    user = await password_login(state, request, form.username, form.password)
    if user is None:
        raise ApiError(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    ttl = state.settings.token_ttl_seconds
    return TokenResponse(
        access_token=session_token(state, user), expires_in=ttl, role=user.role.value, msp_id=user.msp_id
    )


@router.post("/logout", status_code=204, summary="Revoke the bearer token of this request")
async def logout(
    state: State, user: CurrentUser, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> None:
    if token is None:
        raise ApiError(400, "logout revokes a bearer token; revoke API keys with DELETE /auth/api-keys/{id}")
    revoke(state, token)


class Me(BaseModel):
    username: str
    msp_id: str
    role: str
    enrolled: bool


@router.get("/me", response_model=Me, summary="The authenticated user")
async def me(user: CurrentUser) -> Me:
    u = user.user
    return Me(username=u.username, msp_id=u.msp_id, role=u.role.value, enrolled=u.enrolled)


class ApiKeyIn(BaseModel):
    label: str = Field(default="", max_length=100)


class ApiKeyOut(BaseModel):
    api_key: str = Field(description="Shown once; send it as the X-API-Key header.")
    key_id: str


@router.post("/api-keys", status_code=201, response_model=ApiKeyOut, summary="Create an API key for yourself")
async def create_api_key(state: State, user: CurrentUser, body: ApiKeyIn) -> ApiKeyOut:
    key = state.users.create_api_key(user.user.msp_id, user.user.username, body.label)
    return ApiKeyOut(api_key=key, key_id=key.split("_")[1])


@router.get("/api-keys", summary="Your API keys (ids and labels only)")
async def list_api_keys(state: State, user: CurrentUser) -> list[dict[str, Any]]:
    return state.users.list_api_keys(user.user.msp_id, user.user.username)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke one of your API keys")
async def revoke_api_key(
    state: State, user: CurrentUser, key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
) -> None:
    keys = {k["key_id"] for k in state.users.list_api_keys(user.user.msp_id, user.user.username)}
    if key_id not in keys:
        raise ApiError(404, f"no API key {key_id} of yours")
    state.users.revoke_api_key(key_id)
