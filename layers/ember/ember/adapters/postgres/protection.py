"""Player protection state in PostgreSQL: limits, self-exclusions and recent exposure."""

from __future__ import annotations

from datetime import datetime

import psycopg

from ember.domain.protection import Exposure, Limit, LimitKind, Period

from .database import Database

_WINDOWS = {period: period.length for period in Period}
_LONGEST = max(_WINDOWS.values())


def _sums(column: str) -> str:
    """One FILTERed sum per period, named by the period, over rows newer than `now - window`."""
    return ", ".join(
        f"coalesce(sum({{amount}}) FILTER (WHERE {column} > %(now)s - %(w_{p.name})s), 0)"
        f"::bigint AS \"{p.value}\"" for p in Period)


def _window_params(now: datetime) -> dict[str, object]:
    return {"now": now, "oldest": now - _LONGEST,
            **{f"w_{p.name}": length for p, length in _WINDOWS.items()}}


def exposure(conn: psycopg.Connection, player_id: str, now: datetime) -> Exposure:
    """Staked, returned and deposited per period, up to `now`."""
    params = {**_window_params(now), "player": player_id}
    staked = conn.execute(
        f"SELECT {_sums('placed_at').format(amount='amount')} FROM bets"
        " WHERE player_id = %(player)s AND placed_at > %(oldest)s", params).fetchone()
    returned = conn.execute(
        f"SELECT {_sums('resolved_at').format(amount='returned')} FROM bet_results"
        " WHERE player_id = %(player)s AND resolved_at > %(oldest)s", params).fetchone()
    deposited = conn.execute(
        f"SELECT {_sums('received_at').format(amount='amount')} FROM deposits"
        " WHERE player_id = %(player)s AND received_at > %(oldest)s", params).fetchone()
    return Exposure(*({Period(k): v for k, v in row.items()}
                      for row in (staked, returned, deposited)))


def limits(conn: psycopg.Connection, player_id: str) -> list[Limit]:
    rows = conn.execute("SELECT kind, period, amount, pending_amount, pending_at FROM player_limits"
                        " WHERE player_id = %s", (player_id,)).fetchall()
    return [Limit(LimitKind(r["kind"]), Period(r["period"]), r["amount"], r["pending_amount"],
                  r["pending_at"]) for r in rows]


def excluded_until(conn: psycopg.Connection, player_id: str, now: datetime) -> datetime | None:
    row = conn.execute("SELECT max(ends_at) AS until FROM self_exclusions WHERE player_id = %s"
                       " AND starts_at <= %s AND ends_at > %s", (player_id, now, now)).fetchone()
    return row["until"]


class PostgresProtection:
    def __init__(self, db: Database) -> None:
        self.db = db

    def limits(self, player_id: str) -> list[Limit]:
        return self.db.run(lambda conn: limits(conn, player_id))

    def excluded_until(self, player_id: str, now: datetime) -> datetime | None:
        return self.db.run(lambda conn: excluded_until(conn, player_id, now))

    def change_limits(self, player_id: str, wanted: dict[tuple[LimitKind, Period], int | None],
                      now: datetime) -> list[Limit]:
        """Every limit of the player after applying `wanted` (lower now, higher later)."""
        def work(conn: psycopg.Connection) -> list[Limit]:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('limits:' || %s))", (player_id,))
            current = {(lim.kind, lim.period): lim for lim in limits(conn, player_id)}
            for (kind, period), amount in wanted.items():
                changed = current.get((kind, period), Limit(kind, period)).changed_to(amount, now)
                _save(conn, player_id, changed, now)
            return limits(conn, player_id)
        return self.db.run(work)

    def exclude(self, player_id: str, until: datetime, now: datetime) -> datetime:
        """When the player's exclusion ends: the later of the existing one and `until`."""
        def work(conn: psycopg.Connection) -> datetime:
            current = excluded_until(conn, player_id, now)
            if current is not None and current >= until:
                return current
            conn.execute("INSERT INTO self_exclusions (player_id, starts_at, ends_at)"
                         " VALUES (%s, %s, %s)", (player_id, now, until))
            return until
        return self.db.run(work)


def _save(conn: psycopg.Connection, player_id: str, limit: Limit, now: datetime) -> None:
    conn.execute(
        "INSERT INTO player_limits (player_id, kind, period, amount, pending_amount, pending_at,"
        " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (player_id, kind, period) DO UPDATE SET amount = EXCLUDED.amount,"
        " pending_amount = EXCLUDED.pending_amount, pending_at = EXCLUDED.pending_at,"
        " updated_at = EXCLUDED.updated_at",
        (player_id, limit.kind, limit.period, limit.amount, limit.pending_amount, limit.pending_at,
         now))


