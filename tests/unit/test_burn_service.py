"""run_burns with in-memory fakes: split, supply check, kill switch and crashes."""

from datetime import UTC, datetime

import pytest

from ember.domain.clock import ManualClock
from ember.services.burn import SupplyMismatch, run_burns
from ember.services.buy_back import run_buybacks
from tests.buyback_fakes import (
    USDT,
    WEI_PER_MINOR,
    Crash,
    FakeControls,
    FakePool,
    FakePrices,
    FakeRoute,
    FakeStore,
    FakeTokenActions,
    policy,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
BOUGHT = 150 * USDT * WEI_PER_MINOR


class World:
    def __init__(self, buys: int = 1, burn_share_bps: int = 8000) -> None:
        self.store = FakeStore(150 * USDT * buys)
        self.actions = FakeTokenActions()
        self.controls = FakeControls()
        self.clock = ManualClock(NOW)
        route = FakeRoute("dex")
        for _ in range(buys):
            run_buybacks(store=self.store, routes=[route], pool_price=FakePool(),
                         prices=FakePrices(), controls=self.controls,
                         policy=policy(tranche_size=150 * USDT), clock=self.clock)
            self.clock.advance(300)
        for buyback_id in list(self.store.rows):
            self.store.open_burn(buyback_id, burn_share_bps)

    def run(self):
        return run_burns(store=self.store, actions=self.actions, controls=self.controls,
                         clock=self.clock)


def test_bought_tokens_are_burned_and_the_rest_deposited():
    world = World()
    run = world.run()
    assert len(run.finished) == 1
    assert world.actions.burned == BOUGHT * 8 // 10 and world.actions.deposited == BOUGHT // 5
    assert world.store.tokens == {"bought": BOUGHT, "burned": BOUGHT * 8 // 10,
                                  "dividend_pool": BOUGHT // 5, "wallet": 0}
    assert ("tokens.burned", run.finished[0]) in world.store.events
    assert world.run().finished == []
    world.store.assert_conserved()


@pytest.mark.parametrize("where", ["actions:before_burn", "actions:after_burn",
                                   "actions:before_deposit", "actions:after_deposit",
                                   "store:finish_burn"])
def test_a_crash_at_any_step_resumes_without_burning_or_depositing_twice(where):
    world = World()
    owner, point = where.split(":")
    (world.actions if owner == "actions" else world.store).crashes.add(point)
    with pytest.raises(Crash):
        world.run()
    assert len(world.store.pending_burns()) == 1
    world.store.assert_conserved()
    assert len(world.run().finished) == 1
    assert len(world.actions.burns) == 1 and len(world.actions.deposits) == 1
    assert world.actions.burned == BOUGHT * 8 // 10 and world.actions.deposited == BOUGHT // 5
    assert [e for e, _ in world.store.events].count("tokens.burned") == 1
    world.store.assert_conserved()


def test_a_zero_part_is_not_sent():
    burn_all = World(burn_share_bps=10_000)
    burn_all.run()
    assert burn_all.actions.deposits == {} and burn_all.actions.burned == BOUGHT
    deposit_all = World(burn_share_bps=0)
    deposit_all.run()
    assert deposit_all.actions.burns == {} and deposit_all.actions.deposited == BOUGHT
    burn_all.store.assert_conserved()
    deposit_all.store.assert_conserved()


@pytest.mark.parametrize("fault", ["unburned", "misreported"])
def test_a_burn_the_chain_does_not_show_in_full_is_refused(fault):
    world = World()
    # unburned: the transaction burned a wei less than asked (its logs and the supply agree);
    # misreported: its logs claim the amount but the supply fell a wei short.
    setattr(world.actions, fault, 1)
    with pytest.raises(SupplyMismatch):
        world.run()
    assert len(world.store.pending_burns()) == 1 and world.actions.deposits == {}
    assert world.store.tokens["burned"] == 0
    with pytest.raises(SupplyMismatch):
        world.run()  # the same burn, looked up again: still never marked done


def test_another_holders_burn_in_the_same_block_does_not_stop_ours():
    world = World()
    world.actions.foreign_burn = 1  # anyone may burn; one wei in our block must not halt us
    run = world.run()
    assert len(run.finished) == 1 and world.store.pending_burns() == []
    assert world.store.tokens["burned"] == world.actions.burned
    world.store.assert_conserved()


def test_the_kill_switch_stops_between_two_burns():
    world = World(buys=2)
    first = world.store.pending_burns()[0].buyback_id
    original = world.store.finish_burn

    def finish_then_halt(buyback_id, *args):
        original(buyback_id, *args)
        world.controls.reason = "operator"
    world.store.finish_burn = finish_then_halt
    run = world.run()
    assert run.finished == [first] and run.halted == "operator"
    assert len(world.actions.burns) == 1 and len(world.store.pending_burns()) == 1
    world.store.assert_conserved()


def test_the_token_ledger_balances_with_some_burns_pending():
    world = World(buys=3)
    world.actions.crashes.add("after_burn")
    with pytest.raises(Crash):
        world.run()
    world.store.assert_conserved()
    assert world.store.tokens["wallet"] == 3 * BOUGHT
    world.run()
    assert world.store.tokens["wallet"] == 0
    world.store.assert_conserved()
