-- each gateway process's last sign of life, so a replica on another host can tell a key left in flight
-- by a crashed replica (heartbeat stopped) from one a live replica is still working on
CREATE TABLE idempotency_owner (
    owner TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
