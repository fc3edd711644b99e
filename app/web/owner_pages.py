"""The owner's signing page (phone-sized): the owner opens the consent document they were given, picks
the key file of their own enrolment on their device, and the browser signs with WebCrypto. The key is
read by the page only; nothing but the signature ever leaves the device."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/owner/sign", response_class=HTMLResponse)
async def owner_sign(request: Request) -> HTMLResponse:
    return render(request, "owner_sign.html")
