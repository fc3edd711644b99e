-- the notifier's tables as app/notifications/store.py created them before the store (adopted as is)
CREATE TABLE checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block_number INTEGER NOT NULL,
    tx_id TEXT NOT NULL
);
CREATE TABLE vehicle_owner (vin TEXT PRIMARY KEY, owner_hash TEXT NOT NULL);
CREATE TABLE vehicle_lien (
    vin TEXT NOT NULL, lien_id TEXT NOT NULL, lienholder TEXT NOT NULL, PRIMARY KEY (vin, lien_id)
);
CREATE INDEX vehicle_lien_holder ON vehicle_lien (lienholder, vin);
CREATE TABLE notification (
    notification_id TEXT PRIMARY KEY,
    party TEXT NOT NULL,
    event_name TEXT NOT NULL,
    topic TEXT NOT NULL,
    vin TEXT,
    block_number INTEGER NOT NULL,
    tx_id TEXT NOT NULL,
    event_index INTEGER NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX notification_party ON notification (party, block_number DESC);
CREATE TABLE subscription (
    subscription_id TEXT PRIMARY KEY,
    party TEXT NOT NULL,
    created_by TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    vins TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    start_block INTEGER NOT NULL,
    created_at REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX subscription_party ON subscription (party);
CREATE TABLE delivery (
    delivery_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    last_status INTEGER,
    created_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (subscription_id, notification_id)
);
CREATE INDEX delivery_due ON delivery (status, next_attempt_at);
