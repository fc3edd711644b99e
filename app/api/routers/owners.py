"""Owners as users: the vehicle office enrols an owner; grantees ask for consents; the owner's signature
(made on the owner's own device) is carried to the ledger, which verifies it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.api.deps import CurrentUser, State
from app.api.models import TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from app.services.owners import consent_summary
from chaincode.mortgage.models.owners import OwnerConsentIn, OwnerEnrolmentIn, OwnerSignatureIn

router = APIRouter(tags=["owners"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.post("/owners", response_model=TxResponse, summary="Enrol an owner (vehicle office)")
async def enrol_owner(body: OwnerEnrolmentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    """Bind the owner's fabric-ca certificate (role owner, pseudonymous id) to the vehicles they hold."""
    return await w.submit("EnrolOwner", [body.chaincode_json()])


@router.get("/owners/{account_id}", summary="An owner account (certificate, vehicles)")
async def get_owner_account(state: State, user: CurrentUser, account_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetOwnerAccount", account_id)


@router.get("/owners/{account_id}/consents", summary="The consents asked of an owner")
async def get_owner_consents(state: State, user: CurrentUser, account_id: IdPath) -> Any:
    consents = await evaluate(state, user.caller, "GetOwnerConsents", account_id)
    return [consent_summary(c) for c in consents]


@router.post("/owner-consents", response_model=TxResponse, summary="Ask the owner for a consent")
async def request_owner_consent(body: OwnerConsentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RequestOwnerConsent", [body.chaincode_json()])


@router.get("/owner-consents/{consent_id}", summary="An owner consent and the document the owner signs")
async def get_owner_consent(state: State, user: CurrentUser, consent_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetOwnerConsent", consent_id)


@router.post(
    "/owner-consents/{consent_id}/signature",
    response_model=TxResponse,
    summary="Carry the owner's signature to the ledger (verified there)",
)
async def sign_owner_consent(consent_id: IdPath, body: OwnerSignatureIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SignOwnerConsent", [consent_id, body.chaincode_json()])
