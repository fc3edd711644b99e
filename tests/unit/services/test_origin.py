"""app.services.origin over the ledger port's transaction_origin: who created a tx, in which block."""

from __future__ import annotations

import asyncio

from app.services.origin import OriginResolver
from tests.unit.api.builders import AUDITOR, BANK_A, REGULATOR, Api, vin
from tests.unit.api.test_web_security import _web_login


def test_the_embedded_ledger_names_each_transactions_creator_and_block(api: Api) -> None:
    registered = api.register(51)
    lien_id = api.mortgage(51, bank=BANK_A)
    lien_txs = [h["tx_id"] for h in api.ok(api.get(AUDITOR, f"/liens/{lien_id}/history"))]
    ledger = api.client.app.state.gw.ledger  # type: ignore[attr-defined]

    origin = asyncio.run(ledger.transaction_origin(registered["tx_id"]))
    assert origin is not None
    assert origin.creator_msp_id == "TrafficAuthorityMSP"
    assert origin.block_number == registered["block_number"]
    lien_creators = {asyncio.run(ledger.transaction_origin(tx)).creator_msp_id for tx in lien_txs}
    assert lien_creators == {"BankAMSP", "TrafficAuthorityMSP"}  # requested by the bank, recorded by TA
    assert asyncio.run(ledger.transaction_origin("f" * 64)) is None


def test_the_resolver_answers_per_transaction_and_unknown_is_none(api: Api) -> None:
    registered = api.register(52)
    resolver = OriginResolver(api.client.app.state.gw.ledger)  # type: ignore[attr-defined]

    async def both() -> tuple[str | None, str | None]:
        return await resolver.creator(registered["tx_id"]), await resolver.creator("0" * 64)

    assert asyncio.run(both()) == ("TrafficAuthorityMSP", None)


def test_the_timeline_page_names_the_org_of_each_event(api: Api) -> None:
    api.register(53)
    api.mortgage(53, bank=BANK_A)
    assert _web_login(api.client, REGULATOR).status_code == 303
    page = api.client.get(f"/vehicles/{vin(53)}/timeline")
    assert page.status_code == 200, page.text
    assert "TrafficAuthorityMSP" in page.text and "BankAMSP" in page.text
