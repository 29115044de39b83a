"""The buy-back and burn stores on the real PostgreSQL, driven by the services with fake
chain ports: the stable ledger and the token ledger reconcile to the unit, events match
their schemas, and the burn consumer turns any number of deliveries into one burn."""

import json
import uuid
from datetime import UTC, datetime
from functools import partial

import pytest

from ember.adapters import schemas
from ember.adapters.postgres.burns import PostgresBurns, open_burn
from ember.adapters.postgres.buybacks import PostgresBuybacks
from ember.adapters.postgres.database import Database
from ember.adapters.postgres.ledger import post
from ember.adapters.postgres.outbox import event_from_row
from ember.domain import events
from ember.domain.clock import ManualClock
from ember.domain.ledger import Transfer
from ember.runtime.consumers import batch_handler, msk
from ember.services.burn import open_burn_for, run_burns
from ember.services.buy_back import KillSwitch, run_buybacks
from tests.buyback_fakes import (
    USDT,
    WEI_PER_MINOR,
    Crash,
    FakeControls,
    FakePool,
    FakePrices,
    FakeRoute,
    FakeTokenActions,
    policy,
)

pytestmark = pytest.mark.integration

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


class DeadLetterList:
    def __init__(self):
        self.sent = []

    def send(self, topic, key, value, headers):
        self.sent.append((topic, key, value))


class World:
    def __init__(self, database_url: str) -> None:
        self.db = Database(database_url, max_size=4)
        self.buybacks = PostgresBuybacks(self.db)
        self.burns = PostgresBurns(self.db)
        self.clock = ManualClock(NOW)
        self.dex = FakeRoute("dex")
        self.pool = FakePool()
        self.actions = FakeTokenActions()
        self.controls = KillSwitch(False, self.buybacks)
        self.accrued = 0

    def accrue(self, amount: int) -> None:
        self.accrued += amount
        self.db.run(lambda conn: post(conn, Transfer(uuid.uuid4(), "external", "commission", amount,
                                                     "commission", "test")))

    def buy(self, **policy_changes):
        return run_buybacks(store=self.buybacks, routes=[self.dex], pool_price=self.pool,
                            prices=FakePrices(), controls=self.controls,
                            policy=policy(**policy_changes), clock=self.clock)

    def burn_handler(self, burn_share_bps=8000):
        effect = partial(open_burn_for, burn_share_bps=burn_share_bps, now=NOW)
        return batch_handler("burn", lambda conn, event: effect(conn, event), db=self.db,
                             dead_letters=DeadLetterList(),
                             after=lambda: run_burns(store=self.burns, actions=self.actions,
                                                     controls=self.controls, clock=self.clock))


@pytest.fixture
def world(database_url):
    made = World(database_url)
    yield made
    made.db.close()


def balances(sql) -> dict[str, int]:
    return {row["id"]: int(row["balance"]) for row in sql.execute(
        "SELECT id, balance FROM account_balances WHERE id IN"
        " ('commission', 'buybacks:in_flight', 'buybacks:spent')")}


def token_balances(sql) -> dict[str, int]:
    return {row["account"]: int(row["balance"])
            for row in sql.execute("SELECT account, balance FROM token_balances")}


def outbox_events(sql, event_type) -> list[dict]:
    rows = sql.execute("SELECT * FROM outbox WHERE type = %s ORDER BY seq", (event_type,)).fetchall()
    wire = [json.loads(json.dumps(events.envelope(event_from_row(row)))) for row in rows]
    for document in wire:
        schemas.validate(document)
    return [{**document, "key": row["key"], "topic": row["topic"]}
            for document, row in zip(wire, rows, strict=True)]


def as_batch(documents, offset=0) -> dict:
    return msk.batch_event([msk.KafkaRecord(
        "ember.buybacks", 0, offset + i, 1_700_000_000_000, d["key"].encode(),
        json.dumps({k: d[k] for k in ("id", "type", "version", "occurred_at", "payload")}).encode())
        for i, d in enumerate(documents)])


def test_commission_accrued_equals_spent_plus_in_flight_plus_pool_to_the_unit(world, sql):
    world.accrue(333_333_333)
    world.accrue(777_777_777)  # 1111.11111 USDT, tranches of 500
    assert len(world.buy().bought) == 1
    world.clock.advance(300)
    world.dex.crashes.add("before_buy")
    with pytest.raises(Crash):
        world.buy()  # this one stays planned: in flight
    world.clock.advance(300)
    world.pool.stable *= 2
    refused = world.buy()  # resumes the planned one, then refuses a new one on the pool price
    assert len(refused.bought) == 1 and [c for _, c in refused.refused] == ["pool_price_deviates"]
    world.dex.crashes.add("after_buy")
    world.pool.stable //= 2
    world.clock.advance(300)
    with pytest.raises(Crash):
        world.buy()  # bought at the venue, not yet marked
    held = balances(sql)
    assert held["buybacks:in_flight"] == 111_111_110
    assert world.accrued == held["commission"] + held["buybacks:in_flight"] + held["buybacks:spent"]
    world.clock.advance(1)
    world.buy()
    after = balances(sql)
    assert after == {"commission": 0, "buybacks:in_flight": 0, "buybacks:spent": world.accrued}
    assert world.dex.sent == 3
    statuses = sql.execute("SELECT status, refused_code FROM buybacks ORDER BY planned_at").fetchall()
    assert sorted(r["status"] for r in statuses) == ["bought", "bought", "bought", "refused"]
    assert token_balances(sql) == {"market": -world.accrued * WEI_PER_MINOR,
                                   "wallet": world.accrued * WEI_PER_MINOR}


