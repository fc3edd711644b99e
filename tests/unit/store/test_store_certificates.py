"""Issued search certificates in the off-chain store, on SQLite and PostgreSQL: one replica issues,
the other serves the document; a certificates.sqlite from before the store is adopted with its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.services.certificates import CertificateStore
from app.store.database import Conflict, Database
from app.store.migrations import applied


def _doc(number: str) -> dict[str, object]:
    cert = {
        "certificate_number": number,
        "vin": "LHGCV1F30NA000001",
        "requested_by": {"msp_id": "BankAMSP"},
        "issued_at": "2026-12-07T23:00:00Z",
    }
    return {"certificate": cert, "signature": "sig"}


def test_issued_on_one_replica_served_by_the_other(replicas: tuple[Database, Database]) -> None:
    one, two = CertificateStore(replicas[0]), CertificateStore(replicas[1])
    assert applied(replicas[0], "certificates") == 1
    one.put(_doc("SC-20261207-AAAAAAAAAAAA"))
    assert two.get("SC-20261207-AAAAAAAAAAAA") == _doc("SC-20261207-AAAAAAAAAAAA")
    assert two.get("SC-20261207-BBBBBBBBBBBB") is None
    with pytest.raises(Conflict):  # a number is issued once
        two.put(_doc("SC-20261207-AAAAAAAAAAAA"))


def test_a_certificates_file_from_before_the_store_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "certificates.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE certificates (number TEXT PRIMARY KEY, vin TEXT NOT NULL,"
            " requested_by TEXT NOT NULL, document TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO certificates VALUES ('SC-1', 'VIN', 'BankAMSP', '{\"old\": true}', '2026-01-01')"
        )
    store = CertificateStore(path)
    assert store.get("SC-1") == {"old": True}
    assert applied(store.db, "certificates") == 1
    store.close()
