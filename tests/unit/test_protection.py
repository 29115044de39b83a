from datetime import UTC, datetime, timedelta

import pytest

from ember.domain.errors import InvalidRequest
from ember.domain.protection import (
    Exposure,
    Limit,
    LimitExceeded,
    LimitKind,
    Period,
    SelfExcluded,
    check_bet,
    check_deposit,
    exclusion_end,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
NOTHING = Exposure({}, {}, {})


def loss(amount, period=Period.DAY):
    return Limit(LimitKind.LOSS, period, amount)


def test_lowering_a_limit_applies_at_once():
    lowered = loss(100).changed_to(50, NOW)
    assert lowered.in_force(NOW) == 50 and lowered.pending_at is None


def test_raising_a_limit_waits_24_hours():
    raised = loss(100).changed_to(500, NOW)
    assert raised.in_force(NOW) == 100
    assert raised.in_force(NOW + timedelta(hours=23, minutes=59)) == 100
    assert raised.in_force(NOW + timedelta(hours=24)) == 500


def test_removing_a_limit_is_a_raise():
    removed = loss(100).changed_to(None, NOW)
    assert removed.in_force(NOW) == 100 and removed.in_force(NOW + timedelta(days=1)) is None


def test_setting_a_first_limit_applies_at_once():
    assert Limit(LimitKind.STAKE, Period.WEEK).changed_to(10, NOW).in_force(NOW) == 10


def test_lowering_cancels_a_pending_raise():
    changed = loss(100).changed_to(500, NOW).changed_to(80, NOW + timedelta(hours=1))
    assert changed.in_force(NOW + timedelta(days=2)) == 80


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_bad_limit_amounts_are_refused(bad):
    with pytest.raises(InvalidRequest):
        loss(100).changed_to(bad, NOW)


def test_loss_limit_counts_the_stake_as_lost_and_what_came_back():
    exposure = Exposure({Period.DAY: 90}, {Period.DAY: 40}, {})
    check_bet(50, [loss(100)], exposure, None, NOW)  # 90 + 50 - 40 = 100
    with pytest.raises(LimitExceeded) as refused:
        check_bet(51, [loss(100)], exposure, None, NOW)
    assert refused.value.code == "loss_limit_exceeded" and refused.value.status == 409


def test_stake_limit_ignores_winnings():
    limit = Limit(LimitKind.STAKE, Period.WEEK, 100)
    exposure = Exposure({Period.WEEK: 90}, {Period.WEEK: 1000}, {})
    with pytest.raises(LimitExceeded, match="stake"):
        check_bet(11, [limit], exposure, None, NOW)


def test_deposit_limit_and_exclusion():
    limit = Limit(LimitKind.DEPOSIT, Period.MONTH, 1000)
    check_deposit(1000, [limit], NOTHING, None, NOW)
    with pytest.raises(LimitExceeded, match="deposit"):
        check_deposit(1001, [limit], NOTHING, None, NOW)
    with pytest.raises(SelfExcluded):
        check_deposit(1, [], NOTHING, NOW + timedelta(seconds=1), NOW)
    check_deposit(1, [], NOTHING, NOW, NOW)  # ended


@pytest.mark.parametrize("days", [0, -1, 1.5, "7", 10_000])
def test_exclusion_periods_must_be_sane(days):
    with pytest.raises(InvalidRequest):
        exclusion_end(NOW, days)
