"""User administration (role admin, own org only): create and enrol users, list, disable."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from app.api.deps import AdminUser, State
from app.api.errors import ApiError
from app.users.enrolment import EnrolmentError
from app.users.provision import provision_user
from app.users.roles import Role
from app.users.store import User, UserError

router = APIRouter(prefix="/users", tags=["users"])


class UserOut(BaseModel):
    username: str
    msp_id: str
    role: Role
    enrolled: bool
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username,
            msp_id=user.msp_id,
            role=user.role,
            enrolled=user.enrolled,
            disabled=user.disabled,
        )


class UserIn(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    role: Role
    password: Annotated[str, Field(min_length=8, max_length=128)]


@router.get("", response_model=list[UserOut], summary="Users of your org")
async def list_users(state: State, admin: AdminUser) -> list[UserOut]:
    return [UserOut.of(u) for u in state.users.list_users(admin.user.msp_id)]


@router.post("", status_code=201, response_model=UserOut, summary="Create a user of your org and enrol it")
async def add_user(state: State, admin: AdminUser, body: UserIn) -> UserOut:
    msp_id = admin.user.msp_id
    try:
        user = await asyncio.to_thread(
            provision_user, state.users, state.enroller, msp_id, body.username, body.role, body.password
        )
    except UserError as exc:
        field, _, reason = str(exc).partition(": ")
        status = 409 if "already exists" in reason else 400
        raise ApiError(status, str(exc), details=[{"field": field, "reason": reason}]) from exc
    except EnrolmentError as exc:
        raise ApiError(
            503, f"user {body.username}@{msp_id} not created: the CA did not enrol it: {exc}"
        ) from exc
    return UserOut.of(user)


@router.post("/{username}/disable", response_model=UserOut, summary="Disable a user and revoke its API keys")
async def disable_user(
    state: State, admin: AdminUser, username: Annotated[str, Path(max_length=64)]
) -> UserOut:
    msp_id = admin.user.msp_id
    if state.users.get(msp_id, username) is None:
        raise ApiError(404, f"no user {username}@{msp_id}")
    state.users.set_disabled(msp_id, username, True)
    return UserOut.of(state.users.get(msp_id, username))  # type: ignore[arg-type]
