-- demo users (well-known passwords) are marked, so a gateway outside demo mode refuses them
ALTER TABLE users ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
