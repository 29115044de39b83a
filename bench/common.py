"""What every benchmark needs: a scratch database, a stopwatch, progress and the result line."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

T = TypeVar("T")

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The PostgreSQL server to benchmark against: DATABASE_URL, else the local default."""
    return os.environ.get("DATABASE_URL") or DEFAULT_SERVER


def url_for(server: str, name: str) -> str:
    """`server` pointing at database `name` instead."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """The URL of a new, empty database `name`, dropped on the way out whatever happens."""
    server = server_url()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fetch_row(url: str, sql: str,
              params: Sequence[Any] | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The one row `sql` returns, by column name, read on its own autocommit connection."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"no row for: {sql}")
    return row


def timed(work: Callable[[], T]) -> tuple[T, float]:
    """What `work` returned and how many wall-clock seconds it took."""
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def progress(message: str) -> None:
    # Flushed at once so a slow step shows where it is, even through a pipe.
    print(message, flush=True)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def report(bench: str, value: float, baseline: float, target: float) -> None:
    """Print the result line; it must be the last line the benchmark prints."""
    print(json.dumps({"bench": bench, "value": round(value, 6), "baseline": round(baseline, 6),
                      "ratio": round(value / baseline, 3), "target": target}), flush=True)
