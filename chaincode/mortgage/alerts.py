"""Risk alerts on chain: a bank's risk engine anchors each alert (hash, severity, loan, rule); the
lienholder acknowledges it; the regulator counts them from the ledger.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import ConflictError, NotFoundError

from . import access
from . import law_keys as k
from .args import arg_id, arg_text
from .context import MortgageContext
from .law_models import AlertQuery, RiskAlert, RiskAlertIn
from .support import MortgageSupport


class AlertTransactions(MortgageSupport):
    def _alert(self, ctx: MortgageContext, alert_id: str) -> RiskAlert:
        alert = ctx.store.get(RiskAlert, k.ALERT, alert_id)
        if alert is None:
            raise NotFoundError(f"risk alert {alert_id} not found")
        return alert

    @submit
    def record_risk_alert(self, ctx: MortgageContext, alert: RiskAlertIn) -> RiskAlert:
        """Anchor an alert on a loan the caller's bank holds (the alert body stays off chain, hashed)."""
        if ctx.store.exists(k.ALERT, alert.alert_id):
            raise ConflictError(f"risk alert {alert.alert_id} already exists")
        lien = self._lien(ctx, alert.lien_id)
        self._holder_only(ctx, lien)
        record = RiskAlert(
            **alert.model_dump(),
            vin=lien.vin,
            lienholder=lien.lienholder,
            raised_by=ctx.msp_id,
            raised_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, k.ALERT, alert.alert_id)
        ctx.store.index_put(k.IDX_ALERTLIEN, lien.lien_id, alert.alert_id)
        ctx.store.index_put(k.IDX_ALERTHOLDER, lien.lienholder, alert.alert_id)
        ctx.emit(
            "RiskAlertRecorded",
            alert_id=alert.alert_id,
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            rule=alert.rule,
            severity=alert.severity.value,
            alert_sha256=alert.alert_sha256,
        )
        return record

    @submit
    def acknowledge_risk_alert(self, ctx: MortgageContext, alert_id: str, note: str) -> RiskAlert:
        alert = self._alert(ctx, arg_id(alert_id, "alert_id"))
        note = arg_text(note, "note")
        if alert.lienholder != ctx.msp_id:
            raise access.object_rule_denied(
                "lienholder_only",
                f"alert {alert.alert_id} is on a loan of {alert.lienholder}, caller is {ctx.msp_id}",
            )
        if alert.acknowledged:
            raise ConflictError(
                f"risk alert {alert.alert_id} was already acknowledged on {alert.acknowledged_at}"
            )
        acked = alert.model_copy(
            update={"acknowledged": True, "acknowledged_at": ctx.at, "acknowledgement": note}
        )
        ctx.store.put(acked, k.ALERT, alert.alert_id)
        ctx.emit(
            "RiskAlertAcknowledged",
            alert_id=alert.alert_id,
            lien_id=alert.lien_id,
            lienholder=alert.lienholder,
        )
        return acked

    @evaluate
    def query_risk_alerts(self, ctx: MortgageContext, query: AlertQuery) -> list[RiskAlert]:
        if query.lien_id is not None:
            ids = ctx.store.index_ids(k.IDX_ALERTLIEN, query.lien_id)
        elif query.lienholder is not None:
            ids = ctx.store.index_ids(k.IDX_ALERTHOLDER, query.lienholder)
        else:
            ids = [ctx.stub.split_composite_key(key)[1][-1] for key in _keys(ctx, k.ALERT)]
        alerts = [a for a in (ctx.store.get(RiskAlert, k.ALERT, i) for i in ids) if a is not None]
        return [a for a in alerts if not (query.unacknowledged and a.acknowledged)]

    @evaluate
    def count_risk_alerts(self, ctx: MortgageContext) -> dict[str, Any]:
        """Counts by severity, rule, lienholder and acknowledgement: the regulator's dashboard figures."""
        alerts = [RiskAlert.model_validate_json(raw) for raw in _values(ctx, k.ALERT)]
        return {
            "total": len(alerts),
            "unacknowledged": sum(1 for a in alerts if not a.acknowledged),
            "by_severity": dict(sorted(Counter(a.severity.value for a in alerts).items())),
            "by_rule": dict(sorted(Counter(a.rule for a in alerts).items())),
            "by_lienholder": dict(sorted(Counter(a.lienholder for a in alerts).items())),
            "as_of": ctx.at,
        }


def _keys(ctx: MortgageContext, object_type: str) -> list[str]:
    with ctx.stub.get_state_by_partial_composite_key(object_type, []) as it:
        return [kv.key for kv in it]


def _values(ctx: MortgageContext, object_type: str) -> list[bytes]:
    with ctx.stub.get_state_by_partial_composite_key(object_type, []) as it:
        return [kv.value for kv in it]


__all__ = ["AlertTransactions"]
