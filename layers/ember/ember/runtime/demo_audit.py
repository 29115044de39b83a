"""The demo's audit of the whole database: the books balance and every draw recomputes.

Read-only and independent of the code that wrote the rows: balances are summed from
transfers, draws are recomputed from the published seed and salt with `ember.domain.fairness`.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from rich.console import Console
from rich.table import Table

from ember.adapters.postgres.database import Database
from ember.domain.fairness import draw_outcome, seed_hash
from ember.domain.ledger import COMMISSION
from ember.domain.money import format_major


@dataclass(frozen=True)
class Check:
    name: str
    detail: str
    ok: bool


def audit(db: Database, *, replays_ok: bool = True) -> list[Check]:
    """Every check, passed or not (`replays_ok`: what the demo saw when it resent requests)."""
    checks = db.run(lambda conn: [*_ledger_checks(conn), _draw_check(conn),
                                  _commission_check(conn)])
    checks.append(Check("a resent bet request returned the first bet",
                        "each round's replay: same bet id, no second debit", replays_ok))
    return checks


def _ledger_checks(conn: psycopg.Connection) -> list[Check]:
    row = conn.execute(
        "SELECT coalesce(sum(balance), 0)::bigint AS total,"
        " count(*) FILTER (WHERE kind = 'player') AS players,"
        " count(*) FILTER (WHERE kind = 'player' AND balance < 0) AS negative,"
        " count(*) FILTER (WHERE kind = 'player' AND balance <> running_balance) AS drift"
        " FROM account_balances").fetchone()
    return [
        Check("sum of all balances is zero", f"sum={row['total']}", row["total"] == 0),
        Check("no player below zero", f"{row['negative']} of {row['players']} players",
              row["negative"] == 0),
        Check("running balances equal balances derived from transfers",
              f"{row['drift']} of {row['players']} players differ", row["drift"] == 0),
    ]


def _draw_check(conn: psycopg.Connection) -> Check:
    """Every resolved round with a published seed and salt: commitment and outcome recompute."""
    rows = conn.execute(
        "SELECT id, status, outcome_count, seed_hash, server_seed, salt, outcome FROM rounds"
        " WHERE status IN ('settled', 'refunded') AND salt IS NOT NULL").fetchall()
    wrong = [row["id"] for row in rows if not _draw_holds(row)]
    settled = sum(1 for row in rows if row["status"] == "settled")
    detail = (f"{len(rows) - len(wrong)} of {len(rows)} rounds ({settled} settled)"
              + (f"; wrong: {', '.join(str(rid)[:8] for rid in wrong)}" if wrong else ""))
    return Check("every published draw recomputes from seed_hash, seed and salt", detail,
                 bool(rows) and not wrong)


def _draw_holds(row: dict) -> bool:
    if row["server_seed"] is None or seed_hash(row["server_seed"]) != row["seed_hash"]:
        return False
    drawn = draw_outcome(row["server_seed"], str(row["id"]), row["salt"], row["outcome_count"])
    return drawn == row["outcome"]


def _commission_check(conn: psycopg.Connection) -> Check:
    """commission.accrued events = transfers into the commission pool = rounds' commission."""
    row = conn.execute(
        "SELECT (SELECT coalesce(sum((payload->>'amount')::bigint), 0) FROM outbox"
        "         WHERE type = 'commission.accrued')::bigint AS announced,"
        " (SELECT coalesce(sum(amount), 0) FROM transfers"
        "   WHERE credit_account = %s)::bigint AS pooled,"
        " (SELECT coalesce(sum(commission + dust), 0) FROM rounds"
        "   WHERE status = 'settled')::bigint AS settled", (COMMISSION,)).fetchone()
    detail = (f"events={format_major(row['announced'])} pool={format_major(row['pooled'])}"
              f" rounds={format_major(row['settled'])} USDT")
    return Check("commission accrued matches pool and rounds", detail,
                 row["announced"] == row["pooled"] == row["settled"])


def render_audit(console: Console, checks: list[Check]) -> None:
    """Prints the checks as a table and one verdict line."""
    console.rule("audit")
    table = Table("check", "result", "ok")
    for check in checks:
        table.add_row(check.name, check.detail, "yes" if check.ok else "NO")
    console.print(table)
    passed = all(check.ok for check in checks)
    console.print("audit passed" if passed else "audit FAILED", style="green" if passed else "red")
