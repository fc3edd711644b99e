-- Idempotency-Key records: a fingerprint (SHA-256) of the request and its final answer
CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, key)
);
