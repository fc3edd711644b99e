"""Floor-plan receivables and portfolio figures: a dealer pledges what a core enterprise owes it (rebates,
holdbacks) to its lender, once per receivable; the lender's exposure per dealer and the regulator's
totals are read from the lines, whose exposure every transaction keeps (docs/floor-plan.md).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import access
from .args import arg_id
from .context import MortgageContext
from .floorplan_alerts import (
    FPALERT,
    FPLINE,
    FPRECV,
    IDX_FPAPPROVER,
    IDX_FPDEALER,
    IDX_FPLENDER,
    IDX_FPRECVLINE,
    FloorPlanAlert,
    FloorPlanSupport,
    party,
)
from .models.floorplan import (
    CreditLine,
    FloorPlanQuery,
    PledgeStatus,
    ReceivableIn,
    ReceivablePledge,
)


def _values(ctx: MortgageContext, object_type: str) -> list[bytes]:
    with ctx.stub.get_state_by_partial_composite_key(object_type, []) as it:
        return [kv.value for kv in it]


class FloorPlanPortfolioTransactions(FloorPlanSupport):
    # --- receivables ---------------------------------------------------------------------------
    @submit
    def pledge_receivable(self, ctx: MortgageContext, pledge: ReceivableIn) -> ReceivablePledge:
        """The dealer pledges a receivable owed by a core enterprise to the lender of one of its lines;
        the same receivable (debtor and id) is pledged once, to whichever bank."""
        line = self._line(ctx, pledge.line_id)
        if line.dealer_msp_id != ctx.msp_id:
            raise access.object_rule_denied(
                "floor_plan_dealer", f"line {line.line_id} is {line.dealer_msp_id}'s, caller is {ctx.msp_id}"
            )
        if pledge.debtor_msp_id not in access.CORE_ENTERPRISES:
            raise BadRequestError(
                "invalid argument 'pledge': field 'debtor_msp_id': must be a core enterprise ("
                + ", ".join(sorted(access.CORE_ENTERPRISES))
                + ")"
            )
        if pledge.currency != line.currency:
            raise BadRequestError(f"invalid argument 'pledge': field 'currency': must be {line.currency}")
        if pledge.due_date < ctx.today:
            raise BadRequestError("invalid argument 'pledge': field 'due_date': is in the past")
        existing = ctx.store.get(ReceivablePledge, FPRECV, pledge.debtor_msp_id, pledge.receivable_id)
        if existing is not None and existing.status is PledgeStatus.PLEDGED:
            raise ConflictError(
                f"pledge refused by rule 'double_pledge': receivable {pledge.receivable_id} owed by "
                f"{pledge.debtor_msp_id} is already pledged to {existing.pledgee} under line "
                f"{existing.line_id} since {existing.pledged_at[:10]}"
            )
        if pledge.document_id is not None:
            self._document(ctx, pledge.document_id, "document_id")
        record = ReceivablePledge(
            **pledge.model_dump(),
            pledgor_msp_id=ctx.msp_id,
            dealer_id=line.dealer_id,
            pledgee=line.lender,
            pledged_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, FPRECV, pledge.debtor_msp_id, pledge.receivable_id)
        ctx.store.index_put(IDX_FPRECVLINE, line.line_id, pledge.debtor_msp_id, pledge.receivable_id)
        ctx.emit(
            "ReceivablePledged",
            receivable_id=pledge.receivable_id,
            debtor_msp_id=pledge.debtor_msp_id,
            line_id=line.line_id,
            pledgee=line.lender,
            dealer_msp_id=ctx.msp_id,
            amount=pledge.amount,
            currency=pledge.currency,
            due_date=pledge.due_date,
        )
        return record

    @submit
    def release_receivable_pledge(
        self, ctx: MortgageContext, debtor_msp_id: str, receivable_id: str
    ) -> ReceivablePledge:
        """The pledgee releases the receivable (collected or no longer needed): it may be pledged again."""
        debtor_msp_id, receivable_id = (
            arg_id(debtor_msp_id, "debtor_msp_id"),
            arg_id(receivable_id, "receivable_id"),
        )
        pledge = ctx.store.get(ReceivablePledge, FPRECV, debtor_msp_id, receivable_id)
        if pledge is None:
            raise NotFoundError(f"receivable {receivable_id} of {debtor_msp_id} is not pledged")
        self._lender_only(ctx, pledge.pledgee, f"the pledge of receivable {receivable_id}")
        if pledge.status is not PledgeStatus.PLEDGED:
            raise ConflictError(f"receivable {receivable_id} was released on {pledge.released_at}")
        released = pledge.model_copy(
            update={"status": PledgeStatus.RELEASED, "released_at": ctx.at, "tx_id": ctx.tx_id}
        )
        ctx.store.put(released, FPRECV, debtor_msp_id, receivable_id)
        ctx.emit(
            "ReceivablePledgeReleased",
            receivable_id=receivable_id,
            debtor_msp_id=debtor_msp_id,
            line_id=pledge.line_id,
            pledgee=pledge.pledgee,
        )
        return released

    @evaluate
    def get_receivable_pledges(self, ctx: MortgageContext, line_id: str) -> list[ReceivablePledge]:
        line = self._readable_line(ctx, line_id)
        out = []
        with ctx.stub.get_state_by_partial_composite_key(IDX_FPRECVLINE, [line.line_id]) as it:
            keys = [ctx.stub.split_composite_key(kv.key)[1] for kv in it]
        for _, debtor, receivable in keys:
            pledge = ctx.store.get(ReceivablePledge, FPRECV, debtor, receivable)
            if pledge is not None and pledge.line_id == line.line_id:
                out.append(pledge)
        return out

    # --- portfolio -----------------------------------------------------------------------------
    def _visible_lines(self, ctx: MortgageContext, query: FloorPlanQuery) -> list[CreditLine]:
        """The lines the caller may see, narrowed by the query: a bank its own, a dealer its own, a
        core enterprise the ones it approved; the regulator, auditors and the vehicle office all."""
        if ctx.msp_id in access.BANKS and ctx.role != "auditor":
            ids = ctx.store.index_ids(IDX_FPLENDER, ctx.msp_id)
        elif ctx.msp_id == access.DEALER and ctx.role != "auditor":
            ids = ctx.store.index_ids(IDX_FPDEALER, ctx.msp_id)
        elif ctx.msp_id in access.CORE_ENTERPRISES and ctx.role != "auditor":
            ids = ctx.store.index_ids(IDX_FPAPPROVER, ctx.msp_id)
        elif query.lender is not None:
            ids = ctx.store.index_ids(IDX_FPLENDER, query.lender)
        else:
            lines = [CreditLine.model_validate_json(raw) for raw in _values(ctx, FPLINE)]
            ids = None
        if ids is not None:
            lines = [line for line in (ctx.store.get(CreditLine, FPLINE, i) for i in ids) if line]
        return [
            line
            for line in lines
            if party(ctx, line)
            and (query.lender is None or line.lender == query.lender)
            and (query.dealer_id is None or line.dealer_id == query.dealer_id)
        ]

    @evaluate
    def get_floor_plan_exposure(self, ctx: MortgageContext, query: FloorPlanQuery) -> dict[str, Any]:
        """Exposure per dealer (limit, outstanding, available, utilisation, open advances), per lender
        and currency, from the lines' kept exposure: one read per line, however many cars they finance."""
        dealers: dict[tuple[str, str, str], dict[str, Any]] = {}
        for line in self._visible_lines(ctx, query):
            key = (line.lender, line.dealer_id, line.currency)
            row = dealers.setdefault(
                key,
                {
                    "lender": line.lender,
                    "dealer_id": line.dealer_id,
                    "currency": line.currency,
                    "lines": [],
                    "limit": Decimal(0),
                    "outstanding": Decimal(0),
                    "open_advances": 0,
                },
            )
            row["lines"].append(line.line_id)
            row["limit"] += line.limit
            row["outstanding"] += line.outstanding
            row["open_advances"] += line.open_advances
        rows = []
        for row in sorted(dealers.values(), key=lambda r: (r["lender"], r["dealer_id"], r["currency"])):
            row["available"] = row["limit"] - row["outstanding"]
            row["utilisation"] = str((row["outstanding"] / row["limit"]).quantize(Decimal("0.0001")))
            rows.append(row)
        return {"dealers": rows, "as_of": ctx.at}

    @evaluate
    def get_floor_plan_totals(self, ctx: MortgageContext) -> dict[str, Any]:
        """The regulator's figures: lines, limits, exposure and open advances per lender and currency,
        and floor-plan alerts by rule."""
        totals: dict[tuple[str, str], dict[str, Any]] = defaultdict(
            lambda: {"lines": 0, "limit": Decimal(0), "outstanding": Decimal(0), "open_advances": 0}
        )
        for raw in _values(ctx, FPLINE):
            line = CreditLine.model_validate_json(raw)
            row = totals[(line.lender, line.currency)]
            row["lines"] += 1
            row["limit"] += line.limit
            row["outstanding"] += line.outstanding
            row["open_advances"] += line.open_advances
        by_rule: dict[str, int] = defaultdict(int)
        for raw in _values(ctx, FPALERT):
            by_rule[FloorPlanAlert.model_validate_json(raw).rule] += 1
        return {
            "lenders": [
                {"lender": lender, "currency": currency, **row}
                for (lender, currency), row in sorted(totals.items())
            ],
            "alerts_by_rule": dict(sorted(by_rule.items())),
            "as_of": ctx.at,
        }


__all__ = ["FloorPlanPortfolioTransactions"]
