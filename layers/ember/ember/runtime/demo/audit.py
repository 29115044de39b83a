"""The demo's audit: the books balance, every draw recomputes, and the chain agrees with them.

Read-only and independent of the code that wrote the rows: balances are summed from transfers,
draws are recomputed from the published seed and salt with `ember.domain.fairness` (and, for
this run's rounds, through the public `/verify` route and against the salt's chain block),
and burns and dividends are read back from the chain's own events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from ember.adapters.postgres.database import Database
from ember.domain.fairness import draw_outcome, seed_hash
from ember.domain.ledger import COMMISSION
from ember.domain.money import format_major

from .chain import ChainView
from .client import Api
from .market import tokens


@dataclass(frozen=True)
class Check:
    name: str
    detail: str
    ok: bool


@dataclass(frozen=True)
class RunFacts:
    """What the demo saw itself, for the checks the database cannot make alone."""

    round_ids: list[str]
    replays: int
    replays_ok: int
    bets_accepted: int
    since: float


def audit(db: Database, chain: ChainView, api: Api, facts: RunFacts) -> list[Check]:
    """Every check, passed or not."""
    checks = db.run(lambda conn: [*_ledger_checks(conn), _draw_check(conn),
                                  _commission_check(conn), _commission_spent_check(conn),
                                  _token_ledger_check(conn), *_chain_checks(conn, chain),
                                  _bets_recorded_check(conn, facts)])
    checks.append(_verify_check(api, chain, facts.round_ids))
    checks.append(Check("a resent bet request returned the first bet",
                        f"{facts.replays_ok} of {facts.replays} replays: Idempotent-Replayed,"
                        " same bet id", facts.replays > 0 and facts.replays == facts.replays_ok))
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
    """commission.accrued events = settlements' transfers into the pool = rounds' commission."""
    row = conn.execute(
        "SELECT (SELECT coalesce(sum((payload->>'amount')::bigint), 0) FROM outbox"
        "         WHERE type = 'commission.accrued')::bigint AS announced,"
        " (SELECT coalesce(sum(t.amount), 0) FROM transfers t"
        "   JOIN accounts a ON a.id = t.debit_account"
        "   WHERE t.credit_account = %s AND a.kind = 'round_pool')::bigint AS pooled,"
        " (SELECT coalesce(sum(commission + dust), 0) FROM rounds"
        "   WHERE status = 'settled')::bigint AS settled", (COMMISSION,)).fetchone()
    detail = (f"events={format_major(row['announced'])} from_rounds={format_major(row['pooled'])}"
              f" rounds={format_major(row['settled'])} USDT")
    return Check("commission accrued matches settlements and rounds", detail,
                 row["announced"] == row["pooled"] == row["settled"])


def _commission_spent_check(conn: psycopg.Connection) -> Check:
    """Every unit accrued is spent on buy-backs, in flight, or still in the pool."""
    row = conn.execute(
        "SELECT (SELECT coalesce(sum((payload->>'amount')::bigint), 0) FROM outbox"
        "         WHERE type = 'commission.accrued')::bigint AS accrued,"
        " coalesce(sum(balance) FILTER (WHERE id = 'buybacks:spent'), 0)::bigint AS spent,"
        " coalesce(sum(balance) FILTER (WHERE id = 'buybacks:in_flight'), 0)::bigint AS flight,"
        " coalesce(sum(balance) FILTER (WHERE id = %s), 0)::bigint AS pool"
        " FROM account_balances", (COMMISSION,)).fetchone()
    detail = (f"accrued={format_major(row['accrued'])} = spent={format_major(row['spent'])}"
              f" + in_flight={format_major(row['flight'])} + pool={format_major(row['pool'])}")
    return Check("commission = spent + in flight + pool", detail,
                 row["accrued"] == row["spent"] + row["flight"] + row["pool"])


def _token_ledger_check(conn: psycopg.Connection) -> Check:
    """Every token bought is burned, in the dividend pool, or still in the wallet."""
    rows = conn.execute("SELECT account, balance FROM token_balances").fetchall()
    balance = {row["account"]: int(row["balance"]) for row in rows}
    bought = -balance.get("market", 0)
    parts = {name: balance.get(name, 0) for name in ("burned", "dividend_pool", "wallet")}
    detail = f"bought={tokens(bought)} = " + " + ".join(f"{k}={tokens(v)}" for k, v in parts.items())
    return Check("tokens bought = burned + dividends + wallet", detail, bought == sum(parts.values()))


# Burns and dividends this deployment's wallet sent: rows of an earlier chain (a restarted
# node) stay in the database but are not on this chain.
_WALLET_BURNS = """
SELECT coalesce(sum(b.burned) FILTER (WHERE bi.sender IS NOT NULL), 0)::numeric AS burned,
       coalesce(sum(b.dividend) FILTER (WHERE di.sender IS NOT NULL), 0)::numeric AS dividend
  FROM burns b
  LEFT JOIN tx_intents bi ON encode(bi.tx_hash, 'hex') = lower(replace(b.burn_tx_hash, '0x', ''))
       AND bi.sender = %(wallet)s
  LEFT JOIN tx_intents di ON encode(di.tx_hash, 'hex') = lower(replace(b.dividend_tx_hash, '0x', ''))
       AND di.sender = %(wallet)s
 WHERE b.status = 'done'
