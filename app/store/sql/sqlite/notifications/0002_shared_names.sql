-- the names every backend uses (one PostgreSQL database holds every component), and the events of the
-- checkpoint's block already recorded, so two replicas following the same stream record each once
ALTER TABLE checkpoint RENAME TO notify_checkpoint;
ALTER TABLE vehicle_owner RENAME TO notify_vehicle_owner;
ALTER TABLE vehicle_lien RENAME TO notify_vehicle_lien;
ALTER TABLE notification RENAME TO notify_notification;
ALTER TABLE subscription RENAME TO notify_subscription;
ALTER TABLE delivery RENAME TO notify_delivery;
CREATE TABLE notify_seen (
    block_number INTEGER NOT NULL,
    tx_id TEXT NOT NULL,
    event_index INTEGER NOT NULL,
    PRIMARY KEY (tx_id, event_index)
);
CREATE INDEX notify_seen_block ON notify_seen (block_number);
