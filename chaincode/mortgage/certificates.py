"""Search certificates: the facts a buyer relies on, and the record of each certificate issued.

A search certificate (as a PPSR search certificate or the mortgage page of a registration certificate)
states, for one VIN as of one block, the vehicle's status, every recorded lien with its holder and
priority, holds, brands, the odometer anomaly flag, the insurance state and the latest valuation band.
:meth:`get_search_facts` gives those facts (never an amount, never personal data); the issuing gateway
signs them off chain, and :meth:`record_search_certificate` puts the certificate's number, hash, VIN,
as-of block and issuer on the ledger so a later dispute can prove what was certified when.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chaincode import consortium
from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import access, rules
from .args import arg_id, arg_vin
from .context import MortgageContext
from .models import InsurancePolicy, Lien, OdometerState, PolicyStatus, Vehicle, VehicleStatus
from .models.fields import Identifier, MspId, Record, Request, Sha256Hex, Vin
from .models.owners import ConsentKind
from .owners import OwnerTransactions

#: world-state object type of a certificate record (key: certificate number)
SEARCH_CERTIFICATE = "SEARCHCERT"
_POLICY = "POLICY"
_IDX_POLVIN = "IDX_POLVIN"
_ODO = "ODO"


OWNER_ROLE = "owner"


def org_name(msp_id: str) -> str:
    """The display name of a consortium org (BankA for BankAMSP); the MSP id for an unknown one."""
    try:
        return consortium.org(msp_id).name
    except KeyError:
        return msp_id


def lienholders(vehicle: Vehicle) -> list[dict[str, Any]]:
    """The vehicle's liens in priority order with each holder's MSP id and display name (public)."""
    return [
        {
            "lien_id": ref.lien_id,
            "lienholder": ref.lienholder,
            "name": org_name(ref.lienholder),
            "priority": ref.priority,
        }
        for ref in sorted(vehicle.liens, key=lambda r: r.priority)
    ]


def vehicle_policies(ctx: MortgageContext, vin: str) -> list[InsurancePolicy]:
    """Every insurance policy recorded for the vehicle (one range read of its index)."""
    return [
        p
        for p in (
            ctx.store.get(InsurancePolicy, _POLICY, pid) for pid in ctx.store.index_ids(_IDX_POLVIN, vin)
        )
        if p is not None
    ]


def insurance_state(
    ctx: MortgageContext, vin: str, policies: list[InsurancePolicy] | None = None
) -> dict[str, Any]:
    """``insured`` (an active policy covers today), ``lapsed`` (the latest policy lapsed), ``expired``
    (policies exist, none covers today) or ``none``; with the covering policy's end date. ``policies``:
    the vehicle's policies when the caller has read them already."""
    if policies is None:
        policies = vehicle_policies(ctx, vin)
    valid = [
        p for p in policies if p.status is PolicyStatus.ACTIVE and p.valid_from <= ctx.today <= p.valid_to
    ]
    if valid:
        return {"state": "insured", "valid_to": max(p.valid_to for p in valid).isoformat()}
    if not policies:
        return {"state": "none", "valid_to": None}
    latest = max(policies, key=lambda p: p.valid_to)
    state = "lapsed" if latest.status is PolicyStatus.LAPSED else "expired"
    return {"state": state, "valid_to": latest.valid_to.isoformat()}


def odometer_facts(ctx: MortgageContext, vin: str) -> dict[str, Any]:
    odo = ctx.store.get(OdometerState, _ODO, vin)
    return {
        "odometer_km": odo.odometer_km if odo else None,
        "odometer_anomaly": bool(odo and odo.anomalies),
        "odometer_anomalies": odo.anomalies if odo else 0,
    }


class SearchCertificateIn(Request):
    """What the issuing gateway records: the number, the SHA-256 of the signed certificate body, the VIN
    and the block height it is as of, and the org whose key signed it (the requester is the caller)."""

    certificate_number: Identifier
    vin: Vin
    sha256: Sha256Hex
    as_of_block: int = Field(ge=0)
    issuer: MspId
    #: a buyer's path: the owner's signed ``certificate_release`` consent to the caller's org (spent here)
    owner_consent_id: Identifier | None = None


class SearchCertificateRecord(Record):
    certificate_number: str
    vin: str
    sha256: str
    as_of_block: int
    issuer: str
    issuer_name: str
    requested_by: str
    owner_consent_id: str | None = None
    recorded_at: str
    tx_id: str


