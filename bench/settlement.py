"""Settling one round of 100,000 bets from 10,000 players, against a one-statement baseline.

Measured: `resolve_round` from the keeper service, the real path (salt, lock, pools,
payout transfers, commission, round update, outbox), on a fresh database.
Baseline: the settlement as one SQL statement: a single INSERT … SELECT that writes every
winner's payout transfer into the ledger (triggers and constraints on, as they always
are). The ratio is therefore the cost of doing settlement properly (locking, pools,
commission, round record, outbox, several statements) over doing it in one statement.
For reference it also times the bare minimum, an UPDATE of the balances with the ledger
bypassed (no transfers, triggers off), which no correct settlement could be.

To repeat both on the same data, every run happens in a transaction that is rolled back
(then VACUUMed away, untimed); one last settlement is committed, timed for comparison and
checked against the ledger.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import psycopg

from ember.adapters.postgres.database import Database
from ember.adapters.postgres.rounds import PostgresRounds, ResolvedRound
from ember.adapters.postgres.salts import LocalBeaconSalts
from ember.domain import ledger as accounts
from ember.domain.clock import ManualClock
from ember.domain.fairness import new_seed
from ember.domain.markets import Market
from ember.domain.money import CURRENCY
from ember.domain.resolution import Resolution, resolve
from ember.domain.rounds import round_id, round_times
from ember.domain.settlement import Verdict
from ember.runtime.bootstrap import Ember, build
from ember.runtime.migrate import apply_migrations
from ember.runtime.settings import load_settings
from ember.services.keeper import resolve_round

from .common import (
    fetch_row,
    fund_players,
    median,
    progress,
    report,
    scratch_database,
    timed,
)

T = TypeVar("T")

NAME = "settlement"
TARGET = 1.5
PLAYERS = 10_000
BETS = 100_000
REPEATS = 7  # measured runs of each kind, after one untimed warm-up of each
DEPOSIT = 100_000_000  # per player: covers ten bets at the largest stake
MAX_STAKE = 1_000_000
OPEN_AT = datetime(2030, 1, 1, tzinfo=UTC)
MARKET = Market(id="bench", title="bench", outcomes=("heads", "tails"), interval_s=60,
                bet_window_s=45, commission_bps=300, min_bet=1, max_bet=MAX_STAKE)

# Every bet with its hold transfer (same id), as place_bet writes them, but in one
# statement: player n bets every PLAYERS-th time, random outcome and stake, placed while open.
_BETS = """
WITH placed AS (
    SELECT gen_random_uuid() AS id,
           'p' || lpad((1 + mod(g, %(players)s))::text, 5, '0') AS player_id,
           floor(random() * %(outcomes)s)::int AS outcome,
           (1000 + floor(random() * (%(max_stake)s - 1000)))::bigint AS amount,
           'bench-' || g AS idempotency_key,
           %(open_at)s + g * (%(window)s / %(bets)s::float) * interval '1 second' AS placed_at
      FROM generate_series(0, %(bets)s - 1) g
), held AS (
    INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
    SELECT id, 'player:' || player_id, %(pool)s, %(currency)s, amount, 'bet', %(round)s FROM placed
)
INSERT INTO bets (id, round_id, player_id, outcome, amount, idempotency_key, request_hash,
                  placed_at)
SELECT id, %(round_id)s, player_id, outcome, amount, idempotency_key, md5(idempotency_key),
       placed_at
  FROM placed
"""

# The baseline: settlement's money movement as one statement, per-player payout transfers
# (same per-bet flooring, same D and W) written to the ledger, which moves the balances.
_BASELINE = """
INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
SELECT gen_random_uuid(), %(pool)s, 'player:' || player_id, 'USDT', payout, 'payout', %(round)s
  FROM (SELECT player_id,
               sum(div(amount::numeric * %(distributable)s, %(winning_stake)s))::bigint AS payout
          FROM bets WHERE round_id = %(round_id)s AND outcome = %(winner)s
         GROUP BY player_id) p
 WHERE payout > 0
"""

# The reference floor: compute each winner's payout and add it to the balance directly.
# `replica` disables triggers for the transaction (accounts_guard refuses direct balance
# writes): not a settlement, only the least work the database could do. Rolled back.
_BARE_UPDATE = """
UPDATE accounts a SET balance = a.balance + p.payout
  FROM (SELECT player_id,
               sum(div(amount::numeric * %(distributable)s, %(winning_stake)s))::bigint AS payout
          FROM bets WHERE round_id = %(round_id)s AND outcome = %(winner)s
         GROUP BY player_id) p
 WHERE a.id = 'player:' || p.player_id AND p.payout > 0
