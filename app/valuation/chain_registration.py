"""A promoted model version as the mortgage contract registers it (``RegisterModelVersion``): the
version's model id, its reference (``name@version``, what valuations cite as ``model_version``) and
the sha256 of its model card — the very bytes of the ``model-card.json`` the report writes, so anyone
holding the card can check it against the chain. Valuations citing a version are refused until it is
registered; when this process cannot register it, :func:`pending_command` is the exact call to make.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.valuation.canonical import sha256_hex
from app.valuation.registry import RegisteredModel


def card_document(registered: RegisteredModel) -> dict[str, Any]:
    """The model card a version publishes: its registered card (without the training-data profile,
    which stays private to the bank) with the version's id and reference."""
    card = {**registered.meta["card"], "model_id": registered.model_id, "ref": registered.ref}
    card.pop("profile", None)
    return card


def card_bytes(registered: RegisteredModel) -> bytes:
    """``model-card.json`` as written next to the report."""
    return json.dumps(card_document(registered), indent=2, sort_keys=True).encode("utf-8")


def chain_body(registered: RegisteredModel) -> dict[str, str]:
    """The ``RegisterModelVersion`` request (``POST /api/v1/model-versions``) of a version."""
    return {
        "model_id": registered.model_id,
        "model_version": registered.ref,
        "model_card_sha256": sha256_hex(card_bytes(registered)),
    }


def pending_command(body: dict[str, str], gateway_url: str | None = None) -> str:
    """The exact call that registers the version, for the bank's model administrator to run."""
    url = (gateway_url or "${MLEDGER_GATEWAY_URL:-http://127.0.0.1:8000}").rstrip("/")
    return (
        f'curl -fsS -X POST "{url}/api/v1/model-versions" -H "Authorization: Bearer $MODEL_ADMIN_TOKEN" '
        f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body, sort_keys=True))}"
    )


class ChainRegistration(BaseModel):
    """What became of a promoted version on chain."""

    status: Literal["registered", "already_registered", "pending", "conflict"] = Field(
        description="registered now; already registered with the same card hash; pending (this gateway "
        "could not register it: run `command`); conflict (registered with another card hash)"
    )
    model_id: str
    model_version: str
    model_card_sha256: str
    tx_id: str | None = None
    message: str
    command: str | None = Field(default=None, description="the exact call that registers it (pending)")


def pending(body: dict[str, str], reason: str, gateway_url: str | None = None) -> ChainRegistration:
    """The promotion stands off chain; registration waits for the bank's model administrator."""
    return ChainRegistration(
        status="pending",
        **body,
        message=f"on-chain registration pending: {reason}; valuations citing {body['model_version']} "
        "are refused until a bank's model administrator registers it",
        command=pending_command(body, gateway_url),
    )
