"""Browser test fixtures: a real gateway (uvicorn, embedded ledger, demo data) and headless Chromium.

The gateway runs in a thread on a free loopback port with its own temporary data folder. Chromium is
Debian's (/usr/bin/chromium, installed by scripts/install-browser), driven by Playwright's sync API.
Screenshots go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image, ImageFilter
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from app.demo.client import DemoClient
from app.demo.data import VEHICLES, demo_vin
from app.demo.lifecycle import lifecycle
from app.main import create_app
from app.settings import Settings
from app.users.provision import demo_password

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

FREE = VEHICLES[0]  # insured, no lien
MORTGAGED = VEHICLES[1]  # valued and mortgaged to BankA by the demo seed
RELEASE_VIN = demo_vin(300001, "LGW", "EF4B2")  # a lien the lender test releases
RELEASE_LIEN = "L-WEB-REL"
LIFECYCLE_SERIAL = 777001
LIFECYCLE_VIN = demo_vin(LIFECYCLE_SERIAL, "LHG", "CV1F3")  # app.demo.lifecycle's VIN for this serial


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def password_of(qualified: str) -> str:
    name, _, msp = qualified.partition("@")
    return demo_password(msp, name)


@dataclass
class Gateway:
    base_url: str
    http: httpx.Client
    qr_urls: dict[str, str] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    ledger_dir: Path | None = None  # the embedded ledger (its CA issues owner certificates in tests)
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, qualified: str) -> str:
        if qualified not in self._tokens:
            r = self.http.post(
                "/api/v1/auth/token", data={"username": qualified, "password": password_of(qualified)}
            )
            r.raise_for_status()
            self._tokens[qualified] = r.json()["access_token"]
        return self._tokens[qualified]

    def api(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        r = self.http.request(method, "/api/v1" + path, headers=headers, **kwargs)
        assert r.status_code < 300, f"{user} {method} {path}: {r.status_code} {r.text[:300]}"
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.content


def photo_of(png: bytes) -> bytes:
    """A 'camera photo' of a printed code: on a textured background, tilted, slightly blurred, JPEG."""
    code = Image.open(io.BytesIO(png)).convert("RGB").rotate(8, expand=True, fillcolor="white")
    photo = Image.new("RGB", (1200, 900), (120, 128, 110))
    for i in range(0, 1200, 40):
        photo.paste((100 + i % 90, 110, 95 + i % 60), (i, 0, i + 20, 900))
    photo.paste(code, (300, 180))
    out = io.BytesIO()
    photo.filter(ImageFilter.GaussianBlur(0.8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _prepare(gw: Gateway) -> None:
    """Codes for the free and the mortgaged car, and one recorded lien the lender test releases."""
    ta, bank = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP"
    for vehicle in (FREE, MORTGAGED):
        issued = gw.api(ta, "POST", f"/vehicles/{vehicle.vin}/qr")
        gw.qr_urls[vehicle.vin] = issued["payload"]
        gw.photos[vehicle.vin] = photo_of(gw.api(ta, "GET", f"/vehicles/{vehicle.vin}/qr.png"))
    today = date.today()
    released: dict[str, object] = {
        "vin": RELEASE_VIN, "plate": "京W30001", "make": "Geely", "model": "Xingyue", "trim": "L 2.0T",
        "year": 2023, "configuration": {}, "registration_date": "2023-04-01", "new_price": "180000.00",
        "currency": "CNY", "region": "Beijing",
    }  # fmt: skip
    owner = {"name": "Test Owner", "id_number": "110101199001011111"}
    gw.api(ta, "POST", "/vehicles", json={"vehicle": released, "owner": owner})
    files = {"file": ("consent.txt", b"owner consent for the web test", "text/plain")}
    data = {"doc_type": "owner_consent", "document_id": "DOC-WEB-CONSENT", "vin": RELEASE_VIN}
    gw.api(bank, "POST", "/documents", data=data, files=files)
    gw.api(bank, "POST", "/liens", json={
        "lien_id": RELEASE_LIEN, "vin": RELEASE_VIN, "loan_number": "BA-WEB-1",
        "mortgage_contract_number": "MC-WEB-1", "secured_amount": "90000.00", "currency": "CNY",
        "maturity_date": (today + timedelta(days=900)).isoformat(),
        "consent_document_id": "DOC-WEB-CONSENT",
    })  # fmt: skip
    # a bank values a vehicle once it has requested a lien on it (chaincode rule valuer_lien)
    gw.api(bank, "POST", "/valuation-records", json={
        "valuation_id": "VAL-WEB-1", "vin": RELEASE_VIN, "value": "150000.00", "currency": "CNY",
        "interval_low": "140000.00", "interval_high": "160000.00", "coverage": 0.9,
        "model_id": "demo-hedonic", "model_version": "1.0.0", "inputs_hash": "1" * 64,
        "valuer": "BankA collateral desk",
    })  # fmt: skip
    gw.api(ta, "POST", f"/liens/{RELEASE_LIEN}/record")
    # in a thread of its own: Playwright's sync API may already run an event loop in this one
    worker = threading.Thread(target=asyncio.run, args=(_whole_lifecycle(gw.base_url),))
    worker.start()
    worker.join(timeout=300)
    lien = gw.api("auditor1@TrafficAuthorityMSP", "GET", f"/liens/L-{LIFECYCLE_SERIAL:06d}-A")
    assert lien["status"] == "DISCHARGED", f"the demo lifecycle did not reach disposal: {lien}"


async def _whole_lifecycle(base_url: str) -> None:
    """The demo's scripted loan, register → disposal, through the live gateway's HTTP API."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        async for _title, _outcome in lifecycle(DemoClient(http), LIFECYCLE_SERIAL):
            pass


@pytest.fixture(scope="package")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp_path_factory.mktemp("web-gateway"), seed_demo=True, public_base_url=base)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="web-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start (see the log above)")
        time.sleep(0.05)
    assert "seed_error" not in app.state.gw.extras, app.state.gw.extras
    with httpx.Client(base_url=base, timeout=60) as http:
        gw = Gateway(base, http, ledger_dir=settings.embedded_ledger_dir)
        _prepare(gw)
        yield gw
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install-browser")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def new_page(browser: Browser, gateway: Gateway, *, phone: bool = False, locale: str = "en-US") -> Page:
    context = browser.new_context(
        base_url=gateway.base_url,
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale=locale,
        accept_downloads=True,
    )
    context.set_default_timeout(20000)
    return context.new_page()


@pytest.fixture
def page(browser: Browser, gateway: Gateway) -> Iterator[Page]:
    p = new_page(browser, gateway)
    yield p
    p.context.close()


@pytest.fixture
def phone_page(browser: Browser, gateway: Gateway) -> Iterator[Page]:
    p = new_page(browser, gateway, phone=True)
    yield p
    p.context.close()


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, qualified: str, next_path: str = "") -> None:
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#username", qualified)
    page.fill("#password", password_of(qualified))
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()
