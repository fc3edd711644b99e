-- the signed search certificates this gateway issued (as app/services/certificates.py created it
-- before the store), so a PDF can be fetched again later from any replica
CREATE TABLE certificates (
    number TEXT PRIMARY KEY,
    vin TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL
);
