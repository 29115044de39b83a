"""A bet is decided on an unlocked read and written by hold_bet only if what the decision
relied on still holds under the locks; when it changed in between, the bet is decided again
under the locks and the player gets the answer the new facts give.

Each test changes one fact from inside the first decision, on another connection, exactly
between the read and the write.
"""

import uuid
from datetime import timedelta

import pytest

from ember.domain import errors
from ember.domain.protection import LimitExceeded, LimitKind, Period, SelfExcluded
from ember.domain.resolution import Resolution
from ember.domain.settlement import decide
from ember.services.place_bet import PlaceBet, decide_bet
from tests.support import bet, fund, ledger_totals, market, open_round


def hold_with(app, rid, meanwhile, *, amount=600, key=None):
    """Alice's bet of `amount`, with `meanwhile()` run inside its first decision only."""
    cmd = PlaceBet("alice", rid, 0, amount, key or str(uuid.uuid4()))
    now = app.clock.now()
    decisions = []

    def decide_once_then_again(context):
        decisions.append(context)
        if len(decisions) == 1:
            meanwhile()
        return decide_bet(cmd, context, now)

    held = app.bets.hold(rid, "alice", 0, amount, cmd.idempotency_key,
                         decide=decide_once_then_again, now=now)
    return held, decisions


def alice_bets(sql):
    return sql.execute("SELECT count(*) AS n FROM bets WHERE player_id = 'alice'").fetchone()["n"]


def test_an_ordinary_bet_is_decided_once(ember):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    held, decisions = hold_with(ember, rid, lambda: None)
    assert len(decisions) == 1 and held.balance == 400 and not held.replayed


def test_a_bet_of_the_same_player_in_between_is_seen_and_the_second_refused(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    with pytest.raises(errors.InsufficientFunds):
        hold_with(ember, rid, lambda: bet(ember, "alice", rid, 1, 600))
    assert ember.ledger.balance("alice") == 400 and alice_bets(sql) == 1
    assert ledger_totals(sql)["negative"] == 0


def test_a_limit_set_in_between_is_applied(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    set_limit = lambda: ember.protection.change_limits(  # noqa: E731
        "alice", {(LimitKind.STAKE, Period.DAY): 500}, ember.clock.now())
    with pytest.raises(LimitExceeded):
        hold_with(ember, rid, set_limit)
    assert ember.ledger.balance("alice") == 1000 and alice_bets(sql) == 0


def test_a_self_exclusion_begun_in_between_is_applied(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    exclude = lambda: ember.protection.exclude(  # noqa: E731
        "alice", ember.clock.now() + timedelta(days=7), ember.clock.now())
    with pytest.raises(SelfExcluded):
        hold_with(ember, rid, exclude)
    assert ember.ledger.balance("alice") == 1000 and alice_bets(sql) == 0


def test_a_round_resolved_in_between_takes_no_more_bets(ember, sql):
    m = market(commission_bps=300)
    rid = open_round(ember, m)
    fund(ember, "alice", 1000)

    def refund_now():
        ember.rounds.resolve(rid, lambda round_, pools, seed: Resolution(
            decide(pools, None, m.commission_bps), None, None), ember.clock.now())

    with pytest.raises(errors.RoundClosed):
        hold_with(ember, rid, refund_now)
    assert ember.ledger.balance("alice") == 1000 and alice_bets(sql) == 0


def test_the_same_key_committed_in_between_is_a_replay_of_that_bet(ember, sql):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    first = []
    held, decisions = hold_with(ember, rid, lambda: first.append(
        hold_with(ember, rid, lambda: None, key="k1")[0]), key="k1")
    assert held.replayed and held.bet == first[0].bet and held.balance == 400
    assert held.education == first[0].education
    assert len(decisions) == 1  # the replay is found before any second decision
    assert alice_bets(sql) == 1 and ember.ledger.balance("alice") == 400
