"""Outstanding balances and payoff: the lienholder reports the dated balance; a payoff quote with a
good-through date is issued on request (the owner, or a dealer or buyer with the owner's anchored
consent); paying the quote releases the lien.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import access, law_rules, rules
from . import law_keys as k
from .args import arg_id
from .context import MortgageContext
from .law_models import (
    Balance,
    BalanceIn,
    PayoffPaymentIn,
    PayoffQuote,
    PayoffQuoteIn,
    PayoffRequest,
    PayoffRequester,
    PayoffRequestIn,
)
from .models import DocType, Lien, LienStatus
from .models.owners import ConsentKind
from .owners import OwnerTransactions
from .rules import ENCUMBERING, money


def _quote_party(ctx: MortgageContext, lien: Lien, quote: PayoffQuote, request: PayoffRequest | None) -> bool:
    """Object rule ``payoff_quote_party``: a bank or dealer identity reads a quote only when its org
    holds the lien, issued the quote or asked for it; the vehicle office, the regulator and auditors
    (already admitted by the table) read every quote."""
    return access.payoff_quote_party(
        ctx.msp_id,
        ctx.role,
        {lien.lienholder, quote.issued_by} | ({request.requester_msp} if request else set()),
    )


def _quote_view(
    ctx: MortgageContext, lien: Lien, quote: PayoffQuote, request: PayoffRequest | None
) -> dict[str, Any]:
    if quote.paid:
        status = "PAID"
    elif lien.status not in ENCUMBERING:
        status = "VOID"  # the lien ended another way (released, lapsed, discharged): nothing to pay
    elif quote.good_through < ctx.today:
        status = "EXPIRED"
    else:
        status = "OPEN"
    return {
        "quote_id": quote.quote_id,
        "lien_id": lien.lien_id,
        "vin": lien.vin,
        "request_id": quote.request_id,
        "requested_by": request.requested_by.value if request else None,
        "requester_msp": request.requester_msp if request else None,
        "amount": quote.amount,
        "currency": quote.currency,
        "good_through": quote.good_through,
        "status": status,
        "issued_by": quote.issued_by,
        "issued_at": quote.issued_at,
        "paid": quote.paid,
        "paid_at": quote.paid_at,
        "tx_id": quote.tx_id,
    }


class PayoffTransactions(OwnerTransactions):
    @submit
    def report_lien_balance(self, ctx: MortgageContext, lien_id: str, balance: BalanceIn) -> Balance:
        """The lienholder states what is still owed, as of a date (never in the future)."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, ENCUMBERING, "balance report")
        if balance.currency != lien.currency:
            raise BadRequestError(f"invalid argument 'balance': field 'currency': must be {lien.currency}")
        if balance.as_of > ctx.today:
            raise BadRequestError("invalid argument 'balance': field 'as_of': is in the future")
        previous = self._balance(ctx, lien.lien_id)
        if previous is not None and balance.as_of < previous.as_of:
            raise ConflictError(
                f"balance refused: as_of {balance.as_of.isoformat()} is before the balance already "
                f"reported as of {previous.as_of.isoformat()}"
            )
        record = Balance(
            lien_id=lien.lien_id,
            **balance.model_dump(),
            reported_by=ctx.msp_id,
            reported_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, k.BALANCE, lien.lien_id)
        ctx.emit(
            "LienBalanceReported",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            outstanding=record.outstanding,
            currency=record.currency,
            as_of=record.as_of,
        )
        return record

    @submit
    def request_payoff_quote(
        self, ctx: MortgageContext, lien_id: str, request: PayoffRequestIn
    ) -> PayoffRequest:
        """Ask the lienholder for a payoff figure: the owner through the lienholder, or a dealer or
        another bank (the buyer's) with the owner's anchored consent."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        rules.ensure_lien_status(lien, ENCUMBERING, "payoff request")
        if ctx.store.exists(k.PAYOFFREQ, lien.lien_id, request.request_id):
            raise ConflictError(f"payoff request {request.request_id} of lien {lien.lien_id} already exists")
        own = ctx.msp_id == lien.lienholder
        if request.requested_by is PayoffRequester.OWNER and not own:
            raise access.object_rule_denied(
                "payoff_requester",
                f"an owner asks the lienholder {lien.lienholder} directly; {ctx.msp_id} must state "
                "requested_by dealer or buyer with the owner's consent",
            )
        if request.requested_by is not PayoffRequester.OWNER:
            if request.owner_consent_id is not None:
                self._use_owner_consent(
                    ctx,
                    request.owner_consent_id,
                    "owner_consent_id",
                    ConsentKind.PAYOFF_QUOTE_RELEASE,
                    lien.vin,
                    {"lien_id": lien.lien_id},
                    f"payoff:{lien.lien_id}:{request.request_id}",
                )
            elif request.owner_consent_document_id is None:
                raise BadRequestError(
                    "invalid argument 'request': field 'owner_consent_id': required when a "
                    f"{request.requested_by.value} asks (the owner's signed consent; an anchored consent "
                    "scan in owner_consent_document_id is the fallback)"
                )
            else:
                self._document(
                    ctx,
                    request.owner_consent_document_id,
                    "owner_consent_document_id",
                    {DocType.OWNER_CONSENT},
                    vin=lien.vin,
                )
        record = PayoffRequest(
            request_id=request.request_id,
            lien_id=lien.lien_id,
            requested_by=request.requested_by,
            requester_msp=ctx.msp_id,
            owner_consent_document_id=request.owner_consent_document_id,
            owner_consent_id=request.owner_consent_id,
            at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, k.PAYOFFREQ, lien.lien_id, request.request_id)
        ctx.emit(
            "PayoffRequested",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            request_id=request.request_id,
            requested_by=request.requested_by.value,
            requester_msp=ctx.msp_id,
        )
        return record

    @submit
    def issue_payoff_quote(self, ctx: MortgageContext, lien_id: str, quote: PayoffQuoteIn) -> PayoffQuote:
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, ENCUMBERING, "payoff quote")
        request = self._payoff_request(ctx, lien.lien_id, quote.request_id)
        if request is None:
            raise NotFoundError(f"payoff request {quote.request_id} of lien {lien.lien_id} not found")
        if ctx.store.exists(k.PAYOFFQUOTE, lien.lien_id, quote.quote_id):
            raise ConflictError(f"payoff quote {quote.quote_id} of lien {lien.lien_id} already exists")
        if quote.currency != lien.currency:
            raise BadRequestError(f"invalid argument 'quote': field 'currency': must be {lien.currency}")
        if quote.good_through < ctx.today:
            raise BadRequestError(
                f"invalid argument 'quote': field 'good_through': {quote.good_through.isoformat()} is "
                f"before today {ctx.today.isoformat()}"
            )
        record = PayoffQuote(
            lien_id=lien.lien_id,
            **quote.model_dump(),
            issued_by=ctx.msp_id,
            issued_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, k.PAYOFFQUOTE, lien.lien_id, quote.quote_id)
        ctx.emit(
            "PayoffQuoted",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            request_id=request.request_id,
            requester_msp=request.requester_msp,
            quote_id=quote.quote_id,
            amount=quote.amount,
            currency=quote.currency,
            good_through=quote.good_through,
        )
        return record

    @submit
    def record_payoff_payment(self, ctx: MortgageContext, lien_id: str, payment: PayoffPaymentIn) -> Lien:
        """The lienholder confirms the quote was paid in full in time: the lien is released.

        A foreclosing lien may be paid off too (redemption before the sale): the disposal ends with it.
        """
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, {LienStatus.RECORDED, LienStatus.FORECLOSING}, "payoff")
        law_rules.ensure_not_seized(self._vehicle(ctx, lien.vin), "payoff release")
        quote = ctx.store.get(PayoffQuote, k.PAYOFFQUOTE, lien.lien_id, payment.quote_id)
        if quote is None:
            raise NotFoundError(f"payoff quote {payment.quote_id} of lien {lien.lien_id} not found")
        if payment.currency != quote.currency:
            raise BadRequestError(f"invalid argument 'payment': field 'currency': must be {quote.currency}")
        if payment.paid_on > ctx.today:
            raise BadRequestError("invalid argument 'payment': field 'paid_on': is in the future")
        if payment.paid_on > quote.good_through:
            raise ConflictError(
                f"payoff refused by rule 'good_through': paid on {payment.paid_on.isoformat()}, quote "
                f"{quote.quote_id} was good through {quote.good_through.isoformat()}; ask for a new quote"
            )
        if payment.amount < quote.amount:
            raise ConflictError(
                f"payoff refused by rule 'quote_amount': paid {money(payment.amount)} {payment.currency}, "
                f"quote {quote.quote_id} is {money(quote.amount)} {quote.currency} "
                f"(short by {money(quote.amount - payment.amount)})"
            )
        if payment.receipt_document_id is not None:
            self._document(
                ctx,
                payment.receipt_document_id,
                "receipt_document_id",
                {DocType.PAYOFF_RECEIPT},
                vin=lien.vin,
            )
        ctx.store.put(
            quote.model_copy(update={"paid": True, "paid_at": ctx.at}),
            k.PAYOFFQUOTE,
            lien.lien_id,
            quote.quote_id,
        )
        ctx.store.put(
            Balance(
                lien_id=lien.lien_id,
                outstanding=Decimal("0.00"),
                currency=lien.currency,
                as_of=payment.paid_on,
                reported_by=ctx.msp_id,
                reported_at=ctx.at,
                tx_id=ctx.tx_id,
            ),
            k.BALANCE,
            lien.lien_id,
        )
        return self._release(ctx, lien, "payoff", payment.receipt_document_id)

    @evaluate
    def get_payoff_quote(self, ctx: MortgageContext, lien_id: str, quote_id: str) -> dict[str, Any]:
        """One payoff quote as its requester needs it (figure, good-through date, status), without the
        lien's balance history: the lienholder, the quote's requester and the neutral readers."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        quote_id = arg_id(quote_id, "quote_id")
        quote = ctx.store.get(PayoffQuote, k.PAYOFFQUOTE, lien.lien_id, quote_id)
        if quote is None:
            raise NotFoundError(f"payoff quote {quote_id} of lien {lien.lien_id} not found")
        request = self._payoff_request(ctx, lien.lien_id, quote.request_id)
        if not _quote_party(ctx, lien, quote, request):
            raise access.object_rule_denied(
                "payoff_quote_party",
                f"quote {quote.quote_id} of lien {lien.lien_id} answers request {quote.request_id} of "
                f"{request.requester_msp if request else 'unknown'}; lien held by {lien.lienholder}, "
                f"caller is {ctx.msp_id}",
            )
        return _quote_view(ctx, lien, quote, request)

    @evaluate
    def get_payoff_quotes(self, ctx: MortgageContext, lien_id: str) -> list[dict[str, Any]]:
        """The payoff quotes of a lien the caller may read: all of them for the lienholder and the
        neutral readers, the answers to its own requests for a dealer or a buyer's bank."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        requests = {r.request_id: r for r in ctx.store.scan(PayoffRequest, k.PAYOFFREQ, lien.lien_id)}
        views = []
        for quote in ctx.store.scan(PayoffQuote, k.PAYOFFQUOTE, lien.lien_id):
            request = requests.get(quote.request_id)
            if _quote_party(ctx, lien, quote, request):
                views.append(_quote_view(ctx, lien, quote, request))
        return views

    def _payoff_request(self, ctx: MortgageContext, lien_id: str, request_id: str) -> PayoffRequest | None:
        return ctx.store.get(PayoffRequest, k.PAYOFFREQ, lien_id, request_id)

    @evaluate
    def get_lien_account(self, ctx: MortgageContext, lien_id: str) -> dict[str, Any]:
        """Balance, claim, payoff requests and quotes of one lien."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        balance = self._balance(ctx, lien.lien_id)
        claim, basis = law_rules.claim_of(lien, balance)
        return {
            "lien_id": lien.lien_id,
            "status": lien.status.value,
            "secured_amount": lien.secured_amount,
            "currency": lien.currency,
            "balance": balance,
            "claim": claim,
            "claim_basis": basis,
            "deficiency": lien.shortfall,
            "payoff_requests": ctx.store.scan(PayoffRequest, k.PAYOFFREQ, lien.lien_id),
            "payoff_quotes": ctx.store.scan(PayoffQuote, k.PAYOFFQUOTE, lien.lien_id),
        }
