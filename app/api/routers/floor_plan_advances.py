"""Floor plan: advances per vehicle — finance a car in stock, curtailments, payoff, the retail sale."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from app.api.models import OwnerData, TxResponse
from app.api.writes import WriteCtx
from app.services.floorplan import as_json
from chaincode.mortgage.models import Vin
from chaincode.mortgage.models.fields import Currency, Identifier, Money, Request
from chaincode.mortgage.models.floorplan import AdvanceIn, ConsumerLienIn, PaymentIn

router = APIRouter(prefix="/floor-plan/advances", tags=["floor plan"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class RetailSaleBody(Request):
    """The retail sale as the API takes it: the buyer's data instead of its hash (hashed here with a
    fresh salt, sent in the transient map)."""

    vin: Vin
    sale_price: Money
    currency: Currency
    sale_document_id: Identifier
    payoff: PaymentIn
    buyer: OwnerData
    consumer_lien: ConsumerLienIn | None = None


@router.post("", status_code=201, response_model=TxResponse, summary="Finance a car in dealer stock")
async def finance_vehicle(body: AdvanceIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("FinanceVehicle", [as_json(body)], status_code=201)


@router.post("/{advance_id}/curtailments", response_model=TxResponse, summary="Record a curtailment")
async def record_curtailment(advance_id: IdPath, body: PaymentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordCurtailment", [advance_id, as_json(body)])


@router.post("/{advance_id}/payoff", response_model=TxResponse, summary="Pay the advance off (no sale)")
async def pay_off(advance_id: IdPath, body: PaymentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("PayOffAdvance", [advance_id, as_json(body)])


@router.post(
    "/{advance_id}/retail-sale",
    response_model=TxResponse,
    summary="Retail sale: payoff, lien release, title and the consumer lien in one transaction",
)
async def retail_sale(advance_id: IdPath, body: RetailSaleBody, w: WriteCtx):  # type: ignore[no-untyped-def]
    transient, buyer_hash = body.buyer.transient()
    sale = {
        "advance_id": advance_id,
        "sale_price": str(body.sale_price),
        "currency": body.currency,
        "buyer_owner_hash": buyer_hash,
        "sale_document_id": body.sale_document_id,
        "payoff": json.loads(as_json(body.payoff)),
    }
    if body.consumer_lien is not None:
        sale["consumer_lien"] = json.loads(as_json(body.consumer_lien))
    return await w.submit("RetailSale", [body.vin, json.dumps(sale)], transient=transient)
