"""The off-chain store: one SQL database (SQLite by default, PostgreSQL in production) and its migrations."""
