"""The end of a run in tables: each round as drawn, each player's result against its EV."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ember.adapters.postgres.database import Database
from ember.domain.ledger import player_account
from ember.domain.markets import Market

from .market import usdt
from .players import Player, Tally


def render_rounds(console: Console, db: Database, market: Market, round_ids: list[str]) -> None:
    rows = db.run(lambda conn: conn.execute(
        "SELECT r.*, s.source AS salt_source FROM rounds r"
        " LEFT JOIN round_salts s ON s.round_id = r.id"
        " WHERE r.id = ANY(%s::uuid[]) ORDER BY r.open_at", (round_ids,)).fetchall())
    table = Table("round", "opens (UTC)", "status", "drawn", "pool", "commission", "paid out",
                  "salt", title=f"rounds · {market.id}")
    for number, row in enumerate(rows, start=1):
        drawn = market.outcomes[row["outcome"]] if row["outcome"] is not None else "-"
        status = row["status"] + (f" ({row['refund_reason']})" if row["refund_reason"] else "")
        table.add_row(str(number), f"{row['open_at']:%H:%M:%S}", status, drawn,
                      usdt(row["total_staked"] or 0), usdt(row["commission"] or 0),
                      usdt(row["paid_out"] or row["refunded"] or 0), row["salt_source"] or "-")
    console.print(table)


def render_players(console: Console, db: Database, cast: list[Player], tally: Tally,
                   round_ids: list[str]) -> None:
    rows = db.run(lambda conn: conn.execute(
        "SELECT player_id, count(*) AS bets, sum(amount)::bigint AS staked,"
        " coalesce(sum(returned), 0)::bigint AS returned FROM bet_results"
        " WHERE round_id = ANY(%s::uuid[]) GROUP BY player_id", (round_ids,)).fetchall())
    results = {row["player_id"]: row for row in rows}
    accounts = [player_account(p.id) for p in cast]
    balances = {row["id"]: int(row["balance"] or 0) for row in db.run(lambda conn: conn.execute(
        "SELECT id, balance FROM account_balances WHERE id = ANY(%s)", (accounts,)).fetchall())}
    table = Table("player", "strategy", "bets", "staked", "returned", "net", "EV (quoted)",
                  "balance", caption="EV: the bets' expected value as quoted when placed")
    for player in cast:
        row = results.get(player.id, {"bets": 0, "staked": 0, "returned": 0})
        table.add_row(player.id, player.strategy, str(row["bets"]), usdt(row["staked"]),
                      usdt(row["returned"]), usdt(row["returned"] - row["staked"]),
                      usdt(tally.expected.get(player.id, 0)),
                      usdt(balances.get(player_account(player.id), 0)))
    console.print(table)
