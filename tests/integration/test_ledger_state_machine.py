"""A hypothesis state machine over the money flows, checked against a model after each step.

Deposits (with repeated payment ids), bets (with repeated and reused idempotency keys),
keeper runs, settlements and refunds, withdrawals requested, paid and cancelled. After
every step: all balances sum to zero, no player is negative, running balances equal the
transfers, no bet is settled twice, every resolved round pays out exactly its pool, and
every player's balance equals the model's.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ember.domain import errors
from ember.domain.clock import ManualClock
from ember.domain.fairness import draw_outcome, seed_hash
from ember.domain.settlement import decide, settle_bets
from ember.runtime.bootstrap import build
from ember.runtime.settings import load_settings
from ember.services.cashier import credit_deposit, finish_withdrawal, request_withdrawal
from ember.services.keeper import run_keeper
from ember.services.place_bet import PlaceBet, place_bet
from tests.support import ledger_totals, market

PLAYERS = ("ann", "ben", "cat")
EXERCISED: dict[str, int] = defaultdict(int)  # shows the run reached settlements and refunds
MARKET = market(outcomes=3, commission_bps=500, min_bet=1, max_bet=500)


class CountingSalts:
    def __init__(self) -> None:
        self.given: dict[uuid.UUID, str] = {}

    def salt_for(self, round_id, now):
        return self.given.setdefault(round_id, f"salt-{len(self.given)}")


class MoneyFlows(RuleBasedStateMachine):
    databases = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.url = self.databases.fresh()
        self.clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
        self.app = build(load_settings(DATABASE_URL=self.url, EMBER_DB_POOL_SIZE=2),
                         clock=self.clock)
        self.app.markets.sync([MARKET])
        # Seeds and salts from counters: an example replays to the same draws, so
        # hypothesis can shrink it (the draw function itself is tested elsewhere).
        self.seeds = 0
        self.salts = CountingSalts()
        self.balance: dict[str, int] = defaultdict(int)
        self.payments: dict[str, tuple[str, int]] = {}
        self.placed: dict[tuple[str, str], tuple] = {}  # (player, key) → (round, outcome, amount)
        self.round_bets: dict[uuid.UUID, list[tuple[str, int, int]]] = defaultdict(list)
        self.settled: set[uuid.UUID] = set()
        self.withdrawals: dict[uuid.UUID, tuple[str, int, str]] = {}

    def next_seed(self) -> str:
        self.seeds += 1
        return hashlib.sha256(str(self.seeds).encode()).hexdigest()

    def teardown(self) -> None:
        self.app.close()
        self.databases.drop(self.url)

    # -- money in and out ---------------------------------------------------------------
    @rule(player=st.sampled_from(PLAYERS), amount=st.integers(1, 1000),
          payment=st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6"]))
    def deposit_rule(self, player, amount, payment):
        self.deposit(player, amount, payment)

    def deposit(self, player, amount, payment):
        try:
            credit_deposit(payment, player, amount, ledger=self.app.ledger, clock=self.clock)
        except errors.DuplicateConflict:
            assert self.payments[payment] != (player, amount)
            return
        if payment not in self.payments:
            self.payments[payment] = (player, amount)
            self.balance[player] += amount

    @rule(player=st.sampled_from(PLAYERS), amount=st.integers(1, 800))
    def request_withdrawal(self, player, amount):
        wid = uuid.uuid4()
        try:
            request_withdrawal(wid, player, amount, ledger=self.app.ledger)
        except errors.InsufficientFunds:
            assert self.balance[player] < amount
            return
        self.balance[player] -= amount
        self.withdrawals[wid] = (player, amount, "requested")

    @precondition(lambda self: self.withdrawals)
    @rule(pick=st.integers(0, 1000), paid=st.booleans())
    def finish_withdrawal(self, pick, paid):
        wid = list(self.withdrawals)[pick % len(self.withdrawals)]
        player, amount, status = self.withdrawals[wid]
        target = "paid" if paid else "cancelled"
        try:
            finish_withdrawal(wid, paid=paid, ledger=self.app.ledger)
        except errors.WithdrawalNotPending:
            assert status not in ("requested", target)
            return
        if status == "requested":
            self.withdrawals[wid] = (player, amount, target)
            if not paid:
                self.balance[player] += amount

    # -- rounds and bets --------------------------------------------------------------
    @rule()
    def keeper(self):
        run_keeper(markets=self.app.markets, rounds=self.app.rounds, salts=self.salts,
                   clock=self.clock, ahead=1, seeds=self.next_seed)
        self._apply_resolutions()

    @rule(seconds=st.sampled_from([1, 15, 30, 44, 60, 400]))
    def advance_time(self, seconds):
        self.clock.advance(seconds)

    # Mostly valid bets on open rounds, so rounds really settle; sometimes anything at all.
    @rule(requests=st.lists(st.tuples(
        st.sampled_from(PLAYERS), st.integers(0, 2) | st.sampled_from([-1, 3]),
        st.integers(1, 300) | st.sampled_from([0, -5, 2.5, 501]),
        st.sampled_from([f"k{i}" for i in range(12)])), min_size=1, max_size=5),
        pick=st.integers(0, 3), open_only=st.booleans())
    def bets(self, requests, pick, open_only):
        for player, outcome, amount, key in requests:
            self.bet(player, outcome, amount, key, pick, open_only)

    def bet(self, player, outcome, amount, key, pick, open_only):
        rounds = self.app.db.run(lambda c: c.execute(
            "SELECT id FROM rounds WHERE NOT %s OR (open_at <= %s AND lock_at > %s)"
            " ORDER BY open_at", (open_only, self.clock.now(), self.clock.now())).fetchall())
        if not rounds:
            return
        rid = rounds[pick % len(rounds)]["id"]
        try:
            placed = place_bet(PlaceBet(player, rid, outcome, amount, key), bets=self.app.bets,
                               clock=self.clock)
        except errors.IdempotencyConflict:
            assert self.placed[(player, key)] != (rid, outcome, amount)
            return
        except (errors.RoundClosed, errors.RoundNotOpen, errors.UnknownOutcome,
                errors.InvalidAmount, errors.AmountOutOfRange, errors.InsufficientFunds) as error:
            assert (player, key) not in self.placed
            EXERCISED[error.code] += 1
            return
        if placed.replayed:
            assert self.placed[(player, key)] == (rid, outcome, amount)
            return
        assert (player, key) not in self.placed and rid not in self.settled
        self.placed[(player, key)] = (rid, outcome, amount)
        self.round_bets[rid].append((player, outcome, amount))
        self.balance[player] -= amount

    def _apply_resolutions(self):
        rows = self.app.db.run(lambda c: c.execute(
            "SELECT * FROM rounds WHERE status IN ('settled', 'refunded')").fetchall())
        for row in rows:
            if row["id"] in self.settled:
                continue
            self.settled.add(row["id"])
            assert seed_hash(row["server_seed"]) == row["seed_hash"]
            assert row["outcome"] == draw_outcome(row["server_seed"], str(row["id"]), row["salt"], 3)
            stakes = self.round_bets[row["id"]]
            pools: dict[int, int] = defaultdict(int)
            for _, outcome, amount in stakes:
                pools[outcome] += amount
            verdict = decide(pools, row["outcome"], MARKET.commission_bps)
            paid, _ = settle_bets([(o, a) for _, o, a in stakes], verdict)
            for (player, _, _), back in zip(stakes, paid, strict=True):
                self.balance[player] += back
            EXERCISED[row["status"] if stakes else "empty"] += 1
            assert row["status"] == ("refunded" if verdict.refunded else "settled")

    @rule(requests=st.lists(st.tuples(st.sampled_from(PLAYERS), st.integers(0, 2),
                                      st.integers(1, 200)), min_size=2, max_size=8))
    def play_a_full_round(self, requests):
        """Fund, keep, bet on the open round, let it close and resolve: reaches settlement."""
        for player in PLAYERS:
            self.deposit(player, 400, f"round-fund-{uuid.uuid4()}")
        self.keeper()
        for player, outcome, amount in requests:
            self.bet(player, outcome, amount, str(uuid.uuid4()), 0, True)
        self.clock.advance(60)
        self.keeper()

    # -- invariants --------------------------------------------------------------------
    @invariant()
    def ledger_balances(self):
        with self.app.db.pool.connection() as conn:
            assert ledger_totals(conn) == {"total": 0, "negative": 0, "drift": 0}
            players = {r["id"].removeprefix("player:"): r["balance"] for r in conn.execute(
                "SELECT id, balance FROM accounts WHERE kind = 'player'")}
            for player in PLAYERS:
                assert players.get(player, 0) == self.balance[player], player
            twice = conn.execute(
                "SELECT count(*) AS n FROM (SELECT reference, credit_account FROM transfers"
                " WHERE kind IN ('payout', 'refund') GROUP BY 1, 2 HAVING count(*) > 1) t"
            ).fetchone()["n"]
            assert twice == 0
            unbalanced = conn.execute(
                "SELECT count(*) AS n FROM rounds r WHERE status IN ('settled', 'refunded') AND"
                " (SELECT coalesce(sum(amount), 0) FROM bets WHERE round_id = r.id)"
                " <> coalesce(paid_out, 0) + coalesce(commission, 0) + coalesce(dust, 0)"
                "    + coalesce(refunded, 0)").fetchone()["n"]
            assert unbalanced == 0
            pools_left = conn.execute(
                "SELECT count(*) AS n FROM account_balances b JOIN rounds r"
                " ON b.id = 'round:' || r.id WHERE r.status IN ('settled', 'refunded')"
                " AND b.balance <> 0").fetchone()["n"]
            assert pools_left == 0
            shards_off = conn.execute(
                "SELECT count(*) AS n FROM (SELECT round_id, outcome, sum(amount) AS staked"
                " FROM bets GROUP BY 1, 2) b FULL JOIN (SELECT round_id, outcome,"
                " sum(staked) AS staked FROM round_pool_shards GROUP BY 1, 2) s"
                " USING (round_id, outcome) WHERE b.staked IS DISTINCT FROM s.staked"
            ).fetchone()["n"]
            assert shards_off == 0  # live pools always equal the bets


def test_money_flows_state_machine(databases):
    MoneyFlows.databases = databases
    machine = MoneyFlows.TestCase
    machine.settings = settings(max_examples=25, stateful_step_count=30, deadline=None,
                                suppress_health_check=list(HealthCheck))
    machine().runTest()
    print("exercised:", dict(EXERCISED))
    assert EXERCISED["settled"] > 0 and EXERCISED["refunded"] > 0, dict(EXERCISED)
