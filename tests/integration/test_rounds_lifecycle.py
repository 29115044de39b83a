"""The keeper: rounds open ahead, lock, and are settled or refunded by set-based SQL."""


import pytest

from ember.domain.fairness import draw_outcome, seed_hash
from ember.domain.rounds import round_id
from ember.domain.settlement import decide, settle_bets
from ember.services.keeper import run_keeper
from tests.support import bet, fund, ledger_totals, market, open_round, two_sided_round


def keeper(app, ahead=2):
    return run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock,
                      ahead=ahead)


def round_row(sql, rid):
    return sql.execute("SELECT * FROM rounds WHERE id = %s", (rid,)).fetchone()


def test_keeper_opens_rounds_ahead_and_is_idempotent(ember, sql):
    ember.markets.sync([market()])
    first = keeper(ember, ahead=2)
    again = keeper(ember, ahead=2)
    assert (first.created, again.created) == (3, 0)
    statuses = [r["status"] for r in sql.execute("SELECT status FROM rounds ORDER BY open_at")]
    assert statuses == ["open", "scheduled", "scheduled"]


def test_seed_is_sealed_until_resolution_then_published(ember, sql, clock):
    ember.markets.sync([market()])
    keeper(ember)
    rid = round_id("flip", clock.now())
    row = round_row(sql, rid)
    assert row["server_seed"] is None and row["salt"] is None and len(row["seed_hash"]) == 64
    clock.advance(60)
    keeper(ember)
    row = round_row(sql, rid)
    assert row["status"] == "refunded" and row["refund_reason"] == "no_bets"
    assert seed_hash(row["server_seed"]) == row["seed_hash"]


def test_a_round_settles_pari_mutuel_with_dust_to_commission(ember, sql, clock):
    rid = open_round(ember, market(commission_bps=300))
    stakes = [("a", 0, 100), ("b", 1, 300), ("c", 0, 7), ("d", 1, 33), ("a", 1, 11)]
    for player in "abcd":
        fund(ember, player, 1000)
    for player, outcome, amount in stakes:
        bet(ember, player, rid, outcome, amount)
    clock.advance(60)
    [resolved] = keeper(ember).resolved
    row = round_row(sql, rid)
    drawn = draw_outcome(row["server_seed"], str(rid), row["salt"], 2)
    assert resolved.outcome == row["outcome"] == drawn
    verdict = decide({0: 107, 1: 344}, drawn, 300)
    paid, commission = settle_bets([(o, a) for _, o, a in stakes], verdict)
    expected = {p: 1000 for p in "abcd"}
    for (player, _, amount), back in zip(stakes, paid, strict=True):
        expected[player] += back - amount
    assert {p: ember.ledger.balance(p) for p in "abcd"} == expected
    assert (row["paid_out"], row["commission"] + row["dust"]) == (sum(paid), commission)
    assert sql.execute("SELECT balance FROM account_balances WHERE id = 'commission'"
                       ).fetchone()["balance"] == commission
    assert sql.execute("SELECT balance FROM account_balances WHERE id = %s",
                       (f"round:{rid}",)).fetchone()["balance"] == 0
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}


def test_settlement_writes_commission_event_in_the_same_transaction(ember, sql, clock):
    rid = two_sided_round(ember, market(commission_bps=1000))
    keeper(ember)
    events = sql.execute("SELECT type, key, payload FROM outbox ORDER BY seq").fetchall()
    assert [e["type"] for e in events] == ["round.settled", "commission.accrued"]
    assert events[1]["key"] == str(rid) and events[1]["payload"]["amount"] == 100


def test_one_sided_round_is_refunded_in_full_without_commission(ember, sql, clock):
    rid = open_round(ember, market())
    fund(ember, "a", 1000)
    fund(ember, "b", 1000)
    bet(ember, "a", rid, 1, 400)
    bet(ember, "b", rid, 1, 250)
    clock.advance(60)
    keeper(ember)
    row = round_row(sql, rid)
    assert (row["status"], row["refund_reason"]) == ("refunded", "one_sided")
    assert ember.ledger.balance("a") == ember.ledger.balance("b") == 1000
    assert sql.execute("SELECT count(*) AS n FROM outbox WHERE type = 'commission.accrued'"
                       ).fetchone()["n"] == 0


class FixedSalt:
    def __init__(self, salt):
        self.salt = salt

    def salt_for(self, round_id, now):
        return self.salt


def test_nobody_on_the_winning_outcome_refunds_everyone(ember, sql, clock):
    rid = open_round(ember, market(outcomes=50))
    for i in range(2):
        fund(ember, f"p{i}", 100)
        bet(ember, f"p{i}", rid, i, 100)
    clock.advance(60)
    # A public salt whose draw lands on an outcome nobody backed (the draw itself is real).
    seed = sql.execute("SELECT server_seed FROM round_seeds WHERE round_id = %s",
                       (rid,)).fetchone()["server_seed"]
    salt = next(f"s{n}" for n in range(100) if draw_outcome(seed, str(rid), f"s{n}", 50) > 1)
    run_keeper(markets=ember.markets, rounds=ember.rounds, salts=FixedSalt(salt), clock=clock)
    row = round_row(sql, rid)
    assert row["outcome"] > 1
    assert (row["status"], row["refund_reason"]) == ("refunded", "no_winning_bet")
    assert ember.ledger.balance("p0") == ember.ledger.balance("p1") == 100


class NoSalt:
    def salt_for(self, round_id, now):
        return None


def test_round_without_salt_waits_then_is_refunded_after_the_deadline(ember, sql, clock):
    rid = open_round(ember, market(resolve_grace_s=300))
    fund(ember, "a", 100)
    fund(ember, "b", 100)
    bet(ember, "a", rid, 0, 100)
    bet(ember, "b", rid, 1, 100)
    clock.advance(61)
    stalled = run_keeper(markets=ember.markets, rounds=ember.rounds, salts=NoSalt(), clock=clock)
    assert stalled.resolved == [] and round_row(sql, rid)["status"] == "locked"
    clock.advance(300)
    run_keeper(markets=ember.markets, rounds=ember.rounds, salts=NoSalt(), clock=clock)
    row = round_row(sql, rid)
    assert (row["status"], row["refund_reason"]) == ("refunded", "unresolved")
    assert ember.ledger.balance("a") == ember.ledger.balance("b") == 100


def test_a_final_round_cannot_be_changed_by_sql(ember, sql, clock):
    import psycopg

    rid = open_round(ember, market())
    clock.advance(60)
    keeper(ember)
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="already"):
        sql.execute("UPDATE rounds SET outcome = 1 WHERE id = %s", (rid,))


def test_settled_round_rejects_new_bets(ember, clock):
    from ember.domain.errors import RoundClosed

    rid = open_round(ember, market())
    fund(ember, "a", 100)
    clock.advance(60)
    keeper(ember)
    with pytest.raises(RoundClosed):
        bet(ember, "a", rid, 0, 10)
    assert ember.ledger.balance("a") == 100
