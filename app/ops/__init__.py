"""Operations: service-level indicators for /metrics, peer height lag, backups and their verification."""
