-- document keys, each sealed by the gateway's KEK (kek_id names it): the master key ring and the
-- served orgs' X25519 private keys
CREATE TABLE document_master_keys (
    kid TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    kek_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE document_key_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    current_kid TEXT NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TABLE document_org_keys (
    msp_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    kek_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
