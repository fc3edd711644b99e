"""Errors that say which stage failed, with the gRPC status and each peer's own message.

The Gateway puts per-peer failures in the ``grpc-status-details-bin`` trailer: a
``google.rpc.Status`` whose details are ``gateway.ErrorDetail{address, msp_id, message}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.rpc import status_pb2

_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One endorsing or committing peer's failure, as the Gateway reported it."""

    address: str
    msp_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.address} ({self.msp_id}): {self.message}"


def decode_error_details(trailing_metadata: Iterable[Any] | None) -> list[ErrorDetail]:
    """Decode the ``gateway.ErrorDetail`` entries carried in a call's trailing metadata."""
    if not trailing_metadata:
        return []
    raw: bytes | None = None
    for item in trailing_metadata:
        key, value = item[0], item[1]
        if key == _DETAILS_KEY:
            raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
            break
    if raw is None:
        return []
    status = status_pb2.Status()
    try:
        status.ParseFromString(raw)
    except Exception:  # a malformed trailer must not hide the original error
        return []
    details: list[ErrorDetail] = []
    for any_detail in status.details:
        detail = gateway_pb2.ErrorDetail()
        if any_detail.Unpack(detail):
            details.append(ErrorDetail(detail.address, detail.msp_id, detail.message))
    return details


class GatewayError(Exception):
    """A failed Gateway or Deliver call: gRPC ``code``, server ``message`` and per-peer ``details``."""

    stage = "gateway"

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
        details: list[ErrorDetail] | None = None,
        cause: BaseException | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.details: list[ErrorDetail] = details or []
        self.cause = cause
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.stage} failed: {self.code.name}: {self.message}"
        if self.details:
            text += "; " + "; ".join(str(d) for d in self.details)
        return text

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError, **extra: Any) -> GatewayError:
        """Build from a ``grpc.RpcError`` (sync) or ``grpc.aio.AioRpcError`` (async)."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        metadata = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
        return cls(
            message or "",
            code=code or grpc.StatusCode.UNKNOWN,
            details=decode_error_details(metadata),
            cause=error,
            **extra,
        )


class EvaluateError(GatewayError):
    """Evaluating (querying) a transaction failed."""

    stage = "evaluate"


class TransactionError(GatewayError):
    """A failure tied to one transaction, whose ``transaction_id`` it carries."""

    def __init__(self, message: str, *, transaction_id: str, **kwargs: Any) -> None:
        self.transaction_id = transaction_id
        super().__init__(message, **kwargs)

    def _describe(self) -> str:
        return f"{super()._describe()} (tx {self.transaction_id})"


class EndorseError(TransactionError):
    """Endorsement failed: the proposal was not sent for ordering."""

    stage = "endorse"


class SubmitError(TransactionError):
    """Sending the endorsed transaction to the orderer failed: it may or may not be ordered."""

    stage = "submit"


class CommitStatusError(TransactionError):
    """Obtaining the commit status failed (e.g. deadline): the transaction may still commit."""

    stage = "commit status"


class ChaincodeEventsError(GatewayError):
    """The chaincode events stream failed."""

    stage = "chaincode events"


class BlockEventsError(GatewayError):
    """The Deliver (block events) stream failed or the peer answered a non-success status."""

    stage = "block events"


def validation_code_name(code: int) -> str:
    """Fabric's name for a transaction validation code (``VALID``, ``MVCC_READ_CONFLICT``...)."""
    try:
        return str(transaction_pb2.TxValidationCode.Name(code))
    except ValueError:
        return f"UNKNOWN_CODE_{code}"


class CommitError(Exception):
    """The transaction was ordered into a block but invalidated there (``code`` is not VALID)."""

    def __init__(self, transaction_id: str, code: int, block_number: int) -> None:
        self.transaction_id = transaction_id
        self.code = code
        self.code_name = validation_code_name(code)
        self.block_number = block_number
        super().__init__(
            f"commit failed: transaction {transaction_id} invalidated in block {block_number} "
            f"with validation code {self.code_name} ({code})"
        )
