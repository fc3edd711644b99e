"""Create a user and give it a Fabric identity: shared by `mledger users add` and POST /users."""

from __future__ import annotations

import logging
import secrets

from app.users.enrolment import Enroller
from app.users.roles import STANDARD_USERS, Role
from app.users.store import User, UserStore

log = logging.getLogger(__name__)


def provision_user(
    users: UserStore, enroller: Enroller, msp_id: str, username: str, role: Role, password: str
) -> User:
    """Add the user (UserError on bad input) and enrol it with a fresh CA secret (EnrolmentError).

    The CA enrolment secret is random and never the user's password: the two live in different places.
    """
    users.add(msp_id, username, role, password)
    enrolled = enroller.enroll(msp_id, username, role, secrets.token_urlsafe(18))
    users.mark_enrolled(msp_id, username, enrolled.enrollment_id)
    return users.get(msp_id, username)  # type: ignore[return-value]


def demo_password(msp_id: str, username: str) -> str:
    """The well-known password of a demo user (embedded demo only; printed by `mledger serve`)."""
    return f"{username}-{msp_id[:-3].lower()}-demo"


def ensure_standard_users(users: UserStore, enroller: Enroller, orgs: list[str]) -> list[tuple[User, str]]:
    """Create every org's standard users with demo passwords if missing; return (user, password)."""
    created: list[tuple[User, str]] = []
    for msp_id in orgs:
        for username, role in STANDARD_USERS[msp_id]:
            password = demo_password(msp_id, username)
            existing = users.get(msp_id, username)
            user = existing or provision_user(users, enroller, msp_id, username, role, password)
            created.append((user, password))
    return created


def adopt_enrolled_user(users: UserStore, msp_id: str, username: str, role: Role, password: str) -> User:
    """A gateway login for an identity already enrolled and copied into the wallet (e.g. the network's
    standard users): no CA call."""
    users.add(msp_id, username, role, password)
    users.mark_enrolled(msp_id, username, username)
    return users.get(msp_id, username)  # type: ignore[return-value]
