"""Property-based: random sequences of floor-plan operations keep the invariants of issue 19.

- a line's exposure never exceeds its limit, and equals the sum of its open advances' outstanding;
- a financed car is ``FLOOR_PLAN`` exactly while its advance is open;
- no sale without payoff: a car's title moves only when its advance is paid off (retail sale with the
  full payoff, or paid off before), never while it is open;
- a paid-off advance never blocks a sale (transfer or new advance);
- a refused call writes nothing (``Chain.fail`` asserts it).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from . import floorplan_chain as fp
from .chain import Chain, owner, vin

VINS = [vin(700 + i) for i in range(5)]
LIMIT = Decimal("60000")
AMOUNTS = st.sampled_from(["5000", "12000.50", "20000", "30000", "45000"])


class FloorPlanMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.c = Chain()
        self.open: dict[str, tuple[str, Decimal]] = {}  # vin -> (advance id, outstanding)
        self.owners: dict[str, str] = {}
        self.financed_owner: dict[str, str] = {}
        self.n = 0

    @initialize()
    def setup(self) -> None:
        for v in VINS:
            self.c.register(v)
            self.owners[v] = self.c.ok("ta", "GetVehicle", v)["owner_hash"]
        fp.whitelist(self.c)
        fp.open_line(self.c, limit=str(LIMIT))

    def _exposure(self) -> Decimal:
        return sum((o for _, o in self.open.values()), Decimal(0))

    @rule(i=st.integers(0, len(VINS) - 1), amount=AMOUNTS)
    def finance(self, i: int, amount: str) -> None:
        v = VINS[i]
        self.n += 1
        advance_id = f"A{self.n}"
        body = fp.advance_body(advance_id, v, amount)
        if v in self.open:
            self.c.fail("bank_a", "FinanceVehicle", body, status=409)
        elif self._exposure() + Decimal(amount) > LIMIT:
            assert "rule 'line_limit'" in self.c.fail("bank_a", "FinanceVehicle", body, status=409)
        else:
            self.c.ok("bank_a", "FinanceVehicle", body)
            self.open[v] = (advance_id, Decimal(amount))
            self.financed_owner[v] = self.owners[v]

    @rule(i=st.integers(0, len(VINS) - 1), share=st.sampled_from(["0.1", "0.5", "0.9"]))
    def curtail(self, i: int, share: str) -> None:
        v = VINS[i]
        if v not in self.open:
            return
        advance_id, outstanding = self.open[v]
        amount = (outstanding * Decimal(share)).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        self.c.ok("bank_a", "RecordCurtailment", advance_id, fp.payment(self.c, str(amount)))
        self.open[v] = (advance_id, outstanding - amount)

    @rule(i=st.integers(0, len(VINS) - 1), share=st.sampled_from(["0.5", "0.99", "1", "1.2"]))
    def retail_sale(self, i: int, share: str) -> None:
        v = VINS[i]
        if v not in self.open:
            return
        advance_id, outstanding = self.open[v]
        payoff = max(Decimal("0.01"), (outstanding * Decimal(share)).quantize(Decimal("0.01")))
        self.n += 1
        args, buyer = fp.sale_args(self.c, v, advance_id, str(payoff), buyer=f"b{self.n}")
        if payoff < outstanding:
            msg = self.c.fail("bank_a", "RetailSale", *args, transient=buyer, status=409)
            assert "rule 'payoff_amount'" in msg
            return
        result = self.c.ok("bank_a", "RetailSale", *args, transient=buyer)
        assert Decimal(result["payoff_amount"]) == outstanding
        del self.open[v]
        self.owners[v] = args[1]["buyer_owner_hash"]

    @rule(i=st.integers(0, len(VINS) - 1))
    def pay_off(self, i: int) -> None:
        v = VINS[i]
        if v not in self.open:
            return
        advance_id, outstanding = self.open.pop(v)
        self.c.ok("bank_a", "PayOffAdvance", advance_id, fp.payment(self.c, str(outstanding)))

    @rule(i=st.integers(0, len(VINS) - 1))
    def transfer(self, i: int) -> None:
        """The ordinary title transfer: refused while the advance is open, never once it is paid."""
        v = VINS[i]
        self.n += 1
        transient, digest = owner(f"t{self.n}")
        body = {"new_owner_hash": digest, "reason": "sale"}
        if v in self.open:
            msg = self.c.fail("ta", "TransferTitle", v, body, transient=transient, status=409)
            assert "rule 'floor_plan'" in msg
            return
        self.c.ok("ta", "TransferTitle", v, body, transient=transient)
        self.owners[v] = digest

    @rule(days=st.integers(1, 120))
    def time_passes(self, days: int) -> None:
        self.c.advance(days=days)
        self.c.ok("bank_a", "CheckCurtailments", "FL1")

    @invariant()
    def exposure_within_the_limit_and_equal_to_open_advances(self) -> None:
        stock = self.c.ok("bank_a", "GetFloorPlanStock", "FL1")
        line = stock["line"]
        assert Decimal(line["outstanding"]) <= Decimal(line["limit"]) == LIMIT
        open_total = sum(
            (Decimal(a["outstanding"]) for a in stock["advances"] if a["status"] == "OPEN"), Decimal(0)
        )
        assert Decimal(line["outstanding"]) == open_total == self._exposure()
        assert line["open_advances"] == len(self.open)

    @invariant()
    def status_follows_the_advance_and_title_moves_only_after_payoff(self) -> None:
        for v in VINS:
            vehicle = self.c.ok("ta", "GetVehicle", v)
            assert (vehicle["status"] == "FLOOR_PLAN") == (v in self.open)
            # the title moved only by a paid-off sale or a transfer after payoff (the model's owners)
            assert vehicle["owner_hash"] == self.owners[v]
            if v in self.open:
                assert vehicle["owner_hash"] == self.financed_owner[v]


TestFloorPlanProperties = FloorPlanMachine.TestCase
TestFloorPlanProperties.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
