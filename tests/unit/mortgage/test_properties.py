"""Property-based: random sequences of operations keep the ledger's invariants.

- no title transfer while encumbered (unless the lienholders consented, and then the liens stay attached);
- a vehicle's lien priorities are unique and follow the order of recording;
- the odometer never decreases (lower readings are anomalies);
- LTV is never exceeded at recording time;
- every lien ends in at most one terminal state and never leaves it;
- the vehicle key carries TrafficAuthority + each lienholder exactly while encumbered;
- a refused call writes nothing;
- lien law (issue 15): a senior lien is never discharged by a junior's sale without the senior's consent
  or a court order; paid + surplus + costs = sale price; a seized vehicle's liens never change; a lapsed
  or released lien never blocks a transfer; every lien ends in at most one terminal state.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chaincode.mortgage.contract import BASE_KEY_POLICY
from chaincode.mortgage.rules import ENCUMBERING, TERMINAL, parse_ts
from chaincode.runtime.policy import KeyEndorsementPolicy

from .chain import NS, Chain, owner, valuation_body, vin

VINS = [vin(500 + i) for i in range(3)]
BANKS = ["bank_a", "bank_b"]
BANK_MSP = {"bank_a": "BankAMSP", "bank_b": "BankBMSP"}
TERMINAL_NAMES = {s.value for s in TERMINAL}
ENCUMBERING_NAMES = {s.value for s in ENCUMBERING}


def records(c: Chain, object_type: str) -> dict[str, dict[str, Any]]:
    prefix = f"\x00{object_type}\x00"
    return {
        key.split("\x00")[2]: json.loads(entry.value)
        for (ns, key), entry in c.ledger.state.items()
        if ns == NS and key.startswith(prefix)
    }


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.c = Chain()
        self.lien_count = 0
        self.odometer_max: dict[str, int] = {}
        self.terminal_seen: dict[str, str] = {}
        self.owner_count = 0

    @initialize()
    def setup(self) -> None:
        for v in VINS:
            self.c.register(v)
            self.c.value(v, "150000")

    # --- helpers -----------------------------------------------------------------------
    def call(self, who: str, fn: str, *args: Any, transient: dict[str, bytes] | None = None) -> Any:
        seized = {v for v, vehicle in self.vehicles().items() if vehicle["status"] == "SEIZED"}
        frozen = {lid: lv for lid, lv in self.liens().items() if lv["vin"] in seized}
        result = self.c.run(who, fn, *args, transient=transient)
        self.check_frozen(frozen, result)
        event(f"{fn} {result.response.status}")
        if not result.ok:
            assert result.response.status in (400, 403, 404, 409), result.response
            assert not result.rwset.writes and not result.rwset.private_writes and result.event is None
            return None
        payload = result.response.payload
        return json.loads(payload) if payload else {}

    def check_frozen(self, frozen: dict[str, dict[str, Any]], result: Any) -> None:
        """A seized vehicle's liens never change (LiftSeizure itself changes no lien)."""
        if not result.ok or not frozen:
            return
        after = self.liens()
        for lien_id, before in frozen.items():
            assert after[lien_id] == before, f"lien {lien_id} of a seized vehicle changed"

    def liens(self) -> dict[str, dict[str, Any]]:
        return records(self.c, "LIEN")

    def vehicles(self) -> dict[str, dict[str, Any]]:
        return records(self.c, "VEHICLE")

    def latest_valuation(self, v: str) -> Decimal | None:
        """The latest valuation if it will still be fresh at the next transaction (90-day default)."""
        pointer = self.c.ledger.state.get((NS, f"\x00VALLATEST\x00{v}\x00"))
        if pointer is None:
            return None
        vid = json.loads(pointer.value)["valuation_id"]
        valuation = json.loads(self.c.ledger.state[(NS, f"\x00VALUATION\x00{v}\x00{vid}\x00")].value)
        next_tx = self.c.ledger.clock + timedelta(seconds=1)
        if next_tx - parse_ts(valuation["recorded_at"]) > timedelta(days=90):
            return None
        return Decimal(valuation["value"])

    # --- operations --------------------------------------------------------------------
    @rule(v=st.sampled_from(VINS), value=st.integers(10_000, 200_000), who=st.sampled_from(BANKS))
    def value(self, v: str, value: int, who: str) -> None:
        """A bank values only a vehicle it holds or has requested a lien on (object rule valuer_lien)."""
        msp = BANK_MSP[who]
        stake = any(
            lien["vin"] == v
            and lien["lienholder"] == msp
            and lien["status"] in ("REQUESTED", "RECORDED", "ASSIGNMENT_PENDING", "FORECLOSING")
            for lien in self.liens().values()
        )
        if not stake:
            self.c.fail(who, "RecordValuation", valuation_body(v, str(value), "V-NOSTAKE"), status=403)
            return
        self.c.value(v, str(value), who=who)

    @rule(
        v=st.sampled_from(VINS),
        amount=st.integers(1_000, 70_000),
        who=st.sampled_from(BANKS),
        record=st.booleans(),
    )
    def request_lien(self, v: str, amount: int, who: str, record: bool) -> None:
        self.lien_count += 1
        vehicle = self.vehicles()[v]
        if vehicle["status"] in ("SEIZED", "IN_DISPOSAL", "SCRAPPED") or vehicle["holds"]:
            return
        lien_id = f"L{self.lien_count}"
        self.c.request_lien(who, lien_id, v, str(amount))
        if record:
            self.record(lien_id)

    @rule(data=st.data())
    def record_lien(self, data: st.DataObject) -> None:
        requested = sorted(lid for lid, lien in self.liens().items() if lien["status"] == "REQUESTED")
        if requested:
            self.record(data.draw(st.sampled_from(requested)))

    def record(self, lien_id: str) -> None:
        lien = self.liens()[lien_id]
        before = self.vehicles()[lien["vin"]]
        encumbering = [
            lv
            for lv in self.liens().values()
            if lv["vin"] == lien["vin"] and lv["status"] in ENCUMBERING_NAMES
        ]
        total = sum((Decimal(x["secured_amount"]) for x in encumbering), Decimal(0)) + Decimal(
            lien["secured_amount"]
        )
        valuation = self.latest_valuation(lien["vin"])
        result = self.call("ta", "RecordLien", lien_id)
        if result is not None:
            # LTV never exceeded at recording time
            assert valuation is not None and total <= Decimal("0.8") * valuation
            assert result["priority"] == before["next_priority"]
        elif (
            valuation is not None
            and total <= Decimal("0.8") * valuation
            and not before["holds"]
            and lien["maturity_date"] > self.c.today
            and before["status"]
            in (
                "REGISTERED",
                "MORTGAGED",
                "DISPOSED",
            )
        ):
            raise AssertionError(f"a lien within LTV was refused: {lien_id}")

    def pick(self, data: st.DataObject, statuses: set[str]) -> dict[str, Any] | None:
        """Mostly a lien in a fitting status (so operations succeed often), sometimes any lien."""
        liens = self.liens()
        fitting = sorted(lid for lid, lv in liens.items() if lv["status"] in statuses)
        prefer_fitting = bool(data.draw(st.integers(0, 4)))
        pool = fitting if fitting and prefer_fitting else sorted(liens)
        return liens[data.draw(st.sampled_from(pool))] if pool else None

    def caller(self, data: st.DataObject, msp: str | None) -> str:
        """Mostly the bank that should act, sometimes the other one."""
        right = next((b for b, m in BANK_MSP.items() if m == msp), "bank_a")
        wrong = "bank_b" if right == "bank_a" else "bank_a"
        return right if data.draw(st.integers(0, 3)) else wrong

    @rule(data=st.data(), go=st.integers(0, 3))
    def reject_lien(self, data: st.DataObject, go: int) -> None:
        lien = self.pick(data, {"REQUESTED"})
        if lien and go == 0:
            self.call("ta", "RejectLien", lien["lien_id"], "refused")

    @rule(data=st.data())
    def release_lien(self, data: st.DataObject) -> None:
        lien = self.pick(data, {"RECORDED"})
        if lien:
            self.call(self.caller(data, lien["lienholder"]), "ReleaseLien", lien["lien_id"])

    @rule(data=st.data())
    def court_release(self, data: st.DataObject) -> None:
        lien = self.pick(data, ENCUMBERING_NAMES)
        if lien:
            order = self.c.document("ta", "court_order", lien["vin"])
            self.call("ta", "ReleaseLienByCourtOrder", lien["lien_id"], order)

    @rule(data=st.data())
    def propose_assignment(self, data: st.DataObject) -> None:
        lien = self.pick(data, {"RECORDED"})
        if lien:
            who = self.caller(data, lien["lienholder"])
            to = "BankBMSP" if lien["lienholder"] == "BankAMSP" else "BankAMSP"
            self.call(who, "ProposeLienAssignment", lien["lien_id"], to)

    @rule(data=st.data())
    def accept_assignment(self, data: st.DataObject) -> None:
        lien = self.pick(data, {"ASSIGNMENT_PENDING"})
        if lien:
            self.call(self.caller(data, lien["pending_assignee"]), "AcceptLienAssignment", lien["lien_id"])

    @rule(data=st.data())
    def foreclose(self, data: st.DataObject) -> None:
        lien = self.pick(data, {"RECORDED"})
        if lien:
            who = self.caller(data, lien["lienholder"])
            notice = self.c.document(who, "foreclosure_notice", lien["vin"])
            self.call(who, "StartForeclosure", lien["lien_id"], notice)

    @rule(
        data=st.data(),
        price=st.integers(0, 150_000),
        costs=st.integers(0, 5_000),
        subject_to=st.booleans(),
    )
    def dispose(self, data: st.DataObject, price: int, costs: int, subject_to: bool) -> None:
        lien = self.pick(data, {"FORECLOSING"})
        if lien is None:
            return
        v = lien["vin"]
        who = self.caller(data, lien["lienholder"])
        self.owner_count += 1
        buyer, h = owner(f"buyer-{self.owner_count}")
        sale = self.c.document(who, "sale_contract", v)
        before = [lv for lv in self.liens().values() if lv["vin"] == v and lv["status"] in ENCUMBERING_NAMES]
        # pick() sometimes returns a lien not yet recorded (no priority): it has no seniors, and the
        # disposal is refused for its status
        seniors = [lv for lv in before if lien["priority"] is not None and lv["priority"] < lien["priority"]]
        court = v in records(self.c, "SALEORDER")
        body: dict[str, Any] = {
            "sale_price": str(price),
            "currency": "CNY",
            "buyer_owner_hash": h,
            "sale_document_id": sale,
            "mode": "subject_to_senior_liens" if subject_to else "free_and_clear",
            "costs": str(min(costs, price)),
        }
        if min(costs, price) > 0:
            body["costs_document_id"] = self.c.document(who, "sale_costs", v)
        consents = {
            key.split("\x00")[3]
            for (ns, key) in self.c.ledger.state
            if ns == NS and key.startswith(f"\x00CONSENT\x00{lien['lien_id']}\x00")
        }
        result = self.call(who, "CompleteDisposal", v, body, transient=buyer)
        if result is not None:
            paid = sum(Decimal(p["paid"]) for p in result["distribution"]) + Decimal(result["surplus"])
            assert paid + Decimal(result["costs"]) == Decimal(price)
            if subject_to:
                kept = {lv["lien_id"] for lv in seniors}
                assert set(result["liens_remaining"]) == kept
                for lien_id in kept:
                    assert self.liens()[lien_id]["status"] in ENCUMBERING_NAMES
            else:
                # a senior lien is discharged only with its holder's consent or a court sale order
                assert court or all(lv["lien_id"] in consents for lv in seniors), (seniors, consents)
            discharged = {lv["lien_id"] for lv in before} - set(result["liens_remaining"])
            assert {p["lien_id"] for p in result["distribution"]} == discharged
            priorities = [p["priority"] for p in result["distribution"]]
            assert priorities == sorted(priorities)
            remaining = Decimal(price)
            for p in result["distribution"]:  # senior first: a junior is paid only once seniors are whole
                assert Decimal(p["paid"]) == min(remaining - Decimal(result["costs"]), Decimal(p["claim"]))
                remaining -= Decimal(p["paid"])

    @rule(v=st.sampled_from(VINS), consent=st.booleans())
    def transfer(self, v: str, consent: bool) -> None:
        self.owner_count += 1
        buyer, h = owner(f"owner-{self.owner_count}")
        body: dict[str, Any] = {"new_owner_hash": h, "reason": "sale"}
        if consent:
            body["lienholder_consent_document_id"] = self.c.document("ta", "lienholder_consent", v)
        before = self.vehicles()[v]
        result = self.call("ta", "TransferTitle", v, body, transient=buyer)
        if result is None and not before["liens"] and not before["holds"]:
            # a lapsed, released, cancelled or discharged lien never blocks a transfer
            assert before["status"] not in ("REGISTERED", "MORTGAGED", "DISPOSED"), before
        if result is not None:
            # no title transfer while encumbered without the lienholders' consent; liens stay attached
            assert consent or not before["liens"]
            assert result["liens"] == before["liens"]
            assert before["status"] in ("REGISTERED", "MORTGAGED", "DISPOSED")

    # --- lien law ------------------------------------------------------------------------
    @rule(data=st.data(), below_reserve=st.booleans())
    def consent(self, data: st.DataObject, below_reserve: bool) -> None:
        lien = self.pick(data, ENCUMBERING_NAMES)
        if lien is None:
            return
        others = sorted(
            lid
            for lid, lv in self.liens().items()
            if lv["vin"] == lien["vin"]
            and lid != lien["lien_id"]
            and lv["status"] in ("RECORDED", "FORECLOSING")
        )
        if others:
            body = {"foreclosing_lien_id": data.draw(st.sampled_from(others)), "below_reserve": below_reserve}
            self.call(self.caller(data, lien["lienholder"]), "ConsentToEnforcement", lien["lien_id"], body)

    @rule(v=st.sampled_from(VINS), below_reserve=st.booleans())
    def sale_order(self, v: str, below_reserve: bool) -> None:
        order = self.c.document("ta", "court_order", v)
        self.call(
            "ta", "RecordSaleOrder", v, {"document_id": order, "court": "c", "below_reserve": below_reserve}
        )

    @rule(data=st.data(), outstanding=st.integers(0, 80_000))
    def balance(self, data: st.DataObject, outstanding: int) -> None:
        lien = self.pick(data, ENCUMBERING_NAMES)
        if lien:
            body = {"outstanding": str(outstanding), "currency": "CNY", "as_of": self.c.today}
            self.call(self.caller(data, lien["lienholder"]), "ReportLienBalance", lien["lien_id"], body)

    @rule(data=st.data(), late=st.booleans())
    def payoff(self, data: st.DataObject, late: bool) -> None:
        lien = self.pick(data, {"RECORDED"})
        if lien is None:
            return
        who = self.caller(data, lien["lienholder"])
        self.owner_count += 1
        n = self.owner_count
        self.call(
            who, "RequestPayoffQuote", lien["lien_id"], {"request_id": f"R{n}", "requested_by": "owner"}
        )
        quote = {
            "quote_id": f"Q{n}",
            "request_id": f"R{n}",
            "amount": "1000",
            "currency": "CNY",
            "good_through": self.c.days_from_now(5),
        }
        if self.call(who, "IssuePayoffQuote", lien["lien_id"], quote) is None:
            return
        if late:
            self.c.advance(days=6)
        payment = {
            "quote_id": f"Q{n}",
            "amount": "1000",
            "currency": "CNY",
            "paid_on": self.c.today,
            "payment_reference": f"P{n}",
        }
        result = self.call(who, "RecordPayoffPayment", lien["lien_id"], payment)
        if result is not None:
            assert not late and result["status"] == "RELEASED"

    @rule(data=st.data(), amount=st.integers(1_000, 90_000), consent=st.booleans())
    def amend(self, data: st.DataObject, amount: int, consent: bool) -> None:
        lien = self.pick(data, {"RECORDED"})
        if lien is None:
            return
        body: dict[str, Any] = {"secured_amount": str(amount), "reason": "amend"}
        if consent:
            body["owner_consent_document_id"] = self.c.document("ta", "owner_consent", lien["vin"])
        result = self.call(self.caller(data, lien["lienholder"]), "AmendLien", lien["lien_id"], body)
        if result is not None and amount > Decimal(lien["secured_amount"]):
            assert consent, "an increase without the owner's consent"

    @rule(data=st.data(), days=st.integers(1, 800))
    def extend(self, data: st.DataObject, days: int) -> None:
        lien = self.pick(data, {"RECORDED"})
        if lien:
            body = {"maturity_date": self.c.days_from_now(days + 3 * 365)}
            self.call(self.caller(data, lien["lienholder"]), "ExtendLien", lien["lien_id"], body)

    @rule(data=st.data(), cancel=st.booleans())
    def correct(self, data: st.DataObject, cancel: bool) -> None:
        lien = self.pick(data, {"RECORDED", "ASSIGNMENT_PENDING"})
        if lien is None:
            return
        evidence = self.c.document("ta", "correction_evidence", lien["vin"], lien["lien_id"])
        body: dict[str, Any] = {"evidence_document_id": evidence, "reason": "error"}
        if cancel:
            body["cancel"] = True
        else:
            body["maturity_date"] = self.c.days_from_now(-400)  # the true maturity, long past
        self.call("ta", "CorrectLien", lien["lien_id"], body)

    @rule(who=st.sampled_from(["ta", "bank_a", "insurer", "dealer"]), skip=st.integers(0, 200))
    def sweep(self, who: str, skip: int) -> None:
        self.c.advance(days=skip)
        result = self.call(who, "SweepLienMaturities", {})
        if result is not None:
            liens = self.liens()
            for lapsed in result["lapsed"]:
                assert liens[lapsed["lien_id"]]["status"] == "LAPSED"

    @rule(
        v=st.sampled_from(VINS), kind=st.sampled_from(["stolen", "customs", "scrap_age"]), lift=st.booleans()
    )
    def hold(self, v: str, kind: str, lift: bool) -> None:
        doc_type = {"stolen": "police_report", "customs": "customs_notice", "scrap_age": "scrap_notice"}[kind]
        body = {
            "kind": kind,
            "document_id": self.c.document("ta", doc_type, v),
            "authority": "a",
            "reason": "r",
        }
        self.call("ta", "LiftHold" if lift else "SetHold", v, body)

    @rule(v=st.sampled_from(VINS), seize=st.booleans())
    def seize_or_lift(self, v: str, seize: bool) -> None:
        self._seize_or_lift(v, not seize)

    def _seize_or_lift(self, v: str, lift: bool) -> None:
        order = self.c.document("ta", "seizure_order", v)
        body = {"document_id": order, "authority": "court", "reason": "case"}
        self.call("ta", "LiftSeizure" if lift else "SeizeVehicle", v, body)

    @rule(v=st.sampled_from(VINS), km=st.integers(0, 300_000))
    def odometer(self, v: str, km: int) -> None:
        result = self.call("dealer", "RecordOdometer", {"vin": v, "odometer_km": km, "source": "inspection"})
        if result is not None:
            previous = self.odometer_max.get(v)
            assert result["anomaly"] == (previous is not None and km < previous)
            self.odometer_max[v] = km if previous is None else max(previous, km)
            name, _ = self.c.last_event()
            assert name == ("OdometerAnomaly" if result["anomaly"] else "OdometerRecorded")

    @rule(days=st.integers(1, 60))
    def advance(self, days: int) -> None:
        self.c.advance(days=days)

    # --- invariants --------------------------------------------------------------------
    @invariant()
    def vehicles_and_liens_agree(self) -> None:
        liens = self.liens()
        for v, vehicle in self.vehicles().items():
            encumbering = {
                lid for lid, lv in liens.items() if lv["vin"] == v and lv["status"] in ENCUMBERING_NAMES
            }
            assert {ref["lien_id"] for ref in vehicle["liens"]} == encumbering
            holders = sorted({liens[lid]["lienholder"] for lid in encumbering})
            assert sorted({ref["lienholder"] for ref in vehicle["liens"]}) == holders
            if vehicle["status"] == "MORTGAGED":
                assert encumbering
            if vehicle["status"] in ("REGISTERED", "DISPOSED"):
                assert not encumbering
            if vehicle["status"] == "IN_DISPOSAL":
                assert any(liens[lid]["status"] == "FORECLOSING" for lid in encumbering)
            raw = self.c.state_metadata("VEHICLE", v).get("VALIDATION_PARAMETER")
            assert raw != b"", "an empty key policy can never be satisfied through the Fabric Gateway"
            orgs = [] if raw in (None, BASE_KEY_POLICY) else KeyEndorsementPolicy(raw).list_orgs()
            assert orgs == (sorted([*holders, "TrafficAuthorityMSP"]) if holders else [])

    @invariant()
    def priorities_unique_and_in_recording_order(self) -> None:
        by_vin: dict[str, list[tuple[str, int]]] = {}
        for lien in self.liens().values():
            if lien["priority"] is not None:
                by_vin.setdefault(lien["vin"], []).append((lien["recorded_at"], lien["priority"]))
        for entries in by_vin.values():
            priorities = [p for _, p in entries]
            assert len(set(priorities)) == len(priorities)
            assert [p for _, p in sorted(entries)] == sorted(priorities)

    @invariant()
    def odometer_never_decreases(self) -> None:
        for v, expected in self.odometer_max.items():
            state = json.loads(self.c.ledger.state[(NS, f"\x00ODO\x00{v}\x00")].value)
            assert state["odometer_km"] == expected

    @invariant()
    def terminal_states_are_final(self) -> None:
        for lien_id, lien in self.liens().items():
            status = lien["status"]
            if lien_id in self.terminal_seen:
                assert status == self.terminal_seen[lien_id], f"{lien_id} left {self.terminal_seen[lien_id]}"
            elif status in TERMINAL_NAMES:
                self.terminal_seen[lien_id] = status
            history = self.c.ledger.history.get((NS, f"\x00LIEN\x00{lien_id}\x00"), [])
            terminal_entries = [h for h in history if json.loads(h.value)["status"] in TERMINAL_NAMES]
            assert len(terminal_entries) <= 1


TestLedgerProperties = LedgerMachine.TestCase
TestLedgerProperties.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
