"""Owners as users: an owner's enrolment (fabric-ca certificate bound to the vehicles' owner hashes) and
the consents the owner signs with that certificate's key over the exact terms."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from .fields import Identifier, Record, Request, Vin


class ConsentKind(StrEnum):
    """What an owner consents to; each kind names the terms it must state."""

    LIEN_REQUEST = "lien_request"
    AMOUNT_INCREASE = "amount_increase"
    TRANSFER = "transfer"
    PAYOFF_QUOTE_RELEASE = "payoff_quote_release"
    CERTIFICATE_RELEASE = "certificate_release"


class ConsentStatus(StrEnum):
    REQUESTED = "REQUESTED"
    SIGNED = "SIGNED"
    USED = "USED"
    EXPIRED = "EXPIRED"  # shown on read once expires_at has passed; never stored


class ConsentMethod(StrEnum):
    """How a lien, amendment, transfer or quote request carries the owner's consent."""

    OWNER_SIGNATURE = "owner_signature"
    UPLOADED_SCAN = "uploaded_scan"  # documented fallback: a bank-anchored scan of a paper consent


Pem = Annotated[str, StringConstraints(min_length=64, max_length=8192)]
TermValue = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\- ]+$")]
TermKey = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


class OwnerEnrolmentIn(Request):
    """The vehicle office binds an owner's fabric-ca enrolment certificate to the vehicles they own."""

    certificate_pem: Pem
    vins: list[Vin] = Field(min_length=1, max_length=50)


class OwnerAccount(Record):
    """Public state: a pseudonymous enrolment id, its certificate and the owner hashes it speaks for."""

    account_id: str
    certificate_pem: str
    certificate_sha256: str
    issuer: str
    owner_hashes: list[str]
    vins: list[str]
    enrolled_by: str
    enrolled_at: str
    updated_at: str


class OwnerConsentIn(Request):
    """A grantee asks the vehicle's owner for a consent to these exact terms."""

    consent_id: Identifier
    vin: Vin
    kind: ConsentKind
    terms: dict[TermKey, TermValue] = Field(default_factory=dict, max_length=12)
    valid_days: int = Field(default=14, ge=1, le=90)


class OwnerSignatureIn(Request):
    """The owner's signature over the canonical terms (base64 DER or raw r‖s as WebCrypto gives it);
    ``signed_terms`` (the document the owner saw) lets a refusal name the field that differs."""

    signature: Annotated[str, StringConstraints(min_length=40, max_length=200)]
    signed_terms: str | None = Field(default=None, max_length=4000)
    signer_certificate_pem: Pem | None = None


class OwnerConsent(Record):
    consent_id: str
    vin: str
    kind: ConsentKind
    grantee: str
    terms: dict[str, str]
    nonce: str
    owner_account: str
    owner_hash: str
    status: ConsentStatus
    consent_method: ConsentMethod = ConsentMethod.OWNER_SIGNATURE
    requested_by: str
    requested_at: str
    expires_at: str
    signature: str | None = None
    signed_at: str | None = None
    signed_tx_id: str | None = None
    used_by: str | None = None
    used_at: str | None = None


__all__ = [
    "ConsentKind",
    "ConsentMethod",
    "ConsentStatus",
    "OwnerAccount",
    "OwnerConsent",
    "OwnerConsentIn",
    "OwnerEnrolmentIn",
    "OwnerSignatureIn",
]
