-- users, API keys (only a SHA-256 of the secret) and revoked token ids (logout)
CREATE TABLE IF NOT EXISTS users (
    msp_id TEXT NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    enrolled INTEGER NOT NULL DEFAULT 0,
    enrollment_id TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    PRIMARY KEY (msp_id, username)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    msp_id TEXT NOT NULL,
    username TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
