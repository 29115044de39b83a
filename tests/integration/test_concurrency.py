"""Real threads against PostgreSQL: the database, not luck, keeps the money right."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from ember.domain import errors
from ember.domain.clock import ManualClock
from ember.domain.resolution import resolve
from ember.services.keeper import resolve_round, run_keeper
from ember.services.place_bet import PlaceBet, place_bet
from tests.support import fund, ledger_totals, market, open_round


def all_at_once(n, call):
    """Results (or raised errors) of `call(i)` for i < n, started together behind a barrier."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return call(i)
        except errors.EmberError as error:
            return error

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_200_bets_at_once_on_a_balance_covering_100(ember, sql):
    rid = open_round(ember, market(min_bet=10, max_bet=10))
    fund(ember, "alice", 1000)
    results = all_at_once(200, lambda i: place_bet(
        PlaceBet("alice", rid, i % 2, 10, f"k{i}"), bets=ember.bets, clock=ember.clock))
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"BetPlaced": 100, "InsufficientFunds": 100}
    assert ember.ledger.balance("alice") == 0
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 100
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}


def test_50_calls_with_one_idempotency_key_make_one_bet(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    results = all_at_once(50, lambda i: place_bet(
        PlaceBet("alice", rid, 1, 100, "same-key"), bets=ember.bets, clock=ember.clock))
    assert all(type(r).__name__ == "BetPlaced" for r in results), results
    assert len({r.bet.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert ember.ledger.balance("alice") == 900
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 1


def test_two_keepers_resolving_the_same_round_settle_it_once(ember, sql, clock):
    rid = open_round(ember, market())
    for i in range(20):
        fund(ember, f"p{i}", 1000)
        place_bet(PlaceBet(f"p{i}", rid, i % 2, 100 + i, f"k{i}"), bets=ember.bets, clock=clock)
    clock.advance(60)
    results = all_at_once(2, lambda i: resolve_round(rid, rounds=ember.rounds, salts=ember.salts,
                                                     clock=clock))
    assert sum(r is not None for r in results) == 1
    moved = sql.execute("SELECT kind, count(*) AS n FROM transfers WHERE reference = %s"
                        " GROUP BY kind", (str(rid),)).fetchall()
    counts = {m["kind"]: m["n"] for m in moved}
    assert counts.get("commission", 0) <= 1 and counts["bet"] == 20
    assert counts.get("payout", 0) + counts.get("refund", 0) <= 20
    assert sql.execute("SELECT count(*) AS n FROM outbox WHERE key = %s",
                       (str(rid),)).fetchone()["n"] in (1, 2)
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}


def test_whole_keepers_running_twice_at_once_create_and_settle_once(ember, sql, clock):
    ember.markets.sync([market()])
    all_at_once(2, lambda i: run_keeper(markets=ember.markets, rounds=ember.rounds,
                                        salts=ember.salts, clock=clock))
    assert sql.execute("SELECT count(*) AS n FROM rounds").fetchone()["n"] == 3
    clock.advance(60)
    runs = all_at_once(2, lambda i: run_keeper(markets=ember.markets, rounds=ember.rounds,
                                               salts=ember.salts, clock=clock))
    assert sum(len(r.resolved) for r in runs) == 1
    assert sql.execute("SELECT count(*) AS n FROM rounds").fetchone()["n"] == 4


def test_a_bet_queued_behind_a_settlement_is_refused_not_lost(ember, sql, clock):
    rid = open_round(ember, market())
    fund(ember, "a", 1000)
    fund(ember, "b", 1000)
    place_bet(PlaceBet("a", rid, 0, 100, "k-a"), bets=ember.bets, clock=clock)
    place_bet(PlaceBet("b", rid, 1, 100, "k-b"), bets=ember.bets, clock=clock)
    settle_at = clock.now() + timedelta(seconds=60)
    late_clock = ManualClock(clock.now() + timedelta(seconds=10))  # thinks betting is open
    started = threading.Event()

    def slow_judge(round_, pools, seed):
        started.set()
        time.sleep(0.5)  # a bet arrives while the round row is locked for settlement
        return resolve(round_, pools, seed, "salt", settle_at)

    with ThreadPoolExecutor(2) as pool:
        settling = pool.submit(ember.rounds.resolve, rid, slow_judge, settle_at)
        started.wait(5)
        late = pool.submit(lambda: place_bet(PlaceBet("a", rid, 1, 50, "k-late"),
                                             bets=ember.bets, clock=late_clock))
        assert settling.result() is not None
        try:
            late.result()
            raise AssertionError("a bet landed in a settled round")
        except errors.RoundClosed:
            pass
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 2
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}
