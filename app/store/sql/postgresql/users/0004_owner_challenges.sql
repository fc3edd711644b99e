-- one-time sign-in challenges of owners (issued by the gateway, signed by the owner's own key, used once)
CREATE TABLE owner_challenges (
    challenge_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    issued_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    used_at DOUBLE PRECISION
);
CREATE INDEX owner_challenges_expires_at ON owner_challenges (expires_at);