"""


class Rehearsal(Database):
    """A Database whose units of work always roll back: the same SQL, repeatable on same data."""

    def run(self, work: Callable[[psycopg.Connection], T]) -> T:
        with self.pool.connection() as conn, conn.transaction(force_rollback=True):
            return work(conn)


def main() -> None:
    with scratch_database(f"ember_bench_{os.getpid()}") as url:
        _bench(url)


def _bench(url: str) -> None:
    # Other work on this machine shows up as noise; the load says how much to expect.
    progress(f"{NAME}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    apply_migrations(url)
    clock = ManualClock(OPEN_AT)
    app = build(load_settings(DATABASE_URL=url, EMBER_DB_POOL_SIZE=2), clock=clock)
    rehearsal = Rehearsal(url, max_size=2, name="bench-rehearsal")
    try:
        rid, setup_s = timed(lambda: set_up(app))
        progress(f"{NAME}: setup {BETS} bets from {PLAYERS} players in {setup_s:.1f} s")
        expected = expected_resolution(app, rid, clock)
        verdict = expected.verdict
        progress(f"{NAME}: winner {verdict.winner}, T={verdict.total}, W={verdict.winning_stake},"
                 f" D={verdict.distributable}")
        rounds, salts = PostgresRounds(rehearsal), LocalBeaconSalts(rehearsal)
        with psycopg.connect(url, autocommit=True) as conn:
            samples = alternate({
                "baseline": lambda: rehearse_baseline(conn, rid, verdict, _BASELINE),
                "bare": lambda: rehearse_baseline(conn, rid, verdict, _BARE_UPDATE, bare=True),
                "settle": lambda: rehearse_settlement(rid, rounds, salts, clock, expected),
            }, lambda: conn.execute("VACUUM"))
        settle_s, baseline_s, bare_s = samples["settle"], samples["baseline"], samples["bare"]
        committed = commit_settlement(app, rid, expected)
        progress(f"{NAME}: committed settlement once (with COMMIT) in {committed:.3f} s;"
                 " ledger checks passed")
    finally:
        rehearsal.close()
        app.close()
    value, baseline = median(settle_s), median(baseline_s)
    progress(f"{NAME}: settle {_listed(settle_s)} median {value:.3f} s, min {min(settle_s):.3f} s")
    progress(f"{NAME}: baseline {_listed(baseline_s)} median {baseline:.3f} s,"
             f" min {min(baseline_s):.3f} s")
    progress(f"{NAME}: reference bare balance UPDATE (ledger bypassed) median"
             f" {median(bare_s):.3f} s; settle/bare = {value / median(bare_s):.2f}")
    report(NAME, value, baseline, TARGET)


def set_up(app: Ember) -> uuid.UUID:
    """The id of an open round holding BETS bets from PLAYERS funded players, vacuumed."""
    app.markets.sync([MARKET])
    app.rounds.create(MARKET, OPEN_AT, new_seed(), app.clock.now())
    rid = round_id(MARKET.id, OPEN_AT)
    app.db.run(lambda conn: _insert_players_and_bets(conn, rid))
    with psycopg.connect(app.db.url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # stats and visibility as a long-lived database has them
    check_setup(app, rid)
    return rid


def _insert_players_and_bets(conn: psycopg.Connection, rid: uuid.UUID) -> None:
    conn.execute("SELECT setseed(0.42)")  # the same outcomes and stakes on every run
    params = {"players": PLAYERS, "bets": BETS, "currency": CURRENCY, "deposit": DEPOSIT,
              "outcomes": len(MARKET.outcomes), "max_stake": MAX_STAKE, "open_at": OPEN_AT,
              "window": MARKET.bet_window_s, "pool": accounts.round_pool(rid), "round": str(rid),
              "round_id": rid}
    fund_players(conn, prefix="p", width=5, players=PLAYERS, deposit=DEPOSIT, currency=CURRENCY)
    conn.execute(_BETS, params)


def check_setup(app: Ember, rid: uuid.UUID) -> None:
    """Raises unless the bets, the round's pool account and the players' balances agree."""
    pools = app.rounds.pools(rid)
    row = fetch_row(
        app.db.url,
        "SELECT (SELECT count(*) FROM bets) AS bets,"
        " (SELECT count(DISTINCT player_id) FROM bets) AS players,"
        " (SELECT sum(amount) FROM bets)::bigint AS staked,"
        " (SELECT balance FROM account_balances WHERE id = %s)::bigint AS pool,"
        " (SELECT sum(balance) FROM accounts WHERE kind = 'player')::bigint AS held",
        (accounts.round_pool(rid),))
    assert row["bets"] == BETS and row["players"] == PLAYERS, row
    assert sum(pools.values()) == row["staked"] == row["pool"], (pools, row)
    assert row["held"] == PLAYERS * DEPOSIT - row["staked"], row
    progress(f"{NAME}: checked {row['bets']} bets, {row['players']} players,"
             f" pool {row['pool']} = sum of bets, pools {pools}")


def expected_resolution(app: Ember, rid: uuid.UUID, clock: ManualClock) -> Resolution:
    """How the round will be settled, with its salt drawn (committed) and the clock past close.

    The salt is fixed before any run, so every rolled-back settlement draws the same winner
    and the baseline can use the same W and D.
    """
    clock.set(round_times(MARKET, OPEN_AT).close_at + timedelta(seconds=1))
    salt = app.salts.salt_for(rid, clock.now())
    seed = fetch_row(app.db.url, "SELECT server_seed FROM round_seeds WHERE round_id = %s",
                     (rid,))["server_seed"]
    resolution = resolve(app.rounds.get(rid), app.rounds.pools(rid), seed, salt, clock.now())
    assert resolution is not None and not resolution.verdict.refunded, resolution
    return resolution


def alternate(runs: dict[str, Callable[[], float]],
              reset: Callable[[], object]) -> dict[str, list[float]]:
    """Seconds per named run: REPEATS of each, interleaved A B C A B C…

    One untimed warm-up of each first; `reset` after every run clears its dead rows, so
    each run meets the same tables.
    """
    samples: dict[str, list[float]] = {label: [] for label in runs}
    for i in range(REPEATS + 1):
        for label, run in runs.items():
            seconds = run()
            reset()
            if i > 0:
                samples[label].append(seconds)
            progress(f"{NAME}: {'warm-up' if i == 0 else f'run {i}'} {label} {seconds:.3f} s")
    return samples


def rehearse_settlement(rid: uuid.UUID, rounds: PostgresRounds, salts: LocalBeaconSalts,
                        clock: ManualClock, expected: Resolution) -> float:
    """Seconds the keeper's resolve_round took, in transactions that were rolled back."""
    resolved, seconds = timed(lambda: resolve_round(rid, rounds=rounds, salts=salts, clock=clock))
    check_resolved(resolved, expected)
    return seconds