def test_tokens_bought_matches_its_schema_and_is_keyed_by_the_buyback(world, sql):
    world.accrue(150 * USDT)
    run = world.buy()
    [bought] = outbox_events(sql, "tokens.bought")
    assert bought["topic"] == "ember.buybacks" and bought["key"] == str(run.bought[0])
    payload = bought["payload"]
    assert payload["spent"] == 150 * USDT and payload["venue"] == "dex"
    assert payload["tokens_received"] == str(150 * USDT * WEI_PER_MINOR)
    assert payload["average_price"] == "1" and payload["reference_price"] == "1"
    assert payload["slippage_bps"] == 0


def test_the_same_tokens_bought_delivered_three_times_burns_once(world, sql):
    world.accrue(150 * USDT)
    world.buy()
    documents = outbox_events(sql, "tokens.bought")
    handler = world.burn_handler()
    for _ in range(3):
        assert handler(as_batch(documents), None) == {"batchItemFailures": []}
    assert len(world.actions.burns) == 1 and len(world.actions.deposits) == 1
    [burned] = outbox_events(sql, "tokens.burned")
    bought = 150 * USDT * WEI_PER_MINOR
    assert burned["topic"] == "ember.burns"
    assert burned["payload"]["burned"] == str(bought * 8 // 10)
    assert burned["payload"]["dividend"] == str(bought - bought * 8 // 10)
    tokens = token_balances(sql)
    assert tokens["wallet"] == 0 and tokens["burned"] + tokens["dividend_pool"] == bought
    row = sql.execute("SELECT * FROM burns").fetchone()
    assert row["status"] == "done" and row["supply_before"] - row["supply_after"] == row["burned"]


@pytest.mark.parametrize("point", ["before_burn", "after_burn", "after_deposit"])
def test_a_failed_after_step_redelivers_the_batch_and_resumes(world, sql, point):
    world.accrue(150 * USDT)
    world.buy()
    documents = outbox_events(sql, "tokens.bought")
    handler = world.burn_handler()
    world.actions.crashes.add(point)
    failed = handler(as_batch(documents), None)
    assert failed["batchItemFailures"] == [
        {"itemIdentifier": {"partition": "ember.buybacks-0", "offset": 0}}]
    assert sql.execute("SELECT status FROM burns").fetchone()["status"] == "pending"
    assert token_balances(sql)["wallet"] == 150 * USDT * WEI_PER_MINOR
    assert handler(as_batch(documents), None) == {"batchItemFailures": []}
    assert len(world.actions.burns) == 1 and len(world.actions.deposits) == 1
    assert len(outbox_events(sql, "tokens.burned")) == 1
    assert token_balances(sql)["wallet"] == 0


def test_a_zero_burn_share_deposits_everything_with_a_null_burn_hash(world, sql):
    world.accrue(150 * USDT)
    world.buy()
    world.burn_handler(burn_share_bps=0)(as_batch(outbox_events(sql, "tokens.bought")), None)
    [burned] = outbox_events(sql, "tokens.burned")
    assert burned["payload"]["burned"] == "0" and burned["payload"]["burn_tx_hash"] is None
    assert world.actions.burns == {}


def test_retries_of_store_calls_write_nothing_twice(world, sql):
    world.accrue(150 * USDT)
    run = world.buy()
    buyback_id = run.bought[0]
    purchase = world.dex.purchases[buyback_id]
    world.buybacks.mark_bought(buyback_id, purchase, NOW)
    assert world.buybacks.planned() == []
    counts = sql.execute("SELECT (SELECT count(*) FROM transfers) AS t,"
                         " (SELECT count(*) FROM token_transfers) AS tt,"
                         " (SELECT count(*) FROM outbox) AS o").fetchone()
    assert counts == {"t": 3, "tt": 1, "o": 1}
    with pytest.raises(ValueError):
        world.buybacks.mark_refused(buyback_id, "late", "too late", NOW)


def test_a_burn_is_opened_only_for_the_tokens_bought(world, sql):
    world.accrue(150 * USDT)
    buyback_id = world.buy().bought[0]
    with pytest.raises(ValueError):
        world.db.run(lambda conn: open_burn(conn, buyback_id, 1, 8000, NOW))
    with pytest.raises(ValueError):
        world.db.run(lambda conn: open_burn(conn, uuid.uuid4(), 1, 8000, NOW))


def test_the_kill_switch_in_the_database_halts_buys(world, sql):
    world.accrue(150 * USDT)
    world.buybacks.set_halted(True, "incident-7")
    assert world.buybacks.halted() == "incident-7"
    run = world.buy()
    assert run.halted == "incident-7" and world.dex.sent == 0
    assert sql.execute("SELECT count(*) AS n FROM buybacks").fetchone()["n"] == 0
    world.buybacks.set_halted(False)
    assert world.buybacks.halted() is None and len(world.buy().bought) == 1


def test_a_plan_that_no_longer_fits_the_pool_is_not_made(world, sql):
    world.accrue(150 * USDT)
    first = world.buy()
    assert len(first.bought) == 1
    controls = FakeControls()
    again = run_buybacks(store=world.buybacks, routes=[world.dex], pool_price=world.pool,
                         prices=FakePrices(), controls=controls, policy=policy(), clock=world.clock)
    assert again.bought == [] and again.waiting == "empty"
