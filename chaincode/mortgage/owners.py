"""Owners as users: enrolment by the vehicle office, consents the owner signs with their own key.

The vehicle office binds an owner's fabric-ca enrolment certificate (role ``owner``, a pseudonymous
enrolment id, issued by the office's CA) to the owner hashes of the vehicles they hold; no personal data
goes to public state. A grantee (a bank, a dealer, the office) asks for a consent to exact terms; the owner
signs the canonical terms (:func:`consent_message`) with the key of that certificate on their own device
and anyone may carry the signature to the ledger: the signature, not the submitter, is the authority. The
contract verifies it against the registered certificate, and a lien request, an amount increase, a title
transfer, a payoff-quote request or a search certificate then spends the consent once. A bank-anchored
scan of a paper consent remains a documented fallback (``consent_method: uploaded_scan``).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from chaincode.runtime.identity import ClientIdentity, go_dn_string

from . import access, rules
from . import store as s
from .args import arg_id
from .context import MortgageContext
from .models import Vehicle
from .models.owners import (
    ConsentKind,
    ConsentStatus,
    OwnerAccount,
    OwnerConsent,
    OwnerConsentIn,
    OwnerEnrolmentIn,
    OwnerSignatureIn,
)
from .support import MortgageSupport

OWNERACCT = "OWNERACCT"  # (account id)
OWNERBIND = "OWNERBIND"  # (owner hash) -> account id
OWNERCONSENT = "OWNERCONSENT"  # (consent id)
IDX_CONSENTACCT = "IDX_CONSENTACCT"  # (account id, consent id)

OWNER_ROLE = "owner"
PURPOSE = "mledger-owner-consent/v1"
#: an owner's enrolment id is pseudonymous: the certificate goes to public state
ACCOUNT_ID = re.compile(r"^owner-[A-Za-z0-9]{6,40}$")

#: the terms each kind must state (more are allowed and signed as well)
REQUIRED_TERMS: dict[ConsentKind, tuple[str, ...]] = {
    ConsentKind.LIEN_REQUEST: ("lien_id", "secured_amount", "currency", "maturity_date"),
    ConsentKind.AMOUNT_INCREASE: ("lien_id", "secured_amount", "currency"),
    ConsentKind.TRANSFER: ("new_owner_hash",),
    ConsentKind.PAYOFF_QUOTE_RELEASE: ("lien_id",),
    ConsentKind.CERTIFICATE_RELEASE: (),
}
_AMOUNTS = ("secured_amount",)
#: who may ask for a consent of each kind (the caller's MSP becomes the grantee)
GRANTEES: dict[ConsentKind, frozenset[str]] = {
    ConsentKind.LIEN_REQUEST: access.BANKS,
    ConsentKind.AMOUNT_INCREASE: access.BANKS,
    ConsentKind.TRANSFER: frozenset({access.TRAFFIC}),
    ConsentKind.PAYOFF_QUOTE_RELEASE: access.BANKS | {access.DEALER},
    ConsentKind.CERTIFICATE_RELEASE: access.BANKS | {access.DEALER, access.TRAFFIC},
}


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes both the owner's device and the contract sign/verify."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def consent_document(consent: OwnerConsent) -> dict[str, Any]:
    """What the owner signs: every term, the counterparty, the expiry and a nonce (the request's tx id)."""
    return {
        "purpose": PURPOSE,
        "consent_id": consent.consent_id,
        "vin": consent.vin,
        "kind": consent.kind.value,
        "grantee": consent.grantee,
        "terms": dict(consent.terms),
        "expires_at": consent.expires_at,
        "nonce": consent.nonce,
        "owner_account": consent.owner_account,
    }


def consent_message(consent: OwnerConsent) -> bytes:
    return canonical_json(consent_document(consent))


def _signature_der(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise BadRequestError("invalid argument 'signature': field 'signature': not base64") from None
    if len(raw) == 64:  # WebCrypto's IEEE P1363 r‖s
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return raw


def _load_cert(pem: str, field: str) -> x509.Certificate:
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise BadRequestError(f"invalid argument '{field}': not a PEM X.509 certificate") from None
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise BadRequestError(f"invalid argument '{field}': the key must be ECDSA P-256")
    return cert


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


class OwnerTransactions(MortgageSupport):
    """Owner enrolment and owner-signed consents."""

    # --- enrolment ----------------------------------------------------------------------
    @submit
    def enrol_owner(self, ctx: MortgageContext, enrolment: OwnerEnrolmentIn) -> OwnerAccount:
        """Bind an owner's fabric-ca certificate (role owner, issued by the office's CA) to vehicles."""
        field = "enrolment.certificate_pem"
        cert = _load_cert(enrolment.certificate_pem, field)
        role = ClientIdentity.from_certificate(
            access.TRAFFIC, cert.public_bytes(Encoding.PEM)
        ).get_attribute_value("role")
        if role != OWNER_ROLE:
            raise BadRequestError(
                f"invalid argument '{field}': the certificate's fabric-ca attribute role is "
                f"{role or 'missing'}, must be '{OWNER_ROLE}'"
            )
        office_issuer = ctx.client_identity.get_x509_certificate().issuer
        if cert.issuer != office_issuer:
            raise BadRequestError(
                f"invalid argument '{field}': issued by '{go_dn_string(cert.issuer)}', not by the vehicle "
                f"office's CA '{go_dn_string(office_issuer)}'"
            )
        if ctx.now > cert.not_valid_after_utc:
            raise BadRequestError(f"invalid argument '{field}': the certificate expired before {ctx.at}")
        account_id = _common_name(cert)
        if not ACCOUNT_ID.fullmatch(account_id):
            raise BadRequestError(
                f"invalid argument '{field}': subject CN {account_id!r} must be a pseudonymous enrolment id "
                "'owner-' + 6..40 letters or digits (no personal data in public state)"
            )
        before = ctx.store.get(OwnerAccount, OWNERACCT, account_id)
        hashes_: list[str] = list(before.owner_hashes) if before else []
        vins: list[str] = list(before.vins) if before else []
        for vin in enrolment.vins:
            vehicle = self._vehicle(ctx, vin)
            bound = ctx.store.unique_id(ctx.store.get_raw(OWNERBIND, vehicle.owner_hash))
            if bound is not None and bound != account_id:
                raise ConflictError(
                    f"enrolment refused: the owner of vehicle {vin} is already enrolled as {bound}"
                )
            if vehicle.owner_hash not in hashes_:
                hashes_.append(vehicle.owner_hash)
                ctx.store.unique_put(OWNERBIND, vehicle.owner_hash, account_id)
            if vin not in vins:
                vins.append(vin)
        account = OwnerAccount(
            account_id=account_id,
            certificate_pem=cert.public_bytes(Encoding.PEM).decode("ascii"),
            certificate_sha256=_fingerprint(cert),
            issuer=go_dn_string(cert.issuer),
            owner_hashes=hashes_,
            vins=vins,
            enrolled_by=ctx.msp_id,
            enrolled_at=before.enrolled_at if before else ctx.at,
            updated_at=ctx.at,
        )
        ctx.store.put(account, OWNERACCT, account_id)
        ctx.emit("OwnerEnrolled", account_id=account_id, vins=vins)
        return account

    @evaluate
    def get_owner_account(self, ctx: MortgageContext, account_id: str) -> OwnerAccount:
        account = self._owner_account(ctx, arg_id(account_id, "account_id"))
        self._owner_self(ctx, account)
        return account

    # --- consents -----------------------------------------------------------------------
    @submit
    def request_owner_consent(self, ctx: MortgageContext, request: OwnerConsentIn) -> OwnerConsent:
        """A grantee asks the enrolled owner of a vehicle to sign these exact terms."""
        if ctx.store.exists(OWNERCONSENT, request.consent_id):
            raise ConflictError(f"owner consent {request.consent_id} already exists")
        if ctx.msp_id not in GRANTEES[request.kind]:
            allowed = ", ".join(sorted(GRANTEES[request.kind]))
            raise BadRequestError(
                f"invalid argument 'request': field 'kind': a {request.kind.value} consent is asked for by "
                f"{allowed}, not {ctx.msp_id}"
            )
        missing = [t for t in REQUIRED_TERMS[request.kind] if t not in request.terms]
        if missing:
            raise BadRequestError(
                f"invalid argument 'request': field 'terms.{missing[0]}': required for a "
                f"{request.kind.value} consent"
            )
        terms = dict(request.terms)
        for name in _AMOUNTS:
            if name in terms:
                terms[name] = _amount(terms[name], f"terms.{name}")
        vehicle = self._vehicle(ctx, request.vin)
        account_id = self._bound_account(ctx, vehicle)
        expires = rules.format_ts(ctx.now + timedelta(days=request.valid_days))
        consent = OwnerConsent(
            consent_id=request.consent_id,
            vin=vehicle.vin,
            kind=request.kind,
            grantee=ctx.msp_id,
            terms=terms,
            nonce=ctx.tx_id,
            owner_account=account_id,
            owner_hash=vehicle.owner_hash,
            status=ConsentStatus.REQUESTED,
            requested_by=ctx.msp_id,
            requested_at=ctx.at,
            expires_at=expires,
        )
        ctx.store.put(consent, OWNERCONSENT, consent.consent_id)
        ctx.store.index_put(IDX_CONSENTACCT, account_id, consent.consent_id)
        ctx.emit(
            "OwnerConsentRequested",
            consent_id=consent.consent_id,
            vin=consent.vin,
            kind=consent.kind.value,
            grantee=consent.grantee,
            owner_account=account_id,
            expires_at=expires,
        )
        return consent

    @submit
    def sign_owner_consent(
        self, ctx: MortgageContext, consent_id: str, signed: OwnerSignatureIn
    ) -> OwnerConsent:
        """Record the owner's signature once it verifies against the owner's registered certificate."""
        consent = self._owner_consent_record(ctx, arg_id(consent_id, "consent_id"))
        if consent.status is not ConsentStatus.REQUESTED:
            raise ConflictError(
                f"owner consent {consent.consent_id} is {consent.status.value}, not REQUESTED"
            )
        self._not_expired(ctx, consent)
        vehicle = self._vehicle(ctx, consent.vin)
        if vehicle.owner_hash != consent.owner_hash:
            raise ConflictError(
                f"owner consent {consent.consent_id}: vehicle {consent.vin} changed owner since it was asked"
            )
        account = self._owner_account(ctx, consent.owner_account)
        expected = consent_document(consent)
        if signed.signed_terms is not None:
            _compare_terms(expected, signed.signed_terms)
        if signed.signer_certificate_pem is not None:
            signer = _load_cert(signed.signer_certificate_pem, "signed.signer_certificate_pem")
            if _fingerprint(signer) != account.certificate_sha256:
                raise ForbiddenError(
                    f"invalid argument 'signed': field 'signer_certificate_pem': signed by "
                    f"'{_common_name(signer)}', not by the vehicle's enrolled owner {account.account_id}"
                )
        cert = x509.load_pem_x509_certificate(account.certificate_pem.encode("ascii"))
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        try:
            key.verify(_signature_der(signed.signature), canonical_json(expected), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise ForbiddenError(
                f"invalid argument 'signed': field 'signature': does not verify against the certificate "
                f"of {account.account_id}, the enrolled owner of vehicle {consent.vin}, over the terms of "
                f"consent {consent.consent_id} (signed by another key, or over other terms)"
            ) from None
        updated = consent.model_copy(
            update={
                "status": ConsentStatus.SIGNED,
                "signature": signed.signature,
                "signed_at": ctx.at,
                "signed_tx_id": ctx.tx_id,
            }
        )
        ctx.store.put(updated, OWNERCONSENT, consent.consent_id)
        ctx.emit(
            "OwnerConsentSigned",
            consent_id=consent.consent_id,
            vin=consent.vin,
            kind=consent.kind.value,
            grantee=consent.grantee,
            owner_account=consent.owner_account,
        )
        return updated

    @evaluate
    def get_owner_consent(self, ctx: MortgageContext, consent_id: str) -> dict[str, Any]:
        """The consent with its status (EXPIRED once past ``expires_at`` unsigned or unused) and the
        canonical document the owner signs."""
        consent = self._owner_consent_record(ctx, arg_id(consent_id, "consent_id"))
        if ctx.role == OWNER_ROLE:
            self._owner_self(ctx, self._owner_account(ctx, consent.owner_account))
        return self._shown(ctx, consent)

    @evaluate
    def get_owner_consents(self, ctx: MortgageContext, account_id: str) -> list[dict[str, Any]]:
        """Every consent asked of an owner account, newest last."""
        account = self._owner_account(ctx, arg_id(account_id, "account_id"))
        self._owner_self(ctx, account)
        shown = []
        for consent_id in ctx.store.index_ids(IDX_CONSENTACCT, account.account_id):
            consent = ctx.store.get(OwnerConsent, OWNERCONSENT, consent_id)
            if consent is not None:
                shown.append(self._shown(ctx, consent))
        return shown

    # --- for the transactions that spend a consent ------------------------------------------
    def _use_owner_consent(
        self,
        ctx: MortgageContext,
        consent_id: str,
        field: str,
        kind: ConsentKind,
        vin: str,
        terms: dict[str, str],
        used_by: str,
    ) -> OwnerConsent:
        """Spend a signed consent: same vehicle, kind, grantee (the caller) and terms; refusals name the
        field. ``terms`` are what the spending transaction states (amounts normalised here)."""
        consent = self._owner_consent_record(ctx, consent_id, field)
        if consent.vin != vin:
            raise ConflictError(
                f"{field}: owner consent {consent_id} is for vehicle {consent.vin}, not {vin}"
            )
        if consent.kind is not kind:
            raise ConflictError(
                f"{field}: owner consent {consent_id} is a {consent.kind.value} consent, not {kind.value}"
            )
        if consent.grantee != ctx.msp_id:
            raise ConflictError(
                f"{field}: owner consent {consent_id} was given to {consent.grantee}, not to {ctx.msp_id}"
            )
        if consent.status is not ConsentStatus.SIGNED:
            detail = (
                "already used by " + str(consent.used_by) if consent.used_by else "not signed by the owner"
            )
            raise ConflictError(f"{field}: owner consent {consent_id} is {consent.status.value} ({detail})")
        self._not_expired(ctx, consent, field)
        vehicle = self._vehicle(ctx, vin)
        if vehicle.owner_hash != consent.owner_hash:
            raise ConflictError(
                f"{field}: owner consent {consent_id} was signed by the previous owner of vehicle {vin}"
            )
        for name, value in terms.items():
            stated = _amount(value, name) if name in _AMOUNTS else value
            agreed = consent.terms.get(name)
            if agreed != stated:
                raise ConflictError(
                    f"{field}: field '{name}': the owner consented to {agreed or 'nothing'}, the request "
                    f"states {stated} (consent {consent_id})"
                )
        used = consent.model_copy(
            update={"status": ConsentStatus.USED, "used_by": used_by, "used_at": ctx.at}
        )
        ctx.store.put(used, OWNERCONSENT, consent_id)
        return used

    # --- helpers ------------------------------------------------------------------------
    def _owner_account(self, ctx: MortgageContext, account_id: str) -> OwnerAccount:
        account = ctx.store.get(OwnerAccount, OWNERACCT, account_id)
        if account is None:
            raise NotFoundError(f"owner account {account_id} is not enrolled")
        return account

    def _bound_account(self, ctx: MortgageContext, vehicle: Vehicle) -> str:
        account_id = ctx.store.unique_id(ctx.store.get_raw(OWNERBIND, vehicle.owner_hash))
        if account_id is None:
            raise ConflictError(
                f"the owner of vehicle {vehicle.vin} is not enrolled: the vehicle office enrols them "
                "(EnrolOwner); until then a bank-anchored consent scan is the documented fallback"
            )
        return account_id

    def _owner_consent_record(
        self, ctx: MortgageContext, consent_id: str, field: str = "consent_id"
    ) -> OwnerConsent:
        consent = ctx.store.get(OwnerConsent, OWNERCONSENT, consent_id)
        if consent is None:
            raise NotFoundError(f"{field}: owner consent {consent_id} not found")
        return consent

    def _owner_self(self, ctx: MortgageContext, account: OwnerAccount) -> None:
        """Object rule ``owner_self``: an owner identity reads only its own account and consents."""
        if ctx.role != OWNER_ROLE:
            return
        caller = ctx.client_identity.get_x509_certificate()
        if _fingerprint(caller) != account.certificate_sha256:
            raise access.object_rule_denied(
                "owner_self", f"the caller {_common_name(caller)} is not owner account {account.account_id}"
            )

    def _owner_vins(self, ctx: MortgageContext) -> set[str]:
        """The vehicles an owner caller holds now (its account's hashes still on the vehicle)."""
        caller = ctx.client_identity.get_x509_certificate()
        account = ctx.store.get(OwnerAccount, OWNERACCT, _common_name(caller))
        if account is None or account.certificate_sha256 != _fingerprint(caller):
            return set()
        held = set()
        for vin in account.vins:
            vehicle = ctx.store.get(Vehicle, s.VEHICLE, vin)
            if vehicle is not None and vehicle.owner_hash in account.owner_hashes:
                held.add(vin)
        return held

    def _not_expired(self, ctx: MortgageContext, consent: OwnerConsent, field: str = "consent_id") -> None:
        if ctx.at > consent.expires_at:
            raise ConflictError(
                f"{field}: owner consent {consent.consent_id} expired at {consent.expires_at}"
            )

    def _shown(self, ctx: MortgageContext, consent: OwnerConsent) -> dict[str, Any]:
        status = consent.status
        if status in (ConsentStatus.REQUESTED, ConsentStatus.SIGNED) and ctx.at > consent.expires_at:
            status = ConsentStatus.EXPIRED
        shown: dict[str, Any] = consent.model_dump(mode="json")
        shown["status"] = status.value
        shown["signed_document"] = consent_message(consent).decode("utf-8")
        return shown


def _amount(value: str, field: str) -> str:
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadRequestError(f"invalid argument '{field}': not an amount") from None
    if not amount.is_finite() or amount <= 0:
        raise BadRequestError(f"invalid argument '{field}': must be a positive amount")
    return str(rules.money(amount))


def _compare_terms(expected: dict[str, Any], signed_terms: str) -> None:
    """Name the first field where the document the owner signed differs from the consent asked for."""
    try:
        signed = json.loads(signed_terms)
    except ValueError:
        raise BadRequestError("invalid argument 'signed': field 'signed_terms': not JSON") from None
    if not isinstance(signed, dict):
        raise BadRequestError("invalid argument 'signed': field 'signed_terms': not a JSON object")
    for name in sorted(set(expected) | set(signed)):
        if name == "terms" and isinstance(signed.get("terms"), dict):
            for term in sorted(set(expected["terms"]) | set(signed["terms"])):
                if expected["terms"].get(term) != signed["terms"].get(term):
                    raise ForbiddenError(
                        f"invalid argument 'signed': field 'terms.{term}': the owner signed "
                        f"{signed['terms'].get(term)!r}, the consent asks {expected['terms'].get(term)!r}"
                    )
        elif expected.get(name) != signed.get(name):
            raise ForbiddenError(
                f"invalid argument 'signed': field '{name}': the owner signed {signed.get(name)!r}, the "
                f"consent states {expected.get(name)!r}"
            )


__all__ = [
    "GRANTEES",
    "OWNERCONSENT",
    "OwnerTransactions",
    "canonical_json",
    "consent_document",
    "consent_message",
]
