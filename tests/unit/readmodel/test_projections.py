"""Versioned projections: an older record shape still projects, an unknown one is quarantined, and the
projector goes on (no crash); a store of another schema version is rebuilt from block 0."""

from __future__ import annotations

import json

from app.readmodel.blockgen import StreamBuilder, make_vin
from app.readmodel.blocks import composite_key
from app.readmodel.projector import Projector
from app.readmodel.queries import dashboard
from tests.unit.readmodel.conftest import StoreFactory


def _lien(lien_id: str, **fields: object) -> bytes:
    base = {
        "lien_id": lien_id,
        "vin": make_vin(1),
        "lienholder": "BankAMSP",
        "status": "RECORDED",
        "currency": "CNY",
        "recorded_at": "2026-02-01T00:00:00Z",
    }
    return json.dumps({**base, **fields}).encode()


def test_old_and_unknown_record_shapes(stores: StoreFactory) -> None:
    builder = StreamBuilder(first_block=0)
    builder.tx(
        "BankAMSP", "RecordLien", [(composite_key("LIEN", "NEW"), _lien("NEW", secured_amount="1000"))], None
    )
    builder.tx("BankAMSP", "RecordLien", [(composite_key("LIEN", "OLD"), _lien("OLD", amount="2000"))], None)
    builder.tx("BankAMSP", "RecordLien", [(composite_key("LIEN", "ODD"), _lien("ODD", principal="3"))], None)
    builder.tx("BankAMSP", "RecordLien", [(composite_key("LIEN", "BAD"), b"not json")], None)
    builder.tx(
        "BankAMSP",
        "Future",
        [(composite_key("LIEN", "X2"), _lien("X2", secured_amount="5", extra={"a": 1}))],
        None,
    )
    store = stores.open()
    Projector(store).ingest([builder.cut()])
    with store.reading() as cur:
        rows = dict(
            cur.execute("SELECT lien_id, schema_version || ':' || secured_amount FROM liens").fetchall()
        )
        quarantined = {k: r for k, r in cur.execute("SELECT record_key, reason FROM quarantine").fetchall()}
        doc = json.loads(cur.execute("SELECT doc FROM liens WHERE lien_id = 'X2'").fetchone()[0])
    assert rows == {"NEW": "1:1000", "OLD": "0:2000", "X2": "1:5"}
    assert doc["extra"] == {"a": 1}  # fields a newer contract added are kept
    assert set(quarantined) == {"LIEN/ODD", "LIEN/BAD"}
    assert "missing secured_amount" in quarantined["LIEN/ODD"]
    assert dict(dashboard(store)["liens_by_status"]) == {"RECORDED": 3}
    assert store.next_block() == 1


def test_a_store_of_another_schema_version_is_rebuilt(stores: StoreFactory) -> None:
    builder = StreamBuilder(first_block=0)
    builder.tx("BankAMSP", "RecordLien", [(composite_key("LIEN", "A"), _lien("A", secured_amount="1"))], None)
    store = stores.open()
    Projector(store).ingest([builder.cut()])
    store.set_meta("schema_version", "0")
    store.close()
    reopened = stores.open()
    assert reopened.next_block() == 0 and dashboard(reopened)["total_liens"] == 0