class CertificateTransactions(OwnerTransactions):
    """The facts behind a search certificate and the on-chain record of each certificate issued."""

    @evaluate
    def get_search_facts(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        """What a search certificate states (public facts plus each lien's registration and maturity
        dates, never amounts or personal data), read as of the transaction timestamp."""
        vin = arg_vin(vin)
        vehicle = self._vehicle(ctx, vin)
        self._certificate_owner_self(ctx, vin)
        liens = []
        for ref in sorted(vehicle.liens, key=lambda r: r.priority):
            lien = ctx.store.get(Lien, "LIEN", ref.lien_id)
            liens.append(
                {
                    "lien_id": ref.lien_id,
                    "priority": ref.priority,
                    "lienholder": ref.lienholder,
                    "lienholder_name": org_name(ref.lienholder),
                    "status": lien.status.value if lien else None,
                    "registered_at": lien.recorded_at if lien else None,
                    "maturity_date": lien.maturity_date.isoformat() if lien else None,
                }
            )
        latest = self._latest_valuation(ctx, vin)
        band = None
        if latest is not None:
            low, high = rules.valuation_band(latest.value)
            band = {
                "low": str(low),
                "high": str(high),
                "currency": latest.currency,
                "valued_at": latest.recorded_at,
                "stale": rules.is_stale(latest, self._config(ctx), ctx.now),
            }
        return {
            "vin": vehicle.vin,
            "plate": vehicle.plate,
            "make": vehicle.make,
            "model": vehicle.model,
            "year": vehicle.year,
            "status": vehicle.status.value,
            "seized": vehicle.status is VehicleStatus.SEIZED,
            "liens": liens,
            "holds": [
                {"kind": h.kind.value, "authority": h.authority, "since": h.at, "document_id": h.document_id}
                for h in vehicle.holds
            ],
            "brands": [
                {
                    "kind": b.kind.value,
                    "since": b.at,
                    "insurer": b.insurer,
                    "insurer_name": org_name(b.insurer),
                }
                for b in vehicle.brands
            ],
            **odometer_facts(ctx, vin),
            "insurance": insurance_state(ctx, vin),
            "valuation_band": band,
            "as_of": ctx.at,
        }

    @submit
    def record_search_certificate(
        self, ctx: MortgageContext, certificate: SearchCertificateIn
    ) -> SearchCertificateRecord:
        """Record an issued certificate's hash; a number is recorded once (a dispute reads this record)."""
        self._vehicle(ctx, certificate.vin)
        self._certificate_owner_self(ctx, certificate.vin)
        if ctx.store.exists(SEARCH_CERTIFICATE, certificate.certificate_number):
            raise ConflictError(f"certificate {certificate.certificate_number} is already recorded")
        if certificate.issuer not in access.CONSORTIUM:
            raise BadRequestError(
                f"invalid argument 'certificate': field 'issuer': {certificate.issuer} "
                "is not a consortium org"
            )
        if certificate.owner_consent_id is not None:
            self._spend_certificate_consent(ctx, certificate)
        record = SearchCertificateRecord(
            **certificate.model_dump(),
            issuer_name=org_name(certificate.issuer),
            requested_by=ctx.msp_id,
            recorded_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, SEARCH_CERTIFICATE, certificate.certificate_number)
        ctx.emit(
            "SearchCertificateRecorded",
            certificate_number=record.certificate_number,
            vin=record.vin,
            sha256=record.sha256,
            as_of_block=record.as_of_block,
            issuer=record.issuer,
        )
        return record

    # --- owners and buyers (issue 16.1's owner accounts and consents) -------------------------
    def _certificate_owner_self(self, ctx: MortgageContext, vin: str) -> None:
        """Object rule ``certificate_owner``: an owner identity asks only about a vehicle it holds now."""
        if ctx.role != OWNER_ROLE:
            return
        if vin not in self._owner_vins(ctx):
            raise access.object_rule_denied("certificate_owner", f"the caller does not hold vehicle {vin}")

    def _spend_certificate_consent(self, ctx: MortgageContext, certificate: SearchCertificateIn) -> None:
        """A buyer's path: the owner's signed ``certificate_release`` consent to the caller's org, for
        this VIN, unexpired and unused; spent by this certificate (the owners' module checks it)."""
        self._use_owner_consent(
            ctx,
            str(certificate.owner_consent_id),
            "owner_consent_id",
            ConsentKind.CERTIFICATE_RELEASE,
            certificate.vin,
            {},
            f"search certificate {certificate.certificate_number}",
        )

    @evaluate
    def get_search_certificate(
        self, ctx: MortgageContext, certificate_number: str
    ) -> SearchCertificateRecord:
        number = arg_id(certificate_number, "certificate_number")
        record = ctx.store.get(SearchCertificateRecord, SEARCH_CERTIFICATE, number)
        if record is None:
            raise NotFoundError(f"certificate {number} is not recorded on the ledger")
        return record


__all__ = ["CertificateTransactions", "insurance_state", "lienholders", "odometer_facts", "org_name"]
