"""The lien-law settings (TrafficAuthority admin): reserve share, lapse grace, maturity notice days.

Lien law itself is served where its resources are: enforcement, balances, payoff and lien maintenance
under ``/liens`` (``liens.py``); sale orders, holds, registration changes and brands under
``/vehicles`` (``vehicles.py``). Bodies are the contract's own request models
(``chaincode.mortgage.law_models``), so the gateway refuses exactly what the chaincode would.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CurrentUser, State
from app.api.models import TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from chaincode.mortgage.law_models import LawConfigIn
from chaincode.mortgage.models import Request

router = APIRouter(prefix="/lien-law-config", tags=["lien law"])


def _json(body: Request) -> str:
    return body.model_dump_json(exclude_none=True)


@router.put("", response_model=TxResponse, summary="Reserve share, lapse grace, notices (admin)")
async def set_law_config(body: LawConfigIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SetLawConfig", [_json(body)])


@router.get("", summary="Reserve share, lapse grace and maturity notice days")
async def get_law_config(state: State, user: CurrentUser) -> Any:
    return await evaluate(state, user.caller, "GetLawConfig")
