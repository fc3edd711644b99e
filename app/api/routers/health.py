"""Liveness, readiness (ledger peers/orderers through the gateway, IPFS) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from app.api.deps import State
from app.api.metrics_access import require_metrics_access

router = APIRouter(tags=["health"])

_OK = {"ok", "up", "ready", "serving", "healthy", "valid"}
_BAD_PREFIXES = ("down", "error", "unreachable", "unavailable", "closed", "stopped", "failed")


def _is_down(key: str, value: object) -> bool:
    """A component is down when its status says so; descriptive fields (height, channel) are not statuses."""
    text = str(value).strip().lower()
    if text.startswith(_BAD_PREFIXES):
        return True
    is_status = key.rsplit(".", 1)[-1] in {"status", "peer", "orderer", "gateway", "ipfs"}
    return is_status and text.split(":")[0] not in _OK


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """On the event loop itself (no worker thread): it answers exactly when the loop is free."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: ledger (peer, orderer) and document store reachable")
async def readyz(state: State) -> JSONResponse:
    components: dict[str, Any] = {}
    try:
        ledger = await asyncio.wait_for(state.ledger.health(), timeout=5)
        # statuses only: no file paths on an unauthenticated endpoint
        components.update({f"ledger.{k}": v for k, v in ledger.items() if not k.endswith(("dir", "path"))})
    except Exception as exc:  # any failure means not ready; say what failed
        components["ledger"] = f"down: {exc}"
    if state.documents is not None:
        components["ipfs"] = await state.documents.health()
    # the read model and the notifier lag or stall without making the gateway unready (writes and
    # lookups still work), but say how far behind they are and why
    for name in ("readmodel", "notifier"):
        follower = getattr(state, name, None)
        if follower is not None:
            with contextlib.suppress(Exception):
                components.update({f"{name}.{k}": v for k, v in (await follower.health()).items()})
    ready = not any(_is_down(key, value) for key, value in components.items())
    body = {"status": "ready" if ready else "not_ready", "backend": state.settings.backend, **components}
    return JSONResponse(status_code=200 if ready else 503, content=body)


@router.get(
    "/metrics",
    summary="Prometheus metrics (scrape token or an admin/auditor login)",
    response_class=Response,
    dependencies=[Depends(require_metrics_access)],
)
def metrics(state: State) -> Response:
    return state.metrics.render()
