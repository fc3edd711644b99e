"""The owner's own pages and sign-in: what a signed-in owner may see and do, and nothing of anyone else.

Sign-in is by challenge (:mod:`app.users.owner_signin`): the owner's device signs, the gateway checks the
signature against the certificate the vehicle office registered on chain (``GetOwnerAccount``). Every
ledger read for an owner session runs as the vehicle office's service identity (``owner-desk``, role
registrar) — never as the owner, whose key stays on their device — so this module is what limits an
owner to their own account: vehicles whose current owner hash is bound to the account, the consents asked
of it, the notifications of its owner hashes. Another owner's vehicle or consent is answered "not found".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from app.ledger.port import Caller, ChaincodeRefused
from app.notifications.models import Notification, Party
from app.notifications.runtime import Notifier
from app.services.errors import NotFound, NotPermitted, Unavailable, field_error
from app.services.reads import Reader
from app.users.enrolment import Enroller
from app.users.owner_signin import (
    Challenge,
    OwnerChallenges,
    OwnerSignInError,
    check_account_id,
    verify_answer,
)
from app.users.provision import ensure_service_identity
from app.users.roles import Role
from app.users.store import UserStore
from app.users.tokens import TokenError, issue_token, verify_token
from chaincode import consortium

log = logging.getLogger(__name__)

OWNER_ROLE = "owner"
SUBJECT_PREFIX = "owner/"
WAITING = ("REQUESTED",)
GIVEN = ("SIGNED", "USED")


@dataclass(frozen=True, slots=True)
class OwnerSession:
    """A signed-in owner: the account and the certificate (SHA-256) the sign-in was verified with."""

    account_id: str
    certificate_sha256: str
    token_id: str
    expires_at: int


def desk_caller(orgs: list[str]) -> Caller:
    """The vehicle office's service identity the owner's pages read and carry signatures as."""
    office = consortium.VEHICLE_OFFICE.msp_id
    if office not in orgs:
        raise Unavailable(f"owner sign-in and pages are served by the vehicle office's gateway ({office})")
    return Caller(
        user_id=consortium.OWNER_DESK_USER, msp_id=office, attributes={"role": consortium.OWNER_DESK_ROLE}
    )


async def _account(read: Reader, caller: Caller, account_id: str) -> dict[str, Any]:
    check_account_id(account_id)
    try:
        account: dict[str, Any] = await read(caller, "GetOwnerAccount", account_id)
    except ChaincodeRefused as exc:
        if exc.status == 404:
            raise OwnerSignInError("account_id", f"no enrolled owner account {account_id}", 404) from exc
        raise
    return account


def ensure_owner_desk_identity(settings: Any, enroller: Enroller) -> str:
    """On the real network, enrol ``owner-desk`` in the vehicle office's wallet once (see
    :func:`app.users.provision.ensure_service_identity`); nothing on a gateway not serving the office."""
    office = consortium.VEHICLE_OFFICE.msp_id
    if office not in settings.orgs:
        return "not served here"
    role = Role(consortium.OWNER_DESK_ROLE)
    return ensure_service_identity(settings, enroller, office, consortium.OWNER_DESK_USER, role)


# --- sign-in ---------------------------------------------------------------------------------------


async def start_sign_in(
    challenges: OwnerChallenges, read: Reader, caller: Caller, account_id: str
) -> Challenge:
    """A one-time challenge for an enrolled account (OwnerSignInError naming ``account_id`` otherwise)."""
    await _account(read, caller, account_id)
    return await asyncio.to_thread(challenges.issue, account_id)


async def finish_sign_in(
    challenges: OwnerChallenges,
    read: Reader,
    caller: Caller,
    *,
    challenge_id: str,
    account_id: str,
    signature: str,
) -> dict[str, Any]:
    """The account, once the signature over the (unspent, unexpired) challenge verifies against its
    registered certificate; OwnerSignInError naming the field otherwise. The challenge is spent either way."""
    try:
        challenge = await asyncio.to_thread(challenges.spend, challenge_id, account_id)
        account = await _account(read, caller, account_id)
        verify_answer(challenge, signature, str(account["certificate_pem"]))
    except OwnerSignInError as exc:
        log.info("owner sign-in refused for %s: field %s", account_id[:64], exc.field)
        raise
    log.info("owner signed in: %s", account_id)
    return account


def issue_session(secret: bytes, ttl_seconds: int, account: dict[str, Any]) -> str:
    """The owner's bearer token: role owner, bound to the account and its certificate."""
    return issue_token(
        secret,
        SUBJECT_PREFIX + str(account["account_id"]),
        OWNER_ROLE,
        ttl_seconds,
        binding=str(account["certificate_sha256"]),
    )


def is_owner_token(secret: bytes, token: str) -> bool:
    try:
        claims = verify_token(secret, token)
    except TokenError:
        return False
    return claims.role == OWNER_ROLE and claims.subject.startswith(SUBJECT_PREFIX)


def session_of(secret: bytes, users: UserStore, token: str) -> OwnerSession:
    """The owner session a token stands for; NotPermitted when it is forged, expired, revoked or not an
    owner's."""
    try:
        claims = verify_token(secret, token)
    except TokenError as exc:
        raise NotPermitted(f"owner session: {exc}; sign in again") from exc
    if claims.role != OWNER_ROLE or not claims.subject.startswith(SUBJECT_PREFIX) or not claims.binding:
        raise NotPermitted("owner session: this is not an owner's sign-in")
    if users.token_revoked(claims.token_id):
        raise NotPermitted("owner session: signed out; sign in again")
    return OwnerSession(
        claims.subject.removeprefix(SUBJECT_PREFIX), claims.binding, claims.token_id, claims.expires_at
    )


