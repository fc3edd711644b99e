"""The Mortgage-Asset contract: one registered contract composed of a module per aggregate.

Interface: docs/mortgage-chaincode.md. Access: :mod:`chaincode.mortgage.access`, checked in
``create_context`` so a refused caller learns nothing from argument errors. Each aggregate
(:mod:`.vehicles`, :mod:`.liens`, :mod:`.insurance`, :mod:`.records`, :mod:`.valuations`,
:mod:`.documents`, :mod:`.qr`, :mod:`.administration`) and each lien-law concern (:mod:`.holds`,
:mod:`.enforcement`, :mod:`.payoff`, :mod:`.lien_maintenance`, :mod:`.alerts`) and dealer floor-plan
finance (:mod:`.floorplan`, :mod:`.floorcheck`, :mod:`.floorplan_portfolio`) is a mixin on the shared
load/check/save steps of :mod:`.support`. Time is the transaction timestamp; nothing reads a clock or
draws random numbers, so every endorsing peer computes the same write set.
"""

from __future__ import annotations

from typing import Any, ClassVar

from chaincode.runtime.contract import Contract, to_pascal_case
from chaincode.runtime.errors import ContractError
from chaincode.runtime.interfaces import ChaincodeStub

from . import access
from .administration import AdministrationTransactions
from .alerts import AlertTransactions
from .certificates import CertificateTransactions
from .context import MortgageContext
from .documents import DocumentTransactions
from .enforcement import EnforcementTransactions
from .floorcheck import FloorCheckTransactions
from .floorplan import FloorPlanTransactions
from .floorplan_portfolio import FloorPlanPortfolioTransactions
from .holds import HoldTransactions
from .insurance import InsuranceTransactions
from .lien_maintenance import MaintenanceTransactions
from .liens import LienTransactions
from .payoff import PayoffTransactions
from .qr import QrTransactions
from .records import RecordTransactions
from .support import BASE_KEY_POLICY
from .valuations import ValuationTransactions
from .vehicles import VehicleTransactions


class MortgageContract(
    VehicleTransactions,
    HoldTransactions,
    LienTransactions,
    EnforcementTransactions,
    PayoffTransactions,
    MaintenanceTransactions,
    InsuranceTransactions,
    RecordTransactions,
    ValuationTransactions,
    DocumentTransactions,
    QrTransactions,
    AdministrationTransactions,
    AlertTransactions,
    FloorPlanTransactions,
    FloorCheckTransactions,
    FloorPlanPortfolioTransactions,
    CertificateTransactions,  # with the owners' accounts and consents it builds on
    Contract,
):
    """Vehicle-collateral ledger: the vehicle office, banks, insurer, dealers and the regulator.

    Registered under its class name (``MortgageContract``), the chaincode's default contract.
    """

    info: ClassVar[dict[str, Any]] = {"title": "Mortgage-Asset chaincode", "version": "1.0.0"}

    def create_context(self, stub: ChaincodeStub) -> MortgageContext:
        """Resolve the caller and check the access table before any argument is parsed."""
        ctx = MortgageContext(stub)
        function = stub.get_function_and_parameters()[0].rpartition(":")[2]
        if function in access.ACCESS or function in _TRANSACTIONS:
            access.check_access(function, ctx.msp_id, ctx.role)
        return ctx


#: Every transaction name of the contract (for the deny-by-default access check and the tests).
_TRANSACTIONS: frozenset[str] = frozenset(
    getattr(MortgageContract, attr).__chaincode_transaction__.name or to_pascal_case(attr)
    for attr in dir(MortgageContract)
    if hasattr(getattr(MortgageContract, attr, None), "__chaincode_transaction__")
)

__all__ = ["BASE_KEY_POLICY", "ContractError", "MortgageContext", "MortgageContract"]
