"""Request bodies for the API tests (valid by default; tests override one field to break it)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from app.demo.data import demo_vin
from tests.unit.api.conftest import login

TA = "officer1@TrafficAuthorityMSP"
BANK_A = "loan1@BankAMSP"
BANK_B = "loan1@BankBMSP"
INSURER = "underwriter1@InsurerMSP"
DEALER = "dealer1@DealerMSP"
AUDITOR = "auditor1@BankAMSP"
REGULATOR = "regulator1@RegulatorMSP"
TODAY = date.today()


def vin(serial: int) -> str:
    return demo_vin(serial, "LHG", "CV1F3")


def registration(serial: int, **vehicle: Any) -> dict[str, Any]:
    body = {
        "vin": vin(serial),
        "plate": f"京T{serial % 100000:05d}",
        "make": "Honda",
        "model": "Accord",
        "trim": "260TURBO",
        "year": 2022,
        "configuration": {"color": "blue"},
        "registration_date": "2022-05-10",
        "new_price": "179800.00",
        "currency": "CNY",
    }
    body.update(vehicle)
    return {"vehicle": body, "owner": {"name": "Chen Jie", "id_number": f"1101011985{serial:08d}"}}


def valuation(serial: int, value: str = "150000.00", **extra: Any) -> dict[str, Any]:
    return {
        "valuation_id": f"VAL-{serial}",
        "vin": vin(serial),
        "value": value,
        "currency": "CNY",
        "interval_low": "100.00",
        "interval_high": "999999.00",
        "coverage": 0.9,
        "model_id": "test-model",
        "model_version": "1.0.0",
        "inputs_hash": "ab" * 32,
        "valuer": "test",
        **extra,
    }


def lien(serial: int, suffix: str, consent: str, amount: str = "100000.00") -> dict[str, Any]:
    return {
        "lien_id": f"L-{serial}-{suffix}",
        "vin": vin(serial),
        "loan_number": f"LN-{serial}-{suffix}",
        "mortgage_contract_number": f"MC-{serial}-{suffix}",
        "secured_amount": amount,
        "currency": "CNY",
        "maturity_date": (TODAY + timedelta(days=1000)).isoformat(),
        "consent_document_id": consent,
    }


class Api:
    """TestClient calls as a named user, with tokens cached per user."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._headers: dict[str, dict[str, str]] = {}

    @property
    def gw(self) -> Any:
        """The gateway's runtime state (ledger, stores) the app was started with."""
        return self.client.app.state.gw  # type: ignore[attr-defined]

    @property
    def portal(self) -> BlockingPortal:
        """The TestClient's event-loop portal, to run coroutines on the app's loop."""
        assert self.client.portal is not None, "the TestClient is not started (use it as a context manager)"
        return self.client.portal

    def headers(self, user: str) -> dict[str, str]:
        if user not in self._headers:
            self._headers[user] = login(self.client, user)
        return self._headers[user]

    def post(self, user: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers(user), **kwargs.pop("headers", {})}
        return self.client.post("/api/v1" + path, headers=headers, **kwargs)

    def put(self, user: str, path: str, **kwargs: Any) -> Any:
        return self.client.put("/api/v1" + path, headers=self.headers(user), **kwargs)

    def get(self, user: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers(user), **kwargs.pop("headers", {})}
        return self.client.get("/api/v1" + path, headers=headers, **kwargs)

    def upload(self, user: str, doc_type: str, content: bytes, **form: str) -> Any:
        return self.post(
            user, "/documents", data={"doc_type": doc_type, **form}, files={"file": ("doc.bin", content)}
        )

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def register_model(
        self, bank: str = BANK_A, model_id: str = "test-model", version: str = "1.0.0"
    ) -> None:
        """The test model version on chain, registered by the bank's model administrator (once)."""
        msp = bank.partition("@")[2]
        body = {"model_id": model_id, "model_version": version, "model_card_sha256": "cd" * 32}
        response = self.post(f"models1@{msp}", "/model-versions", json=body)
        assert response.status_code in (201, 409), response.text

    def register(self, serial: int) -> dict[str, Any]:
        return self.ok(self.post(TA, "/vehicles", json=registration(serial)), 201)

    def mortgage(self, serial: int, suffix: str = "A", bank: str = BANK_A, amount: str = "100000.00") -> str:
        """Upload consent, request, value (if needed) and record a lien; returns the lien id.

        The bank values the vehicle after its request: a bank without a lien stake may not value it."""
        self.register_model(bank)
        consent = self.ok(
            self.upload(bank, "owner_consent", f"consent {serial}{suffix}".encode(), vin=vin(serial)), 201
        )
        self.ok(
            self.post(bank, "/liens", json=lien(serial, suffix, consent["document"]["document_id"], amount)),
            201,
        )
        self.post(bank, "/valuation-records", json=valuation(serial))
        self.ok(self.post(TA, f"/liens/L-{serial}-{suffix}/record"))
        return f"L-{serial}-{suffix}"
