-- failed logins per account / client address, shared by every replica of the gateway (lockouts)
CREATE TABLE login_failures (
    counter TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX login_failures_counter_at ON login_failures (counter, at);
