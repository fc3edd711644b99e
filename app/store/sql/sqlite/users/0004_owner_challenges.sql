-- one-time sign-in challenges of owners (issued by the gateway, signed by the owner's own key, used once)
CREATE TABLE owner_challenges (
    challenge_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE INDEX owner_challenges_expires_at ON owner_challenges (expires_at);
