"""The read model's tables, in SQL both SQLite and PostgreSQL accept.

Portable on purpose: TEXT and BIGINT columns only, decimals as exact decimal TEXT (summed in Python,
never in floating point), ``INSERT ... ON CONFLICT (...) DO UPDATE`` upserts (SQLite ≥ 3.24, PostgreSQL
≥ 9.5), ``?`` placeholders rewritten to ``%s`` by the PostgreSQL store. Every projected row carries the
block number, the transaction's position and its tx id: the change that made it what it is.

``SCHEMA_VERSION`` names the layout; a store opened with another version is rebuilt from block 0.
"""

from __future__ import annotations

SCHEMA_VERSION = 2  # 2: changes_at covers the time order; liens counted by lienholder and status

TABLES: tuple[str, ...] = (
    "meta",
    "vehicles",
    "liens",
    "valuations",
    "valuation_latest",
    "insurance",
    "documents",
    "alerts",
    "config",
    "events",
    "changes",
    "counters",
    "vehicle_ltv",
    "quarantine",
)

DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS vehicles (
        vin TEXT PRIMARY KEY, plate TEXT NOT NULL, make TEXT NOT NULL, model TEXT NOT NULL,
        year BIGINT, owner_hash TEXT NOT NULL, status TEXT NOT NULL, region TEXT,
        registration_date TEXT, registered_at TEXT, updated_at TEXT, lien_count BIGINT NOT NULL,
        seized BIGINT NOT NULL, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS vehicles_plate ON vehicles (plate)",
    "CREATE INDEX IF NOT EXISTS vehicles_owner ON vehicles (owner_hash)",
    """CREATE TABLE IF NOT EXISTS liens (
        lien_id TEXT PRIMARY KEY, vin TEXT NOT NULL, lienholder TEXT NOT NULL, status TEXT NOT NULL,
        secured_amount TEXT NOT NULL, currency TEXT NOT NULL, priority BIGINT, maturity_date TEXT,
        requested_at TEXT, recorded_at TEXT, ended_at TEXT, loan_number TEXT, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS liens_vin ON liens (vin)",
    "CREATE INDEX IF NOT EXISTS liens_holder ON liens (lienholder, lien_id)",
    """CREATE TABLE IF NOT EXISTS valuations (
        vin TEXT NOT NULL, valuation_id TEXT NOT NULL, value TEXT NOT NULL, currency TEXT NOT NULL,
        model_id TEXT, model_version TEXT, recorded_at TEXT, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (vin, valuation_id))""",
    """CREATE TABLE IF NOT EXISTS valuation_latest (
        vin TEXT PRIMARY KEY, valuation_id TEXT NOT NULL, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS insurance (
        kind TEXT NOT NULL, record_id TEXT NOT NULL, vin TEXT NOT NULL, party TEXT, status TEXT,
        valid_from TEXT, valid_to TEXT, amount TEXT, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (record_id, kind))""",
    "CREATE INDEX IF NOT EXISTS insurance_vin ON insurance (vin)",
    """CREATE TABLE IF NOT EXISTS documents (
        document_id TEXT PRIMARY KEY, doc_type TEXT NOT NULL, vin TEXT, lien_id TEXT, anchored_by TEXT,
        anchored_at TEXT, cid TEXT, sha256 TEXT, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS documents_vin ON documents (vin)",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY, lien_id TEXT NOT NULL, vin TEXT NOT NULL, lienholder TEXT NOT NULL,
        rule TEXT NOT NULL, severity TEXT NOT NULL, acknowledged BIGINT NOT NULL, raised_at TEXT,
        schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS alerts_lien ON alerts (lien_id)",
    """CREATE TABLE IF NOT EXISTS config (
        name TEXT PRIMARY KEY, schema_version BIGINT NOT NULL,
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, doc TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS events (
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, tx_id TEXT NOT NULL, name TEXT NOT NULL,
        vin TEXT, lien_id TEXT, at TEXT NOT NULL, payload TEXT NOT NULL,
        PRIMARY KEY (block_number, tx_index))""",
    """CREATE TABLE IF NOT EXISTS changes (
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, seq BIGINT NOT NULL, tx_id TEXT NOT NULL,
        kind TEXT NOT NULL, record_id TEXT NOT NULL, vin TEXT, lienholder TEXT, plate TEXT, owner_hash TEXT,
        status TEXT, at TEXT NOT NULL, creator_msp TEXT NOT NULL, function TEXT NOT NULL,
        is_delete BIGINT NOT NULL, PRIMARY KEY (block_number, tx_index, seq))""",
    "CREATE INDEX IF NOT EXISTS changes_vin ON changes (vin, block_number)",
    "CREATE INDEX IF NOT EXISTS changes_tx ON changes (tx_id)",
    "CREATE INDEX IF NOT EXISTS changes_holder ON changes (lienholder, block_number)",
    "CREATE INDEX IF NOT EXISTS changes_at ON changes (at, block_number, tx_index, seq)",
    """CREATE TABLE IF NOT EXISTS counters (
        name TEXT NOT NULL, bucket TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (name, bucket))""",
    """CREATE TABLE IF NOT EXISTS vehicle_ltv (
        vin TEXT PRIMARY KEY, secured_total TEXT NOT NULL, value TEXT, ltv TEXT, bucket TEXT)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL, record_key TEXT NOT NULL,
        tx_id TEXT NOT NULL, reason TEXT NOT NULL, value TEXT,
        PRIMARY KEY (block_number, tx_index, record_key))""",
)
