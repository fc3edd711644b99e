-- the events of the checkpoint's block already recorded, so two replicas following the same stream
-- record each once (the SQLite side also renames its pre-store tables here)
CREATE TABLE notify_seen (
    block_number BIGINT NOT NULL,
    tx_id TEXT NOT NULL,
    event_index INTEGER NOT NULL,
    PRIMARY KEY (tx_id, event_index)
);
CREATE INDEX notify_seen_block ON notify_seen (block_number);
