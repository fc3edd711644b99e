"""The contract API: what a chaincode author writes against (like fabric-contract-api).

    class VehicleContract(Contract):
        name = "vehicle"                       # "" → addressed by the class name; first registered is default

        @submit
        def register_vehicle(self, ctx: Context, vin: str, year: int, spec: VehicleSpec) -> Vehicle: ...

        @evaluate(name="ReadVehicle")
        def read(self, ctx: Context, vin: str) -> Vehicle: ...

A transaction is invoked as ``"<contract name>:<Function>"`` or ``"<Function>"`` for the default
contract. Each argument arrives as one string: ``str`` parameters are taken raw, ``bytes`` raw, every
other annotated type is parsed from JSON and validated by pydantic at the boundary (a failure is a 400
naming the parameter and field). Return values: str → UTF-8, bytes → raw, None → empty, anything else
→ stable JSON (sorted keys, compact). A ``ContractError`` becomes its status and message; any other
exception a 500 with its message. See :mod:`chaincode.runtime.dispatch` for the router.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar, Literal, TypeVar, overload

from .errors import (
    BadRequestError,
    ConflictError,
    ContractError,
    ForbiddenError,
    NotFoundError,
    PeerError,
)
from .identity import ClientIdentity
from .interfaces import ChaincodeStub
from .policy import KeyEndorsementPolicy, RoleType

__all__ = [
    "BadRequestError",
    "ClientIdentity",
    "ConflictError",
    "Context",
    "Contract",
    "ContractError",
    "ForbiddenError",
    "KeyEndorsementPolicy",
    "NotFoundError",
    "PeerError",
    "RoleType",
    "evaluate",
    "submit",
    "to_pascal_case",
]

TX_ATTR = "__chaincode_transaction__"
F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """One transaction's context: the stub, the submitter and the transaction facts."""

    def __init__(self, stub: ChaincodeStub) -> None:
        self.stub = stub

    @cached_property
    def client_identity(self) -> ClientIdentity:
        return ClientIdentity(self.stub.get_creator())

    @property
    def tx_id(self) -> str:
        return self.stub.get_tx_id()

    @property
    def channel_id(self) -> str:
        return self.stub.get_channel_id()

    @property
    def tx_timestamp(self) -> datetime:
        """The transaction time (UTC) from the proposal: the only clock a contract may use."""
        return self.stub.get_tx_timestamp()


class TransactionSpec:
    """What the decorators record on a method: its transaction name and kind."""

    __slots__ = ("blocking", "kind", "name")

    def __init__(self, kind: Literal["submit", "evaluate"], name: str | None, blocking: bool = False) -> None:
        self.kind = kind
        self.name = name
        self.blocking = blocking


def to_pascal_case(name: str) -> str:
    """``register_vehicle`` → ``RegisterVehicle`` (already-Pascal names stay as they are)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _decorator(kind: Literal["submit", "evaluate"]) -> Any:
    @overload
    def deco(fn: F, /) -> F: ...
    @overload
    def deco(*, name: str | None = None, blocking: bool = False) -> Callable[[F], F]: ...

    def deco(fn: Any = None, /, *, name: str | None = None, blocking: bool = False) -> Any:
        def mark(f: F) -> F:
            if not callable(f):
                raise TypeError(f"@{kind} must decorate a method")
            setattr(f, TX_ATTR, TransactionSpec(kind, name, blocking))
            return f

        if fn is None:
            return mark
        return mark(fn)

    deco.__name__ = kind
    deco.__doc__ = (
        f'Mark a contract method as a {kind} transaction; ``@{kind}`` or ``@{kind}(name="X")``. '
        "``blocking=True``: CPU-heavy code, run on a thread of the server's small pool so it never "
        "stalls the transactions sharing its stream (the others run on the stream's event loop)."
    )
    return deco


submit = _decorator("submit")
evaluate = _decorator("evaluate")


class Contract:
    """Base class of a contract; subclass it and decorate transaction methods.

    Hooks (optional): ``before_transaction(ctx)`` runs before every transaction of this contract,
    ``after_transaction(ctx, result)`` after a successful one, ``unknown_transaction(ctx)`` when the
    function name is not found (default: 400 naming the function). ``create_context(stub)`` may return
    a Context subclass.
    """

    name: ClassVar[str] = ""
    #: Free-form info for GetMetadata (title, version, description...).
    info: ClassVar[dict[str, Any]] = {}

    @classmethod
    def contract_name(cls) -> str:
        return cls.name or cls.__name__

    def create_context(self, stub: ChaincodeStub) -> Context:
        return Context(stub)

    def before_transaction(self, ctx: Context) -> None:
        """Runs before each transaction of this contract; raise to refuse."""

    def after_transaction(self, ctx: Context, result: Any) -> None:
        """Runs after each successful transaction of this contract."""

    def unknown_transaction(self, ctx: Context) -> Any:
        function, _ = ctx.stub.get_function_and_parameters()
        raise ContractError(
            f"function '{function}' not found in contract '{self.contract_name()}'", status=400
        )
