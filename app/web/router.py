"""The web pages, mounted at the root of the gateway: passport (public), scan, login, timeline,
lender, auditor (with CSV) and regulator views. Server-rendered Jinja2, a few lines of JS for the camera.

Reads run as the logged-in user (or, for the public passport, as the gateway's scanner identity),
so the chaincode's access rules decide what each page may show. One module per page group; this one
holds the static files, home and login, and includes the others."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from app.api.errors import ApiError
from app.web import (
    certificate_pages,
    floorplan_pages,
    lender_pages,
    lien_desk,
    oidc_pages,
    oversight_pages,
    owner_pages,
    owner_portal_pages,
    passport_pages,
    vehicle_desk,
    vehicle_pages,
)
from app.web.pages import (
    HERE,
    csrf_refused,
    home_for,
    render,
    state_of,
)
from app.web.session import (
    csrf_ok,
    end_session,
    login,
    set_session,
    user_for_token,
)

router = APIRouter(include_in_schema=False)


STATIC_FILES = {
    "style.css": "text/css",
    "scan.js": "text/javascript",
    "owner-sign.js": "text/javascript",
    "owner-crypto.js": "text/javascript",
    "owner-signin.js": "text/javascript",
}


# --- static, home, language, login ---------------------------------------------------------------


@router.get("/web/static/{name}")
async def static(name: str) -> Response:
    media = STATIC_FILES.get(name)
    if media is None:
        return Response(status_code=404)
    return FileResponse(HERE / "static" / name, media_type=media, headers={"Cache-Control": "max-age=300"})


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "") -> HTMLResponse:
    return render(request, "login.html", next=next, failed=False, oidc_login=oidc_login_offered(request))


def oidc_login_offered(request: Request) -> bool:
    """Whether the login page offers sign-on through the bank's identity provider."""
    return bool(state_of(request).settings.oidc_issuer and state_of(request).settings.oidc_client_id)


def _safe_next(target: str) -> str | None:
    return target if target.startswith("/") and not target.startswith("//") else None


@router.post("/login", response_model=None)
async def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    state = state_of(request)
    if not csrf_ok(state, request, csrf):
        return csrf_refused(request)
    try:
        token = await login(state, request, username, password)
    except ApiError as exc:  # 429: locked out for a while
        response = render(request, "login.html", status_code=exc.status, next=next, failed=False, locked=True)
        response.headers.update(exc.headers or {})
        return response
    if token is None:
        return render(request, "login.html", status_code=401, next=next, failed=True)
    user = user_for_token(state, token)
    target = _safe_next(next) or (home_for(user) if user else "/")
    redirect = RedirectResponse(target, status_code=303)
    set_session(redirect, state, request, token)
    return redirect


@router.post("/logout", response_model=None)
async def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    state = state_of(request)
    if not csrf_ok(state, request, csrf):
        return csrf_refused(request)
    response = RedirectResponse("/", status_code=303)
    end_session(state, request, response)
    return response


for group in (
    passport_pages,
    vehicle_pages,
    lender_pages,
    oversight_pages,
    floorplan_pages,
    owner_pages,
    owner_portal_pages,
    certificate_pages,
    oidc_pages,
    vehicle_desk,
    lien_desk,
):
    router.include_router(group.router)
router.include_router(certificate_pages.router)  # search certificates (issue 16)