"""


def _chain_checks(conn: psycopg.Connection, chain: ChainView) -> list[Check]:
    wallet = chain.deployment.wallet.lower()
    row = conn.execute(_WALLET_BURNS, {"wallet": wallet}).fetchone()
    burned, dividend = int(row["burned"]), int(row["dividend"])
    minted, supply = chain.minted(), chain.total_supply()
    all_burns, deposited = chain.burned(), chain.dividends_deposited(wallet)
    wallet_burns = chain.burned(wallet)
    fell = minted - supply
    return [
        # Any holder may burn: the supply falls by every burn, the ledger holds the wallet's.
        Check("total supply fell by exactly the sum of burns",
              f"minted {tokens(minted)} - supply {tokens(supply)} = {tokens(fell)};"
              f" burn events {tokens(all_burns)}", fell == all_burns),
        Check("the wallet burned exactly the ledger's burns",
              f"ledger burns {tokens(burned)}; the wallet's burn events {tokens(wallet_burns)}",
              burned == wallet_burns),
        Check("DividendPool received exactly the dividends",
              f"deposited on chain {tokens(deposited)}; ledger dividends {tokens(dividend)}",
              deposited == dividend),
    ]


def _bets_recorded_check(conn: psycopg.Connection, facts: RunFacts) -> Check:
    """Each bet the API accepted is in the database once: a replay never made a second bet."""
    recorded = conn.execute("SELECT count(*) AS n FROM bets WHERE round_id = ANY(%s::uuid[])",
                            (facts.round_ids,)).fetchone()["n"]
    return Check("every accepted bet recorded once", f"accepted={facts.bets_accepted}"
                 f" recorded={recorded} (replays included: {facts.replays})",
                 recorded == facts.bets_accepted)


def _verify_check(api: Api, chain: ChainView, round_ids: list[str]) -> Check:
    """This run's rounds through GET /v1/rounds/{id}/verify, each salt against its block."""
    problems: list[str] = []
    verified = 0
    for rid in round_ids:
        reply, round_ = api.call("GET", f"/v1/rounds/{rid}/verify"), api.call("GET", f"/v1/rounds/{rid}")
        body: dict[str, Any] = reply.body if reply.ok and round_.ok else {}
        problem = _verify_problem(body, chain, round_.body.get("lock_at") if round_.ok else None)
        if problem:
            problems.append(f"{rid[:8]}: {problem}")
        else:
            verified += 1
    detail = (f"{verified} of {len(round_ids)} rounds verified by the API,"
              " salts = hash of the first block after lock")
    return Check("this run's rounds verify over HTTP and on chain",
                 detail + (f"; {'; '.join(problems)}" if problems else ""),
                 bool(round_ids) and not problems)


def _verify_problem(body: dict[str, Any], chain: ChainView, lock_at: str | None) -> str:
    if not body:
        return "no answer"
    if body.get("server_seed") is None:
        return "not resolved"
    if body.get("salt") is None:  # refunded before a salt was fixed: nothing to draw
        return ""
    if body.get("verified") is not True:
        return "outcome does not recompute"
    block = body.get("salt_block")
    if block is None:
        return "salt names no block"
    block_hash, stamped, before = chain.block_hash(int(block))
    locked = datetime.fromisoformat(str(lock_at)).astimezone(UTC).timestamp()
    if block_hash != body["salt"]:
        return f"salt is not the hash of block {block}"
    if not before <= locked < stamped:
        return f"block {block} is not the first stamped after lock_at"
    return ""


def render_audit(console: Console, checks: list[Check]) -> bool:
    """Prints the checks as a table and one verdict line; True when all passed."""
    console.rule("audit")
    table = Table("check", "result", "ok")
    for check in checks:
        table.add_row(check.name, check.detail, "yes" if check.ok else "NO")
    console.print(table)
    passed = all(check.ok for check in checks)
    console.print("audit passed" if passed else "audit FAILED", style="green" if passed else "red")
    return passed
