"""The owner's own API: sign-in by challenge (no password, the key stays on the owner's device), then
my vehicles, their liens, the consents asked of me, my notifications, and carrying my signature."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from app.api.deps import State
from app.api.models import Strict
from app.api.owner_auth import CurrentOwner, challenges, desk_user, sign_in_error
from app.api.reads import reader
from app.api.routers.notifications import notification_json
from app.api.writes import WriteContext
from app.services import owner_portal
from app.users.owner_signin import OwnerSignInError
from chaincode.mortgage.models.owners import OwnerSignatureIn

router = APIRouter(tags=["owner portal"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Signature = Annotated[str, Field(min_length=1, max_length=512, description="base64 DER or raw r||s")]


class ChallengeIn(Strict):
    account_id: Annotated[str, Field(min_length=1, max_length=64)]


class ChallengeAnswer(Strict):
    challenge_id: Annotated[str, Field(min_length=1, max_length=64)]
    account_id: Annotated[str, Field(min_length=1, max_length=64)]
    signature: Signature


@router.post("/owner-auth/challenge", summary="A one-time sign-in challenge for an owner account")
async def owner_challenge(state: State, body: ChallengeIn) -> dict[str, Any]:
    """Sign ``document`` (its UTF-8 bytes) with the key of your enrolment, then POST the response."""
    try:
        caller = owner_portal.desk_caller(state.settings.orgs)
        found = await owner_portal.start_sign_in(challenges(state), reader(state), caller, body.account_id)
    except OwnerSignInError as exc:
        raise sign_in_error(exc) from exc
    return {
        "challenge_id": found.challenge_id,
        "account_id": found.account_id,
        "document": found.document,
        "expires_at": found.expires_at,
    }


@router.post("/owner-auth/response", summary="Answer a challenge: a bearer token with role owner")
async def owner_response(state: State, body: ChallengeAnswer) -> dict[str, Any]:
    try:
        account = await owner_portal.finish_sign_in(
            challenges(state),
            reader(state),
            owner_portal.desk_caller(state.settings.orgs),
            challenge_id=body.challenge_id,
            account_id=body.account_id,
            signature=body.signature,
        )
    except OwnerSignInError as exc:
        raise sign_in_error(exc) from exc
    ttl = state.settings.token_ttl_seconds
    token = owner_portal.issue_session(state.settings.signing_secret, ttl, account)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl,
        "role": owner_portal.OWNER_ROLE,
        "account_id": account["account_id"],
    }


@router.post("/owner/sign-out", status_code=204, summary="Revoke this owner session's token")
async def owner_sign_out(state: State, owner: CurrentOwner) -> None:
    state.users.revoke_token(owner.session.token_id, owner.session.expires_at)


@router.get("/owner/me", summary="My owner account")
async def owner_me(owner: CurrentOwner) -> dict[str, Any]:
    return {"account_id": owner.account["account_id"], "certificate_sha256": owner.session.certificate_sha256}


@router.get("/owner/vehicles", summary="My vehicles and the liens on them")
async def owner_vehicles(owner: CurrentOwner) -> list[dict[str, Any]]:
    return await owner_portal.my_vehicles(owner.read, owner.caller, owner.account)


@router.get("/owner/vehicles/{vin}", summary="One of my vehicles, its liens and my personal data")
async def owner_vehicle(owner: CurrentOwner, vin: IdPath) -> dict[str, Any]:
    return await owner_portal.my_vehicle(owner.read, owner.caller, owner.account, vin)


@router.get("/owner/consents", summary="The consents asked of me: waiting, given, other")
async def owner_consents(owner: CurrentOwner) -> dict[str, Any]:
    return await owner_portal.my_consents(owner.read, owner.caller, owner.account)


@router.get("/owner/consents/{consent_id}", summary="One consent asked of me, with the document to sign")
async def owner_consent(owner: CurrentOwner, consent_id: IdPath) -> dict[str, Any]:
    return await owner_portal.my_consent(owner.read, owner.caller, owner.account, consent_id)


@router.post("/owner/consents/{consent_id}/signature", summary="Carry my signature (verified by the ledger)")
async def owner_sign(state: State, owner: CurrentOwner, consent_id: IdPath, body: OwnerSignatureIn):  # type: ignore[no-untyped-def]
    await owner_portal.my_consent(owner.read, owner.caller, owner.account, consent_id)  # mine, or 404
    ctx = WriteContext(state, desk_user(state), None, f"owner:{owner.session.account_id}")
    return await ctx.submit("SignOwnerConsent", [consent_id, body.chaincode_json()])


@router.get("/owner/notifications", summary="My notifications (newest first)")
async def owner_notifications(state: State, owner: CurrentOwner) -> dict[str, Any]:
    notes = await owner_portal.my_notifications(state.notifier, owner.account)
    return {"account_id": owner.account["account_id"], "notifications": [notification_json(n) for n in notes]}
