-- the signed payload (the QR's text) of each code this gateway issued; the chain keeps its hash
CREATE TABLE IF NOT EXISTS qr_payloads (
    code_id TEXT PRIMARY KEY,
    vin TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL
);
