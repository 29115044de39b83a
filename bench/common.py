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


def player_ids_sql(prefix: str, width: int) -> str:
    """A query of the ids `<prefix>0…01` … for `%(players)s` players, zero-padded to `width`."""
    return (f"SELECT '{prefix}' || lpad(g::text, {width}, '0') AS player_id"
            " FROM generate_series(1, %(players)s) g")


def fund_players(conn: psycopg.Connection, *, prefix: str, width: int, players: int,
                 deposit: int, currency: str) -> None:
    """Creates `players` player accounts, each credited `deposit` by one recorded deposit.

    Set-based, but through the ledger as the cashier writes it: the transfers trigger moves
    the running balances, so the players start funded exactly as the ledger says.
    """
    ids = player_ids_sql(prefix, width)
    params = {"players": players, "deposit": deposit, "currency": currency}
    conn.execute(f"INSERT INTO accounts (id, kind, currency, balance)"
                 f" SELECT 'player:' || player_id, 'player', %(currency)s, 0 FROM ({ids}) p",
                 params)
    conn.execute(f"""
WITH paid AS (
    SELECT md5('bench-deposit:' || player_id)::uuid AS id, player_id,
           'bench-' || player_id AS external_id
      FROM ({ids}) p
), moved AS (
    INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
    SELECT id, 'external', 'player:' || player_id, %(currency)s, %(deposit)s, 'deposit', external_id
      FROM paid
)
INSERT INTO deposits (external_id, player_id, amount, transfer_id)
SELECT external_id, player_id, %(deposit)s, id FROM paid
""", params)