# --- the owner's own data --------------------------------------------------------------------------


async def current_account(read: Reader, caller: Caller, session: OwnerSession) -> dict[str, Any]:
    """The session's account as the chain has it now; a re-enrolment with another certificate ends the
    sessions signed in with the old one."""
    try:
        account = await _account(read, caller, session.account_id)
    except OwnerSignInError as exc:
        raise NotPermitted(f"owner session: {exc}") from exc
    if account.get("certificate_sha256") != session.certificate_sha256:
        raise NotPermitted(
            "owner session: the account was re-enrolled with another certificate; sign in again"
        )
    return account


async def _held(read: Reader, caller: Caller, account: dict[str, Any]) -> list[dict[str, Any]]:
    hashes = set(account.get("owner_hashes") or [])
    held = []
    for vin in account.get("vins") or []:
        vehicle = await read(caller, "GetVehicle", str(vin))
        if isinstance(vehicle, dict) and vehicle.get("owner_hash") in hashes:
            held.append(vehicle)
    return held


def _org_name(msp_id: str) -> str:
    try:
        return consortium.org(msp_id).name
    except KeyError:
        return msp_id


async def _liens(read: Reader, caller: Caller, vehicle: dict[str, Any]) -> list[dict[str, Any]]:
    shown = []
    for ref in sorted(vehicle.get("liens") or [], key=lambda r: int(r.get("priority") or 0)):
        lien = await read(caller, "GetLien", str(ref["lien_id"]))
        shown.append(
            {
                "lien_id": ref["lien_id"],
                "lienholder": ref["lienholder"],
                "lienholder_name": _org_name(str(ref["lienholder"])),
                "priority": ref.get("priority"),
                "status": lien.get("status"),
                "secured_amount": lien.get("secured_amount"),
                "currency": lien.get("currency"),
                "maturity_date": lien.get("maturity_date"),
                "recorded_at": lien.get("recorded_at"),
            }
        )
    return shown


def _vehicle_view(vehicle: dict[str, Any], liens: list[dict[str, Any]]) -> dict[str, Any]:
    keep = ("vin", "plate", "make", "model", "trim", "year", "status", "registration_date")
    return {**{k: vehicle.get(k) for k in keep}, "liens": liens}


async def my_vehicles(read: Reader, caller: Caller, account: dict[str, Any]) -> list[dict[str, Any]]:
    """The vehicles the account holds now (a vehicle transferred away is gone), each with its liens."""
    return [_vehicle_view(v, await _liens(read, caller, v)) for v in await _held(read, caller, account)]


async def my_vehicle(read: Reader, caller: Caller, account: dict[str, Any], vin: str) -> dict[str, Any]:
    """One of the account's vehicles with its liens and the owner's own personal data; any other vehicle
    is NotFound (whose it is is not disclosed)."""
    for vehicle in await _held(read, caller, account):
        if vehicle.get("vin") == vin:
            view = _vehicle_view(vehicle, await _liens(read, caller, vehicle))
            owner = await read(caller, "GetOwner", vin)
            view["owner"] = {k: owner.get(k) for k in ("name", "id_number", "phone", "address", "since")}
            return view
    raise field_error(NotFound, "vin", f"vehicle {vin} is not one of your vehicles")


def _consent_view(consent: dict[str, Any]) -> dict[str, Any]:
    keep = ("consent_id", "vin", "kind", "terms", "grantee", "status", "expires_at", "requested_at")
    view = {k: consent.get(k) for k in keep}
    view.update(
        grantee_name=_org_name(str(consent.get("grantee") or "")),
        signed_at=consent.get("signed_at"),
        used_by=consent.get("used_by"),
        signed_document=consent.get("signed_document"),
    )
    return view


async def my_consents(
    read: Reader, caller: Caller, account: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """The consents asked of the account: waiting (REQUESTED, unexpired, for a vehicle the account still
    holds: the ledger would refuse a signature for one transferred away), given (SIGNED/USED), other."""
    consents = await read(caller, "GetOwnerConsents", str(account["account_id"]))
    held = {v.get("vin") for v in await _held(read, caller, account)}
    grouped: dict[str, list[dict[str, Any]]] = {"waiting": [], "given": [], "other": []}
    for consent in consents or []:
        status = consent.get("status")
        waiting = status in WAITING and consent.get("vin") in held
        group = "waiting" if waiting else "given" if status in GIVEN else "other"
        grouped[group].append(_consent_view(consent))
    return grouped


async def my_consent(
    read: Reader, caller: Caller, account: dict[str, Any], consent_id: str
) -> dict[str, Any]:
    """One consent asked of this account; another owner's (or an unknown one) is NotFound."""
    try:
        consent = await read(caller, "GetOwnerConsent", consent_id)
    except ChaincodeRefused as exc:
        if exc.status == 404:
            consent = None
        else:
            raise
    if not isinstance(consent, dict) or consent.get("owner_account") != account.get("account_id"):
        raise field_error(NotFound, "consent_id", f"consent {consent_id} is not one asked of you")
    return _consent_view(consent)


async def my_notifications(
    notifier: Notifier | None, account: dict[str, Any], limit: int = 50
) -> list[Notification]:
    """The owner's inbox, keyed by the account: the notifications of every owner hash it is bound to
    (liens recorded/released on its vehicles, consents asked of it), newest first."""
    if notifier is None:
        return []
    notes: list[Notification] = []
    for owner_hash in account.get("owner_hashes") or []:
        party = Party.owner(str(owner_hash))
        notes += await asyncio.to_thread(notifier.store.notifications, party, limit=limit)
    notes.sort(key=lambda n: (n.position.block_number, n.position.tx_id, n.topic), reverse=True)
    return notes[:limit]
