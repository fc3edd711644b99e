-- the notifier: checkpoint, vehicle index, inbox, subscriptions (secrets sealed), webhook outbox
CREATE TABLE notify_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block_number BIGINT NOT NULL,
    tx_id TEXT NOT NULL
);
CREATE TABLE notify_vehicle_owner (vin TEXT PRIMARY KEY, owner_hash TEXT NOT NULL);
CREATE TABLE notify_vehicle_lien (
    vin TEXT NOT NULL, lien_id TEXT NOT NULL, lienholder TEXT NOT NULL, PRIMARY KEY (vin, lien_id)
);
CREATE INDEX notify_vehicle_lien_holder ON notify_vehicle_lien (lienholder, vin);
CREATE TABLE notify_notification (
    notification_id TEXT PRIMARY KEY,
    party TEXT NOT NULL,
    event_name TEXT NOT NULL,
    topic TEXT NOT NULL,
    vin TEXT,
    block_number BIGINT NOT NULL,
    tx_id TEXT NOT NULL,
    event_index INTEGER NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX notify_notification_party ON notify_notification (party, block_number DESC);
CREATE TABLE notify_subscription (
    subscription_id TEXT PRIMARY KEY,
    party TEXT NOT NULL,
    created_by TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    vins TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL,
    start_block BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX notify_subscription_party ON notify_subscription (party);
CREATE TABLE notify_delivery (
    delivery_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    last_status INTEGER,
    created_at DOUBLE PRECISION NOT NULL,
    delivered_at DOUBLE PRECISION,
    UNIQUE (subscription_id, notification_id)
);
CREATE INDEX notify_delivery_due ON notify_delivery (status, next_attempt_at);
