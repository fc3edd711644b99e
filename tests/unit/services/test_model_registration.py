"""Registering a promoted model version on chain: who may, idempotence, and the pending answer with
the exact command when the gateway cannot (no ledger, no bank model-administrator identity, refusal)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.ledger.port import Caller, ChaincodeRefused, LedgerError, TxResult
from app.services.model_registration import register_promoted
from app.valuation.chain_registration import chain_body
from app.valuation.registry import RegisteredModel

MODEL = RegisteredModel(
    "residual-value-banka",
    3,
    Path("/nonexistent"),
    {"model_id": "0123456789abcdef", "card": {"schema": "card", "profile": {"private": 1}, "metrics": {}}},
)
ADMIN = Caller(user_id="models1", msp_id="BankAMSP", attributes={"role": "model_admin"})


class Chain:
    """The two calls registration makes, on a list of registered versions."""

    def __init__(
        self, versions: list[dict[str, Any]] | None = None, refuse: LedgerError | None = None
    ) -> None:
        self.versions = versions or []
        self.refuse = refuse
        self.submitted: list[dict[str, Any]] = []

    async def evaluate(self, caller: Caller, function: str, args: list[str]) -> bytes:
        assert function == "GetModelVersions"
        return json.dumps(self.versions).encode()

    async def submit(self, caller: Caller, function: str, args: list[str], **_: Any) -> TxResult:
        assert function == "RegisterModelVersion"
        if self.refuse is not None:
            raise self.refuse
        body = json.loads(args[0])
        self.submitted.append(body)
        self.versions.append({**body, "registered_by": caller.msp_id, "tx_id": "tx1"})
        return TxResult("tx1", 7, "VALID", b"{}", datetime.now(UTC))


def _register(chain: Chain | None, caller: Caller | None = ADMIN) -> Any:
    return asyncio.run(register_promoted(chain, caller, MODEL, "http://gw.example"))  # type: ignore[arg-type]


def test_the_body_names_the_version_and_the_public_card_hash() -> None:
    body = chain_body(MODEL)
    assert (body["model_id"], body["model_version"]) == ("0123456789abcdef", "residual-value-banka@3")
    unprofiled = RegisteredModel(
        MODEL.name, 3, MODEL.path, {**MODEL.meta, "card": {"schema": "card", "metrics": {}}}
    )
    assert chain_body(unprofiled) == body  # the training profile stays private: not in the card hash


def test_registers_once_then_reports_already_registered() -> None:
    chain = Chain()
    first = _register(chain)
    assert (first.status, first.tx_id) == ("registered", "tx1") and len(chain.submitted) == 1
    again = _register(chain)
    assert again.status == "already_registered" and len(chain.submitted) == 1


def test_another_card_hash_on_chain_is_a_conflict_and_nothing_is_submitted() -> None:
    chain = Chain([{**chain_body(MODEL), "model_card_sha256": "ee" * 32, "registered_by": "BankAMSP"}])
    answer = _register(chain)
    assert answer.status == "conflict" and "ee" * 32 in answer.message and chain.submitted == []


def test_pending_with_the_exact_command_when_it_cannot_register() -> None:
    officer = Caller(user_id="loan1", msp_id="BankAMSP", attributes={"role": "loan_officer"})
    cases = [
        (None, ADMIN, "no ledger"),
        (Chain(), officer, "no bank model-administrator identity (loan1@BankAMSP"),
        (Chain(refuse=LedgerError("identity models1 is not enrolled", status=503)), ADMIN, "(503)"),
    ]
    for chain, caller, reason in cases:
        answer = _register(chain, caller)
        assert answer.status == "pending" and reason in answer.message, answer.message
        assert answer.command.startswith('curl -fsS -X POST "http://gw.example/api/v1/model-versions"')
        assert json.loads(answer.command.rsplit(" -d ", 1)[1].strip("'")) == chain_body(MODEL)


def test_a_registration_raced_by_another_replica_is_already_registered() -> None:
    chain = Chain(refuse=ChaincodeRefused("already registered (versions are immutable)", status=409))
    original = chain.evaluate
    calls = 0

    async def evaluate(caller: Caller, function: str, args: list[str]) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 2:  # the other replica's registration is there by the time we look again
            chain.versions = [{**chain_body(MODEL), "registered_by": "BankAMSP", "tx_id": "tx0"}]
        return await original(caller, function, args)

    chain.evaluate = evaluate  # type: ignore[method-assign]
    answer = _register(chain)
    assert (answer.status, answer.tx_id) == ("already_registered", "tx0")
