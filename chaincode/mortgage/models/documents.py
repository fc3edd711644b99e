"""Document anchors: type, content id, hash, readers, and what they are linked to."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ..text import clean_line
from .fields import (
    Cid,
    Identifier,
    MspId,
    Record,
    Request,
    Sha256Hex,
    Vin,
)


class DocType(StrEnum):
    OWNER_CONSENT = "owner_consent"
    MORTGAGE_CONTRACT = "mortgage_contract"
    COURT_ORDER = "court_order"
    SEIZURE_ORDER = "seizure_order"
    RELEASE_ORDER = "release_order"
    FORECLOSURE_NOTICE = "foreclosure_notice"
    SALE_CONTRACT = "sale_contract"
    TRANSFER_DEED = "transfer_deed"
    LIENHOLDER_CONSENT = "lienholder_consent"
    INSURANCE_POLICY = "insurance_policy"
    VALUATION_REPORT = "valuation_report"
    MAINTENANCE_INVOICE = "maintenance_invoice"
    SCRAP_CERTIFICATE = "scrap_certificate"
    SALE_ORDER = "sale_order"
    SALE_COSTS = "sale_costs"
    APPRAISAL = "appraisal"
    MODEL_CARD = "model_card"
    POLICE_REPORT = "police_report"
    CUSTOMS_NOTICE = "customs_notice"
    SCRAP_NOTICE = "scrap_notice"
    LOSS_REPORT = "loss_report"
    CORRECTION_EVIDENCE = "correction_evidence"
    REGISTRATION_CHANGE = "registration_change"
    PAYOFF_RECEIPT = "payoff_receipt"
    OTHER = "other"


class DocumentIn(Request):
    document_id: Identifier
    doc_type: DocType
    cid: Cid
    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0, le=10**12)]
    encryption_key_ref: Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_line)]
    vin: Vin | None = None
    lien_id: Identifier | None = None
    #: The orgs whose keys wrap the document's data key (who may read it); None: a legacy anchor.
    parties: Annotated[list[MspId], Field(min_length=1, max_length=16)] | None = None

    @model_validator(mode="after")
    def _unique_parties(self) -> DocumentIn:
        if self.parties is not None:
            if len(set(self.parties)) != len(self.parties):
                raise ValueError("parties: each org at most once")
            self.parties = sorted(self.parties)
        return self


class DocumentQuery(Request):
    vin: Vin | None = None
    lien_id: Identifier | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DocumentQuery:
        if (self.vin is None) == (self.lien_id is None):
            raise ValueError("give exactly one of vin, lien_id")
        return self


class Document(Record):
    document_id: str
    doc_type: DocType
    cid: str
    sha256: str
    size: int
    encryption_key_ref: str
    vin: str | None
    lien_id: str | None
    anchored_by: str
    anchored_at: str
    tx_id: str
    parties: list[str] | None = None


__all__ = ["DocType", "Document", "DocumentIn", "DocumentQuery"]