def rehearse_baseline(conn: psycopg.Connection, rid: uuid.UUID, verdict: Verdict, statement: str,
                      bare: bool = False) -> float:
    """Seconds a one-statement baseline's transaction took, rolled back."""
    params = {"round_id": rid, "winner": verdict.winner, "distributable": verdict.distributable,
              "winning_stake": verdict.winning_stake, "pool": accounts.round_pool(rid),
              "round": str(rid)}

    def work() -> int:
        with conn.transaction(force_rollback=True):
            if bare:
                conn.execute("SET LOCAL session_replication_role = replica")
            return conn.execute(statement, params).rowcount
    credited, seconds = timed(work)
    assert credited > 0, "the baseline credited nobody"
    return seconds


def check_resolved(resolved: ResolvedRound | None, expected: Resolution) -> None:
    """Raises unless the round settled as expected and paid out exactly its pool."""
    assert resolved is not None, "resolve_round did nothing"
    assert resolved.outcome == expected.outcome and resolved.total == expected.verdict.total
    assert resolved.paid_out + resolved.commission == resolved.total, resolved


def commit_settlement(app: Ember, rid: uuid.UUID, expected: Resolution) -> float:
    """Seconds one committed resolve_round took; raises unless the ledger balances after it."""
    resolved, seconds = timed(lambda: resolve_round(rid, rounds=app.rounds, salts=app.salts,
                                                    clock=app.clock))
    check_resolved(resolved, expected)
    assert resolved is not None
    check_ledger(app, rid, resolved)
    return seconds


def check_ledger(app: Ember, rid: uuid.UUID, resolved: ResolvedRound) -> None:
    """Raises unless payouts + commission = pool in the transfers, and balances are in step."""
    row = fetch_row(
        app.db.url,
        "SELECT (SELECT sum(amount) FROM transfers WHERE reference = %(round)s"
        "        AND kind = 'payout')::bigint AS paid,"
        " (SELECT sum(amount) FROM transfers WHERE reference = %(round)s"
        "        AND kind = 'commission')::bigint AS commission,"
        " (SELECT balance FROM account_balances WHERE id = %(pool)s)::bigint AS pool,"
        " (SELECT count(*) FROM account_balances WHERE kind = 'player'"
        "        AND balance <> running_balance) AS drift,"
        " (SELECT status FROM rounds WHERE id = %(round_id)s) AS status",
        {"round": str(rid), "round_id": rid, "pool": accounts.round_pool(rid)})
    assert row["paid"] == resolved.paid_out and row["commission"] == resolved.commission, row
    assert row["paid"] + row["commission"] == resolved.total and row["pool"] == 0, row
    assert row["drift"] == 0 and row["status"] == "settled", row


def _listed(samples: list[float]) -> str:
    return "[" + ", ".join(f"{s:.3f}" for s in samples) + "]"
