"""Operations: structured logs, request ids, metrics and readiness, backup and restore."""
