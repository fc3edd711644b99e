"""Routes a transaction to a contract method: name lookup, argument parsing, result encoding.

One ``ContractRouter`` serves both hosts (the chaincode server and the in-process host), so a
contract answers identically on the peer and on the embedded ledger. Contract instances are shared
by concurrent transactions: keep per-transaction data in the Context, never on ``self``.
"""

from __future__ import annotations

import inspect
import json
import logging
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pydantic
import pydantic_core
from pydantic import BaseModel, TypeAdapter

from .contract import TX_ATTR, Context, Contract, TransactionSpec, to_pascal_case
from .errors import ContractError, PeerError
from .interfaces import ChaincodeResponse, ChaincodeStub

logger = logging.getLogger(__name__)

SYSTEM_CONTRACT = "org.hyperledger.fabric"
METADATA_FUNCTION = "GetMetadata"
OK = 200


def encode_result(value: Any) -> bytes:
    """str → UTF-8, bytes → raw, None → empty, else stable compact JSON with sorted keys."""
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, BaseModel):
        plain: Any = value.model_dump(mode="json")
    else:
        plain = pydantic_core.to_jsonable_python(value)
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _describe_validation_error(param: str, exc: pydantic.ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = err.get("msg", "invalid")
        problems.append(f"field '{loc}': {msg}" if loc else msg)
    return f"invalid argument '{param}': " + "; ".join(problems)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One transaction parameter and how its string argument becomes a Python value."""

    name: str
    annotation: Any
    mode: str  # "str" raw text, "bytes" raw bytes, "json" parsed and validated
    adapter: TypeAdapter[Any] | None
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def parse(self, raw: bytes) -> Any:
        if self.mode == "bytes":
            return raw
        if self.mode == "str":
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ContractError(f"invalid argument '{self.name}': not valid UTF-8", status=400) from exc
        assert self.adapter is not None
        # JSON numbers become Decimal before validation: pydantic's own JSON parser reads them as
        # floats, which would turn an amount of 12345678901234567.89 into 12345678901234568.
        try:
            value = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise ContractError(
                f"invalid argument '{self.name}': not valid JSON ({exc})", status=400
            ) from exc
        try:
            return self.adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            try:  # strict models accept JSON forms (e.g. ISO dates) only through validate_json
                return self.adapter.validate_json(raw)
            except pydantic.ValidationError:
                pass
            raise ContractError(_describe_validation_error(self.name, exc), status=400) from exc

    def schema(self) -> dict[str, Any]:
        if self.mode == "str":
            return {"type": "string"}
        if self.mode == "bytes":
            return {"type": "string", "format": "byte"}
        assert self.adapter is not None
        return self.adapter.json_schema(ref_template="#/components/schemas/{model}")


@dataclass(frozen=True, slots=True)
class Transaction:
    """A registered transaction: its name, kind, parameters and bound method."""

    contract: Contract
    name: str
    kind: str
    method: Callable[..., Any]
    parameters: tuple[Parameter, ...]
    returns: Any
    blocking: bool = False
    required: int = -1  # how many parameters have no default (counted once, not per call)

    def __post_init__(self) -> None:
        if self.required < 0:  # frozen: set once here
            object.__setattr__(self, "required", sum(1 for p in self.parameters if p.required))

    def parse_args(self, raw_args: Sequence[bytes], start: int = 0) -> list[Any]:
        """Parse ``raw_args[start:]`` (the peer's argument list is used in place, never copied)."""
        count = len(raw_args) - start
        required = self.required
        if not required <= count <= len(self.parameters):
            names = ", ".join(p.name for p in self.parameters) or "none"
            expected = (
                str(len(self.parameters))
                if required == len(self.parameters)
                else f"{required} to {len(self.parameters)}"
            )
            raise ContractError(
                f"function '{self.name}' expects {expected} argument(s) ({names}), got {count}",
                status=400,
            )
        params = self.parameters
        return [params[i].parse(raw_args[start + i]) for i in range(count)]


def _build_parameters(cls: type, method: Callable[..., Any], attr: str) -> tuple[tuple[Parameter, ...], Any]:
    sig = inspect.signature(method)
    params = list(sig.parameters.values())
    if len(params) < 1:
        raise TypeError(f"{cls.__name__}.{attr}: a transaction takes (self, ctx, ...) ")
    try:
        hints = typing.get_type_hints(method, include_extras=True)
    except Exception:
        # e.g. the ctx annotation names a class only imported locally: resolve the others one by one
        hints = {}
        func_globals = getattr(method, "__globals__", {})
        for p in [*params[1:], sig.return_annotation]:
            name, ann = (p.name, p.annotation) if isinstance(p, inspect.Parameter) else ("return", p)
            if ann is inspect.Parameter.empty:
                continue
            try:
                hints[name] = eval(ann, func_globals, dict(vars(cls))) if isinstance(ann, str) else ann
            except Exception as exc:
                raise TypeError(
                    f"{cls.__name__}.{attr}: cannot resolve the annotation of '{name}': {exc}"
                ) from exc
    result: list[Parameter] = []
    for p in params[1:]:  # params[0] is ctx (method is bound)
        if p.kind not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            raise TypeError(f"{cls.__name__}.{attr}: parameter '{p.name}' must be positional")
        ann = hints.get(p.name, str)
        if ann is str or ann is Any:
            result.append(Parameter(p.name, ann, "str", None, p.default))
        elif ann is bytes:
            result.append(Parameter(p.name, ann, "bytes", None, p.default))
        else:
            result.append(Parameter(p.name, ann, "json", TypeAdapter(ann), p.default))
    return tuple(result), hints.get("return", Any)


class ContractRouter:
    """Holds the contracts of one chaincode and answers invocations with a ChaincodeResponse."""

    def __init__(self, contracts: Iterable[Contract | type[Contract]], *, info: dict[str, Any] | None = None):
        self._contracts: dict[str, Contract] = {}
        self._transactions: dict[str, dict[str, Transaction]] = {}
        self._default: str | None = None
        self._blocking_names: set[bytes] = set()  # function names (as the first argument) run off the loop
        self._info = info or {}
        for item in contracts:
            self.register(item() if isinstance(item, type) else item)
        if self._default is None:
            raise ValueError("a chaincode needs at least one contract")

    def register(self, contract: Contract) -> None:
        if not isinstance(contract, Contract):
            raise TypeError(f"{contract!r} is not a Contract")
        cname = contract.contract_name()
        if cname in self._contracts or cname == SYSTEM_CONTRACT:
            raise ValueError(f"contract name '{cname}' is registered twice or reserved")
        txs: dict[str, Transaction] = {}
        cls = type(contract)
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            spec = getattr(fn, TX_ATTR, None)
            if not isinstance(spec, TransactionSpec):
                continue
            method = getattr(contract, attr)
            tx_name = spec.name or to_pascal_case(attr)
            if tx_name in txs:
                raise ValueError(f"contract '{cname}' defines transaction '{tx_name}' twice")
            params, returns = _build_parameters(cls, method, attr)
            txs[tx_name] = Transaction(contract, tx_name, spec.kind, method, params, returns, spec.blocking)
        self._contracts[cname] = contract
        self._transactions[cname] = txs
        if self._default is None:
            self._default = cname
        for tx_name, tx in txs.items():
            if tx.blocking:
                self._blocking_names.add(f"{cname}:{tx_name}".encode())
                if self._default == cname:
                    self._blocking_names.add(tx_name.encode())

    def is_blocking(self, args: Sequence[bytes]) -> bool:
        """Whether the invoked function was marked ``blocking=True`` (runs on a thread, not the loop)."""
        return bool(self._blocking_names) and len(args) > 0 and args[0] in self._blocking_names

    @property
    def default_contract(self) -> str:
        assert self._default is not None
        return self._default

    def contract_names(self) -> list[str]:
        return list(self._contracts)

    def transactions(self, contract_name: str | None = None) -> dict[str, Transaction]:
        return dict(self._transactions[contract_name or self.default_contract])

    def resolve(self, function: str) -> tuple[str, str]:
        """Split ``"ns:Fn"`` at the last colon; no colon → the default contract."""
        ns, sep, fn = function.rpartition(":")
        if not sep:
            return self.default_contract, function
        return ns, fn

    # ------------------------------------------------------------------------------------
    def invoke(self, stub: ChaincodeStub) -> ChaincodeResponse:
        """Run one transaction; never raises — every failure becomes an error response."""
        facts = getattr(stub, "facts", None)
        args: Sequence[bytes] = facts.args if facts is not None else stub.get_args()
        if not args:
            return ChaincodeResponse(400, "no function name given (the first argument names the function)")
        try:
            function = args[0].decode("utf-8")
        except UnicodeDecodeError:
            return ChaincodeResponse(400, "function name is not valid UTF-8")
        tx_id = stub.get_tx_id()
        logger.debug("invoke %s tx=%s", function, tx_id)
        try:
            payload = self._call(stub, function, args)
        except ContractError as exc:
            logger.info("refused %s tx=%s status=%d", function, tx_id, exc.status)
            logger.debug("refused %s tx=%s: %s", function, tx_id, exc.message)
            return ChaincodeResponse(exc.status, exc.message)
        except PeerError as exc:
            logger.warning("peer refused a %s request in %s tx=%s", exc.request, function, tx_id)
            return ChaincodeResponse(500, str(exc))
        except Exception as exc:
            logger.warning("%s in %s tx=%s", type(exc).__name__, function, tx_id)
            logger.debug("failure detail", exc_info=True)
            return ChaincodeResponse(500, str(exc) or type(exc).__name__)
        return ChaincodeResponse(OK, "", payload)

    def _call(self, stub: ChaincodeStub, function: str, args: Sequence[bytes]) -> bytes:
        """Run ``function`` with ``args[1:]`` (args[0] is the function name)."""
        ns, fn = self.resolve(function)
        if ns == SYSTEM_CONTRACT:
            if fn == METADATA_FUNCTION:
                return encode_result(self.metadata())
            raise ContractError(f"function '{fn}' not found in contract '{ns}'", status=400)
        contract = self._contracts.get(ns)
        if contract is None:
            raise ContractError(f"contract '{ns}' not found", status=400)
        ctx: Context = contract.create_context(stub)
        tx = self._transactions[ns].get(fn)
        if tx is None:
            return encode_result(contract.unknown_transaction(ctx))
        values = tx.parse_args(args, 1)
        contract.before_transaction(ctx)
        result = tx.method(ctx, *values)
        contract.after_transaction(ctx, result)
        return encode_result(result)

    # ------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Contract metadata in fabric-contract-api's shape (contracts, transactions, schemas)."""
        schemas: dict[str, Any] = {}

        def lift(schema: dict[str, Any]) -> dict[str, Any]:
            defs = schema.pop("$defs", {})
            schemas.update(defs)
            return schema

        contracts: dict[str, Any] = {}
        for cname, contract in self._contracts.items():
            txs = []
            for tx in sorted(self._transactions[cname].values(), key=lambda t: t.name):
                entry: dict[str, Any] = {
                    "name": tx.name,
                    "tag": [tx.kind],
                    "parameters": [
                        {"name": p.name, "required": p.required, "schema": lift(p.schema())}
                        for p in tx.parameters
                    ],
                }
                if tx.returns not in (None, type(None), Any):
                    try:
                        entry["returns"] = lift(
                            TypeAdapter(tx.returns).json_schema(ref_template="#/components/schemas/{model}")
                        )
                    except Exception:  # a return type pydantic cannot describe
                        entry["returns"] = {}
                txs.append(entry)
            contracts[cname] = {
                "name": cname,
                "default": cname == self._default,
                "info": {"title": cname, "version": "", **type(contract).info},
                "transactions": txs,
            }
        return {
            "$schema": "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json",
            "info": {"title": "", "version": "", **self._info},
            "contracts": contracts,
            "components": {"schemas": schemas},
        }
