"""Schema migrations with yoyo: plain SQL files in `ember/migrations`, applied in order."""

from __future__ import annotations

from importlib import resources

from yoyo import get_backend, read_migrations


def yoyo_url(database_url: str) -> str:
    """yoyo's URL for psycopg 3."""
    scheme, rest = database_url.split("://", 1)
    return f"postgresql+psycopg://{rest}"


def apply_migrations(database_url: str) -> list[str]:
    """The ids of the migrations applied now (empty when the schema was current)."""
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(resources.files("ember") / "migrations"))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()
