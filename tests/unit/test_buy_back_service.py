"""run_buybacks with in-memory fakes: guards, caps, the kill switch, dry runs and crashes."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from ember.domain.buyback import ReferencePrice
from ember.domain.clock import ManualClock
from ember.services.buy_back import KillSwitch, run_buybacks
from tests.buyback_fakes import (
    USDT,
    WEI_PER_MINOR,
    Crash,
    FakeControls,
    FakePool,
    FakePrices,
    FakeRoute,
    FakeStore,
    policy,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def world():
    return World()


class World:
    def __init__(self) -> None:
        self.store = FakeStore(150 * USDT)
        self.dex = FakeRoute("dex")
        self.cex = FakeRoute("cex", WEI_PER_MINOR - 1)
        self.pool = FakePool()
        self.prices = FakePrices()
        self.controls = FakeControls()
        self.clock = ManualClock(NOW)
        self.policy = policy()

    def run(self, dry_run=False):
        return run_buybacks(store=self.store, routes=[self.dex, self.cex], pool_price=self.pool,
                            prices=self.prices, controls=self.controls, policy=self.policy,
                            clock=self.clock, dry_run=dry_run)


def test_a_due_pool_is_bought_once_on_the_best_venue(world):
    run = world.run()
    assert len(run.bought) == 1 and world.dex.sent == 1 and world.cex.sent == 0
    assert world.store.spent == 150 * USDT and world.store.commission == 0
    assert world.store.tokens["wallet"] == 150 * USDT * WEI_PER_MINOR
    assert world.store.events == [("tokens.bought", run.bought[0])]
    again = world.run()
    assert again.bought == [] and world.dex.sent == 1
    world.store.assert_conserved()


def test_one_buy_per_plan_and_tranches_wait_their_interval(world):
    world.store.accrue(1000 * USDT)  # 1150 in the pool; tranches of 500
    first = world.run()
    assert [world.store.rows[i]["buyback"].spend for i in first.bought] == [500 * USDT]
    assert world.run().waiting == "tranche_wait"
    world.clock.advance(300)
    world.run()
    world.clock.advance(300)
    world.run()
    spends = sorted(r["buyback"].spend for r in world.store.status("bought"))
    assert spends == [150 * USDT, 500 * USDT, 500 * USDT] and world.dex.sent == 3
    world.store.assert_conserved()


def test_per_buy_and_daily_caps_are_honoured(world):
    world.policy = policy(per_buy_cap=200 * USDT, daily_cap=450 * USDT)
    world.store.accrue(10_000 * USDT)
    for _ in range(6):
        world.run()
        world.clock.advance(300)
    spends = [r["buyback"].spend for r in world.store.status("bought")]
    assert spends == [200 * USDT, 200 * USDT, 50 * USDT]
    assert world.run().waiting == "daily_cap_reached"
    world.clock.set(datetime(2030, 1, 2, 0, 1, tzinfo=UTC))  # a new UTC day
    assert len(world.run().bought) == 1
    world.store.assert_conserved()


@pytest.mark.parametrize("where", ["route:before_buy", "route:after_buy", "store:mark_bought"])
def test_a_crash_at_any_step_resumes_without_buying_twice(world, where):
    owner, point = where.split(":")
    (world.dex if owner == "route" else world.store).crashes.add(point)
    with pytest.raises(Crash):
        world.run()
    assert len(world.store.planned()) == 1 and world.store.in_flight == 150 * USDT
    world.store.assert_conserved()
    world.clock.advance(1)
    run = world.run()
    assert run.resumed == 1 and len(run.bought) == 1
    assert world.dex.sent == 1 and len(world.store.status("bought")) == 1
    assert world.store.in_flight == 0 and world.store.spent == 150 * USDT
    assert world.store.events.count(("tokens.bought", run.bought[0])) == 1
    world.store.assert_conserved()


def test_the_kill_switch_stops_a_run_between_two_buys(world):
    world.store.accrue(1000 * USDT)
    world.dex.crashes.add("before_buy")
    with pytest.raises(Crash):
        world.run()  # leaves one planned
    world.clock.advance(300)
    world.dex.crashes.add("before_buy")
    with pytest.raises(Crash):
        world.run()  # resumes it: crashes again; nothing new is planned while one hangs
    world.clock.advance(300)
    world.dex.on_buy = lambda buyback_id: setattr(world.controls, "reason", "operator")
    run = world.run()
    assert len(run.bought) == 1 and run.halted == "operator"
    assert world.dex.sent == 1 and world.store.commission == 650 * USDT  # a buy was due
    world.store.assert_conserved()


def test_a_halted_run_moves_nothing(world):
    world.controls.reason = "incident-42"
    run = world.run()
    assert run.halted == "incident-42" and world.store.writes == 0 and world.dex.sent == 0


def test_the_setting_halts_whatever_the_database_says():
    controls = FakeControls()
    assert KillSwitch(True, controls).halted() == "EMBER_BUYBACKS_HALTED"
    assert KillSwitch(False, controls).halted() is None
    controls.reason = "ops"
    assert KillSwitch(False, controls).halted() == "ops"


def test_a_pool_far_from_the_reference_is_refused_and_recorded(world):
    world.pool.stable = world.pool.stable * 103 // 100  # 3% dearer than the reference
    run = world.run()
    assert [code for _, code in run.refused] == ["pool_price_deviates"]
    assert world.store.status("refused")[0]["code"] == "pool_price_deviates"
    assert world.dex.sent == 0 and world.store.commission == 150 * USDT
    assert world.store.in_flight == 0
    world.pool.stable = world.pool.stable * 100 // 103  # the pool recovers: the next run buys
    assert len(world.run().bought) == 1
    world.store.assert_conserved()


def test_a_best_quote_below_the_minimum_is_refused(world):
    world.dex.rate = world.cex.rate = WEI_PER_MINOR * 98 // 100  # 2% worse, 1% allowed
    run = world.run()
    assert [code for _, code in run.refused] == ["quote_below_minimum"]
    assert world.dex.sent == world.cex.sent == 0 and world.store.commission == 150 * USDT


def test_no_venue_quote_is_a_refusal(world):
    world.dex.rate = world.cex.rate = 0
    assert [code for _, code in world.run().refused] == ["no_venue_quote"]


def test_a_venue_refusal_releases_the_hold_and_ends_the_run(world):
    world.dex.refuse = "slippage_exceeded"
    run = world.run()
    assert [code for _, code in run.refused] == ["slippage_exceeded"]
    assert world.store.status("refused")[0]["code"] == "slippage_exceeded"
    assert world.store.commission == 150 * USDT and world.store.in_flight == 0
    world.store.assert_conserved()


def test_a_failing_venue_quote_leaves_the_other_venue(world):
    def down(spend):
        raise TimeoutError("cex down")
    world.cex.quote = down
    world.cex.rate = WEI_PER_MINOR * 2
    assert len(world.run().bought) == 1 and world.dex.sent == 1


def test_the_cex_is_chosen_when_it_delivers_more(world):
    world.cex.rate = WEI_PER_MINOR + 1
    world.run()
    assert world.cex.sent == 1 and world.dex.sent == 0
    assert world.store.status("bought")[0]["buyback"].venue == "cex"


def test_a_dry_run_plans_and_writes_nothing(world):
    run = world.run(dry_run=True)
    assert run.dry_run_plan is not None and run.dry_run_plan.spend == 150 * USDT
    assert run.dry_run_plan.min_tokens_out == 150 * USDT * WEI_PER_MINOR * 99 // 100
    assert world.store.writes == 0 and world.dex.sent == world.cex.sent == 0
    world.pool.stable *= 2
    refused = world.run(dry_run=True)
    assert refused.refused == [] and world.store.writes == 0


def test_a_buy_too_small_to_guard_is_refused(world):
    world.prices.price = ReferencePrice(Fraction(10**30, 1), "absurd")
    assert [code for _, code in world.run().refused] == ["buyback_too_small"]
    assert world.dex.sent == 0


def test_an_unavailable_reference_price_propagates_and_moves_nothing(world):
    def broken():
        raise ConnectionError("price feed down")
    world.prices.reference = broken
    with pytest.raises(ConnectionError):
        world.run()
    assert world.store.writes == 0


def test_the_max_delay_buys_a_small_pool(world):
    world.store = FakeStore(5 * USDT)
    world.run()
    assert len(world.store.status("bought")) == 1  # no buy yet: the delay has passed
    world.store.accrue(5 * USDT)
    world.clock.advance(600)
    assert world.run().waiting == "below_threshold"
    world.clock.advance(timedelta(hours=1).total_seconds())
    assert len(world.run().bought) == 1
