"""Registering a promoted valuation model version on chain, as the promotion's last step.

The gateway registers it through the bank's model-administrator identity (the promoting user, a
``model_admin`` of a bank this gateway serves): idempotently — a version already registered with the
same model card hash is fine, one registered with another hash is reported as a conflict. When there is
no such identity or the ledger refuses, the promotion still stands off chain and the answer says the
registration is pending, with the exact command to make it.
"""

from __future__ import annotations

import json
import logging

from app.ledger.port import Caller, LedgerError, LedgerPort
from app.users.roles import BANKS, Role
from app.valuation.chain_registration import ChainRegistration, chain_body, pending
from app.valuation.registry import RegisteredModel

log = logging.getLogger(__name__)

REGISTER = "RegisterModelVersion"


async def register_promoted(
    ledger: LedgerPort | None,
    caller: Caller | None,
    registered: RegisteredModel,
    gateway_url: str | None = None,
) -> ChainRegistration:
    """Register ``registered`` (just promoted) on chain as ``caller``; never raises for the ledger."""
    body = chain_body(registered)
    if ledger is None:
        return pending(
            body, "this process has no ledger (run the promotion through the bank's gateway)", gateway_url
        )
    if (
        caller is None
        or caller.msp_id not in BANKS
        or caller.attributes.get("role") != Role.model_admin.value
    ):
        who = "nobody" if caller is None else f"{caller.user_id}@{caller.msp_id}"
        return pending(body, f"no bank model-administrator identity ({who} promoted)", gateway_url)
    try:
        known = await _registered(ledger, caller, body)
        if known is not None:
            return known
        result = await ledger.submit(caller, REGISTER, [json.dumps(body, sort_keys=True)])
    except LedgerError as exc:
        if exc.status == 409:  # registered meanwhile (another replica, a retry): read what is there
            again = await _registered(ledger, caller, body)
            if again is not None:
                return again
        log.warning("model %s not registered on chain: %s", body["model_version"], exc.message)
        return pending(body, f"the ledger refused ({exc.status}): {exc.message}", gateway_url)
    log.info("model %s registered on chain (tx %s)", body["model_version"], result.tx_id)
    return ChainRegistration(
        status="registered", **body, tx_id=result.tx_id, message=f"registered on chain by {caller.msp_id}"
    )


async def _registered(ledger: LedgerPort, caller: Caller, body: dict[str, str]) -> ChainRegistration | None:
    """The version's registration when it is on chain already (same or another card hash)."""
    versions = json.loads(await ledger.evaluate(caller, "GetModelVersions", []) or b"[]")
    for entry in versions:
        if entry.get("model_id") == body["model_id"] and entry.get("model_version") == body["model_version"]:
            same = entry.get("model_card_sha256") == body["model_card_sha256"]
            return ChainRegistration(
                status="already_registered" if same else "conflict",
                **body,
                tx_id=entry.get("tx_id"),
                message=(
                    f"already registered on chain by {entry.get('registered_by')}"
                    if same
                    else f"registered on chain with another model card hash {entry.get('model_card_sha256')}"
                ),
            )
    return None
