"""app.services.qr: one verify use case for the API and the pages, with the vehicle's live status."""

from __future__ import annotations

import asyncio
from typing import Any

from app.services.qr import scanner_caller
from app.web import data
from tests.unit.api.builders import TA, Api, vin


def _web_verdict(api: Api, text: str) -> dict[str, Any]:
    state = api.client.app.state.gw  # type: ignore[attr-defined]
    return asyncio.run(data.verify_code(state, scanner_caller(state.settings.orgs), text))


def test_web_verify_carries_the_live_status_the_api_gives(api: Api) -> None:
    api.register(41)
    issued = api.ok(api.post(TA, f"/vehicles/{vin(41)}/qr"), 201)
    from_api = api.ok(api.client.post("/api/v1/qr/verify", json={"payload": issued["payload"]}))
    assert from_api["status"]["status"] == "REGISTERED"
    from_web = _web_verdict(api, issued["payload"])
    assert from_web["valid"] is True
    assert from_web.get("status", {}).get("status") == "REGISTERED"
    for verdict in (from_web, from_api):
        verdict["status"].pop("as_of")  # the status is read live: each read states its own time
    assert from_web == from_api
