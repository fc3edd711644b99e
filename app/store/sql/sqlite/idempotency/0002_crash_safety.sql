-- the owning process and the transaction sent for ordering, so a retry after a crash asks the ledger
ALTER TABLE idempotency ADD COLUMN owner TEXT;
ALTER TABLE idempotency ADD COLUMN tx_id TEXT;
ALTER TABLE idempotency ADD COLUMN template TEXT;
ALTER TABLE idempotency ADD COLUMN submitted_at REAL;
