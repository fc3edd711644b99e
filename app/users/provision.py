"""Create a user and give it a Fabric identity: shared by `mledger users add` and POST /users.

Also the demo users: the standard users of every org with well-known passwords, created only in
demo mode and marked ``demo`` so a gateway outside demo mode refuses them
(:func:`refuse_live_demo_passwords` catches demo passwords in data dirs from before the marking).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from app.users.enrolment import Enroller, EnrolmentError
from app.users.passwords import verify_password
from app.users.roles import Role
from app.users.store import User, UserStore
from chaincode import consortium

log = logging.getLogger(__name__)


def provision_user(
    users: UserStore,
    enroller: Enroller,
    msp_id: str,
    username: str,
    role: Role,
    password: str,
    *,
    demo: bool = False,
) -> User:
    """Enrol the user with a fresh CA secret, then add it (UserError on bad input, EnrolmentError).

    The user is stored only once its identity is enrolled: a CA that refuses leaves no local user who
    could log in and fail every call. An identity the CA already knows (a wiped wallet, a new gateway
    host) is re-enrolled by the registrar with a new secret when the enroller can. The CA enrolment
    secret is random and never the user's password: the two live in different places.
    """
    users.check_new(msp_id, username, role, password)  # bad input or a taken name: before the CA
    secret = secrets.token_urlsafe(18)
    try:
        enrolled = enroller.enroll(msp_id, username, role, secret)
    except EnrolmentError as exc:
        reset = getattr(enroller, "reset_and_enroll", None)
        if "already registered" not in str(exc) or reset is None:
            raise
        log.info("%s@%s is known to the CA: re-enrolling it with a new secret", username, msp_id)
        enrolled = reset(msp_id, username, role, secret)
    users.add(msp_id, username, role, password, demo=demo, enrollment_id=enrolled.enrollment_id)
    return users.get(msp_id, username)  # type: ignore[return-value]


def demo_password(msp_id: str, username: str) -> str:
    """The well-known password of a demo user (embedded demo only; printed by `mledger serve`)."""
    return f"{username}-{msp_id[:-3].lower()}-demo"


def demo_users(msp_id: str) -> list[tuple[str, Role]]:
    """An org's demo users (the consortium's standard users, and the gateway-only ones such as a second
    model administrator in each bank)."""
    return [(u.name, Role(u.role)) for u in consortium.org(msp_id).users]


def ensure_standard_users(users: UserStore, enroller: Enroller, orgs: list[str]) -> list[tuple[User, str]]:
    """Create every org's demo users (marked demo) if missing; return (user, password).

    Only for demo mode: the passwords are public. A gateway outside demo mode refuses these users.
    """
    created: list[tuple[User, str]] = []
    for msp_id in orgs:
        for username, role in demo_users(msp_id):
            password = demo_password(msp_id, username)
            existing = users.get(msp_id, username)
            if existing is not None and not existing.demo:
                users.set_demo(msp_id, username, True)
            user = users.get(msp_id, username) or provision_user(
                users, enroller, msp_id, username, role, password, demo=True
            )
            created.append((user, password))
    return created


def refuse_live_demo_passwords(users: UserStore, orgs: list[str]) -> list[str]:
    """Start-up check outside demo mode: a demo user name still holding its published password is
    marked demo (so it is refused). Returns the names marked; users already marked are skipped."""
    marked: list[str] = []
    for msp_id in orgs:
        for username, _role in demo_users(msp_id):
            user = users.get(msp_id, username)
            encoded = users.password_hash(msp_id, username)
            if user is None or user.demo or encoded is None:
                continue
            if verify_password(demo_password(msp_id, username), encoded):
                users.set_demo(msp_id, username, True)
                marked.append(user.qualified_name)
    if marked:
        log.warning("demo password(s) live outside demo mode: refusing %s", ", ".join(marked))
    return marked


def adopt_enrolled_user(users: UserStore, msp_id: str, username: str, role: Role, password: str) -> User:
    """A gateway login for an identity already enrolled and copied into the wallet (e.g. the network's
    standard users): no CA call."""
    users.add(msp_id, username, role, password)
    users.mark_enrolled(msp_id, username, username)
    return users.get(msp_id, username)  # type: ignore[return-value]


def ensure_service_identity(settings: Any, enroller: Enroller, org: str, username: str, role: Role) -> str:
    """On the real network, enrol one of the gateway's own service identities (the QR scanner, the owner
    desk) with the org's fabric-ca once; embedded mode issues it on first use. No gateway login is made.

    Returns what happened; a CA that cannot enrol it is logged, not fatal: the gateway serves everything
    else and the calls needing the identity fail naming it.
    """
    if settings.backend != "fabric":
        return "not needed (embedded)"
    has_identity = getattr(enroller, "has_identity", None)
    if has_identity is None:
        return "skipped: the enroller cannot tell whether the identity exists"
    if has_identity(org, username):
        return "present"
    try:
        try:
            enroller.enroll(org, username, role, secrets.token_urlsafe(18))
        except EnrolmentError as exc:
            reset = getattr(enroller, "reset_and_enroll", None)
            if "already registered" not in str(exc) or reset is None:
                raise
            # the CA knows it but this gateway's wallet lost it (a new gateway host, a wiped wallet)
            reset(org, username, role, secrets.token_urlsafe(18))
    except EnrolmentError as exc:
        log.warning(
            "service identity %s@%s not enrolled (%s); what needs it will fail until it is "
            "(mledger users add %s --org %s --role %s)",
            username, org, exc, username, org, role.value,
        )  # fmt: skip
        return f"failed: {exc}"
    log.info("service identity %s@%s enrolled (role %s)", username, org, role.value)
    return "enrolled"
