"""What the lien-law desks (the vehicle desk, the lien desk) share: who may make an act (the contract's
access table), the writer check of an act's form, the form's fields through the contract's request
model, and the contract's answer: the result, or the refusal as the API gives it (message, and the
field and reason when one field is to blame) for the page to show beside the kept input."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from app.api.deps import AuthUser
from app.api.reads import evaluate
from app.api.writes import WriteContext
from app.ledger.port import LedgerError
from app.services import lien_law
from app.services.lien_law import ChaincodeCall
from app.web.pages import error_page, form_writer, state_of
from chaincode.mortgage.access import ACCESS
from chaincode.mortgage.models import Request as ContractRequest

ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
M = TypeVar("M", bound=BaseModel)


@dataclass
class Refusal:
    """Why nothing was written: the status, the message and the fields to blame."""

    status: int
    message: str
    details: list[dict[str, str]] = field(default_factory=list)


def can(request: Request, user: AuthUser, function: str) -> bool:
    """Whether the page offers this act's form to the user (a read-only gateway offers none)."""
    if state_of(request).settings.read_only:
        return False
    return lien_law.may(function, user.user.msp_id, user.role.value)


def act_writer(request: Request, csrf: str, function: str) -> AuthUser | Response:
    """The signed-in caller of an act's form, or the page to answer instead: session, CSRF and the
    read-only check first, then the contract's access rule for ``function`` (403 naming the rule)."""
    user = form_writer(request, csrf)
    if isinstance(user, Response):
        return user
    if not lien_law.may(function, user.user.msp_id, user.role.value):
        rule = ACCESS[function]
        return error_page(
            request,
            403,
            f"access denied by rule '{rule.name}' ({rule.describe()}): {function} is not for "
            f"{user.user.msp_id} role={user.role.value}",
        )
    return user


async def form_values(request: Request) -> dict[str, str]:
    """The posted text fields, trimmed (files are not part of these forms)."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def build(model: type[M], values: dict[str, Any]) -> M | Refusal:
    """The contract's request model from the form's non-empty fields, or a 400 naming the field."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v not in ("", None)})
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]) or "form", "reason": str(e["msg"])}
            for e in exc.errors()
        ]
        first = details[0]
        return Refusal(400, f"{first['field']}: {first['reason']}", details)


async def submit(request: Request, user: AuthUser, call: ChaincodeCall) -> Any:
    """Submit as the user through the API's write path; the chaincode's result, or a Refusal."""
    ctx = WriteContext(state_of(request), user, None, user.user.qualified_name)
    response = await ctx.submit(call.function, call.args, transient=call.transient)
    body = _json(response)
    if response.status_code < 300:
        return body.get("result") if isinstance(body, dict) else None
    error = body.get("error", {}) if isinstance(body, dict) else {}
    details = [d for d in error.get("details", []) if isinstance(d, dict) and d.get("field")]
    return Refusal(
        response.status_code,
        str(error.get("message") or f"HTTP {response.status_code}"),
        [{"field": str(d["field"]), "reason": str(d.get("reason", ""))} for d in details],
    )


def _json(response: Response) -> Any:
    try:
        return json.loads(bytes(response.body))
    except ValueError:
        return None


async def read_if(request: Request, user: AuthUser, function: str, *args: str) -> Any:
    """What the user may read with ``function``, or None when its rule or an object rule refuses (the
    page then leaves that part out); other ledger failures propagate to the error page."""
    if not lien_law.may(function, user.user.msp_id, user.role.value):
        return None
    try:
        return await evaluate(state_of(request), user.caller, function, *args)
    except LedgerError as exc:
        if exc.status in (403, 404):
            return None
        raise


def call_of(
    function: str, model: type[ContractRequest], values: dict[str, str], *leading: str
) -> ChaincodeCall | Refusal:
    """``function(*leading, <model as JSON>)`` from the form's values, or the 400 naming the field."""
    body = build(model, values)
    return body if isinstance(body, Refusal) else ChaincodeCall(function, [*leading, body.chaincode_json()])
