"""The owner's signing page (phone-sized): the owner opens the consent document they were given, picks
the key file of their own enrolment on their device, and the browser signs with WebCrypto. The key is
read by the page only; nothing but the signature ever leaves the device. A signed-in owner opens it with
``?consent=<id>`` from their page: the document comes from the ledger and the signature is sent from here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.i18n import pick_lang, translator
from app.web.owner_portal_pages import consent_for_signing
from app.web.pages import render

router = APIRouter(include_in_schema=False)

TERM_LABELS = {"consent": "consent", "vin": "vin", "kind": "kind", "grantee": "grantee", "expires": "expires"}


@router.get("/owner/sign", response_class=HTMLResponse, response_model=None)
async def owner_sign(request: Request, consent: str = "") -> Response:
    t = translator(pick_lang(request))
    labels = {name: t(key) for name, key in TERM_LABELS.items()}
    if not consent:
        return render(request, "owner_sign.html", consent=None, term_labels=labels)
    found = await consent_for_signing(request, consent)
    if isinstance(found, Response):
        return found
    return render(request, "owner_sign.html", term_labels=labels, **found)
