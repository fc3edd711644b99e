"""Drive the Mortgage contract on the runtime's in-process host (MemoryLedger) with real X.509 callers."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from chaincode.mortgage.contract import MortgageContract
from chaincode.mortgage.vin import with_check_digit
from chaincode.runtime.inprocess import SimulationResult
from chaincode.runtime.testing import MemoryLedger, TestIdentity, collections_from_config, make_identity

COLLECTIONS = Path(__file__).resolve().parents[3] / "chaincode" / "mortgage" / "collections_config.json"
NS = "mortgage"

#: name → (MSP ID, role or None for no role attribute)
PRINCIPALS: dict[str, tuple[str, str | None]] = {
    "ta": ("TrafficAuthorityMSP", "registrar"),
    "ta_admin": ("TrafficAuthorityMSP", "admin"),
    "ta_auditor": ("TrafficAuthorityMSP", "auditor"),
    "bank_a": ("BankAMSP", "loan_officer"),
    "bank_b": ("BankBMSP", "loan_officer"),
    "bank_a_admin": ("BankAMSP", "admin"),
    "bank_a_model_admin": ("BankAMSP", "model_admin"),
    "bank_a_appraiser": ("BankAMSP", "appraiser"),
    "bank_a_auditor": ("BankAMSP", "auditor"),
    "insurer": ("InsurerMSP", "underwriter"),
    "insurer_admin": ("InsurerMSP", "admin"),
    "dealer": ("DealerMSP", "dealer"),
    "regulator": ("RegulatorMSP", "regulator"),
    "regulator_auditor": ("RegulatorMSP", "auditor"),
    "dealer_auditor": ("DealerMSP", "auditor"),
    # floor-plan finance (issue 19): the core enterprise's officer and a bank's field auditor
    "oem": ("ManufacturerMSP", "core_enterprise"),
    "oem_auditor": ("ManufacturerMSP", "auditor"),
    "bank_a_checker": ("BankAMSP", "field_auditor"),
    # wrong combinations: a role from another org, no role at all, an outsider org
    "bank_a_registrar": ("BankAMSP", "registrar"),
    "dealer_loan_officer": ("DealerMSP", "loan_officer"),
    "ta_loan_officer": ("TrafficAuthorityMSP", "loan_officer"),
    "regulator_registrar": ("RegulatorMSP", "registrar"),
    "ta_norole": ("TrafficAuthorityMSP", None),
    "outsider": ("OutsiderMSP", "registrar"),
}


@cache
def identity(name: str) -> TestIdentity:
    msp, role = PRINCIPALS[name]
    return make_identity(msp, f"{name}@{msp}", None if role is None else {"role": role})


def vin(n: int, prefix: str = "1HG") -> str:
    """A valid North-American VIN numbered n (check digit computed)."""
    body = f"{prefix}CM82{n:010d}"[:17]
    return with_check_digit(body)


def salt(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()[:16]


def owner(label: str) -> tuple[dict[str, bytes], str]:
    """Transient map for an owner and the owner hash the contract will compute."""
    id_number = f"ID-{label}".upper()
    s = salt(label)
    transient = {
        "owner": json.dumps({"name": f"Owner {label}", "id_number": id_number}).encode(),
        "owner_salt": s,
    }
    return transient, hashlib.sha256(s + id_number.encode()).hexdigest()


def valuation_body(v: str, value: str, valuation_id: str) -> dict[str, Any]:
    amount = float(value)
    return {
        "valuation_id": valuation_id,
        "vin": v,
        "value": value,
        "currency": "CNY",
        "interval_low": str(round(amount * 0.9, 2)),
        "interval_high": str(round(amount * 1.1, 2)),
        "coverage": "0.9",
        "model_id": "residual-lgbm",
        "model_version": "1.0.0",
        "inputs_hash": "ab" * 32,
        "valuer": "valuation-service",
    }


class ContractFailed(AssertionError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _arg(value: Any) -> str | bytes:
    if isinstance(value, str | bytes):
        return value
    return json.dumps(value)


class Chain:
    """A one-org ledger running the real contract; helpers to call it and to build common states."""

    def __init__(self) -> None:
        collections = collections_from_config(json.loads(COLLECTIONS.read_text()))
        self.ledger = MemoryLedger.for_contracts(MortgageContract, name=NS, collections=collections)
        self._doc = 0
        self._models: set[tuple[str, str]] = set()

    # --- raw calls ---------------------------------------------------------------------
    def run(
        self, who: str, fn: str, *args: Any, transient: dict[str, bytes] | None = None
    ) -> SimulationResult:
        return self.ledger.invoke(identity(who), fn, *(_arg(a) for a in args), transient=transient)

    def ok(self, who: str, fn: str, *args: Any, transient: dict[str, bytes] | None = None) -> Any:
        result = self.run(who, fn, *args, transient=transient)
        if not result.ok:
            raise ContractFailed(result.response.status, result.response.message)
        assert self.ledger.last_validation_code == "VALID" or result.rwset.is_read_only()
        payload = result.response.payload
        return json.loads(payload) if payload else None

    def fail(
        self, who: str, fn: str, *args: Any, status: int, transient: dict[str, bytes] | None = None
    ) -> str:
        result = self.run(who, fn, *args, transient=transient)
        assert not result.ok, f"{fn} unexpectedly succeeded: {result.response.payload[:200]!r}"
        assert result.response.status == status, f"{fn}: {result.response.status} {result.response.message}"
        assert result.rwset.is_read_only() and not result.rwset.writes, "a refused call wrote state"
        assert result.event is None
        return result.response.message

    def advance(self, **delta: float) -> None:
        self.ledger.clock += timedelta(**delta)

    @property
    def today(self) -> str:
        return self.ledger.clock.date().isoformat()

    def days_from_now(self, days: int) -> str:
        return (self.ledger.clock + timedelta(days=days)).date().isoformat()

    def state_metadata(self, object_type: str, *attrs: str) -> dict[str, bytes]:
        key = "\x00" + "\x00".join([object_type, *attrs]) + "\x00"
        entry = self.ledger.state.get((NS, key))
        return dict(entry.metadata) if entry else {}

    def last_event(self) -> tuple[str, dict[str, Any]]:
        _, event = self.ledger.events[-1]
        return event.name, json.loads(event.payload)

    # --- builders ----------------------------------------------------------------------
    def register(
        self, v: str, plate: str | None = None, label: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        transient, _ = owner(label or v)
        vehicle = {
            "vin": v,
            "plate": plate or f"A{v[-6:]}",
            "make": extra.pop("make", "Honda"),
            "model": "Civic",
            "trim": "EX",
            "year": 2024,
            "configuration": {"engine": "1.5T", "seats": 5},
            "registration_date": "2025-12-01",
            **extra,
        }
        return self.ok("ta", "RegisterVehicle", vehicle, transient=transient)

    def document(self, who: str, doc_type: str, v: str | None = None, lien_id: str | None = None) -> str:
        self._doc += 1
        doc_id = f"DOC-{self._doc}"
        body = f"{doc_type}-{self._doc}".encode()
        doc: dict[str, Any] = {
            "document_id": doc_id,
            "doc_type": doc_type,
            "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "encryption_key_ref": f"kms://test/{doc_id}",
        }
        if v is not None:
            doc["vin"] = v
        if lien_id is not None:
            doc["lien_id"] = lien_id
        self.ok(who, "AnchorDocument", doc)
        return doc_id

    def register_model(self, model_id: str = "residual-lgbm", version: str = "1.0.0") -> None:
        """Register a valuation model version on chain (once), as a bank's model administrator does."""
        if (model_id, version) in self._models:
            return
        card = hashlib.sha256(f"model card {model_id} {version}".encode()).hexdigest()
        self.ok(
            "bank_a_model_admin",
            "RegisterModelVersion",
            {"model_id": model_id, "model_version": version, "model_card_sha256": card},
        )
        self._models.add((model_id, version))

    def value(self, v: str, value: str = "100000", who: str = "ta", valuation_id: str | None = None) -> None:
        """Record a valuation (by default the vehicle office's; a bank needs a lien on the vehicle)."""
        self.register_model()
        self._doc += 1
        self.ok(who, "RecordValuation", valuation_body(v, value, valuation_id or f"VAL-{self._doc}"))

    def request_lien(self, who: str, lien_id: str, v: str, amount: str = "50000") -> dict[str, Any]:
        consent = self.document(who, "owner_consent", v)
        return self.ok(
            who,
            "RequestLien",
            {
                "lien_id": lien_id,
                "vin": v,
                "loan_number": f"LN-{lien_id}",
                "mortgage_contract_number": f"MC-{lien_id}",
                "secured_amount": amount,
                "currency": "CNY",
                "maturity_date": self.days_from_now(3 * 365),
                "consent_document_id": consent,
            },
        )

    def lien(self, who: str, lien_id: str, v: str, amount: str = "50000") -> dict[str, Any]:
        self.request_lien(who, lien_id, v, amount)
        return self.ok("ta", "RecordLien", lien_id)
