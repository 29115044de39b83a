"""PostgreSQL adapters: the source of truth for money, rounds and events."""
