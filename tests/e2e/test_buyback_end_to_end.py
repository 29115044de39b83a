"""Commission to chain on the local stack (issue #6): a settled round's commission.accrued,
relayed to Kafka and delivered to the real buy_tokens function, buys the token on the
Hardhat node (Uniswap V2, or the Binance stand-in through ccxt with a withdrawal on chain);
tokens.bought, delivered to the real burn function, burns part and pays the rest into the
DividendPool; and the ledgers reconcile with the chain to the unit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from eth_account import Account

from ember.domain.burn_split import split_burn
from ember.domain.events import BURNS_TOPIC, BUYBACKS_TOPIC, COMMISSION_TOPIC
from tests.e2e.buyback_stack import (
    BURN_SHARE_BPS,
    COMMISSION,
    TOKEN,
    USD,
    Deployed,
    Functions,
    assert_ledgers_reconcile,
    batch,
    chain_settings,
    deploy,
    envelope,
    functions,
    funded_account,
    read_records,
    relay,
    settled_round,
    use_app,
)

pytestmark = pytest.mark.integration

DELIVERED: dict[str, list[Any]] = {"batchItemFailures": []}
CEX_KEY, CEX_SECRET = "k" * 64, "s" * 64


@pytest.fixture
def deployed(chain_rpc_url: str, tmp_path) -> Deployed:
    return deploy(chain_rpc_url, tmp_path)


@pytest.fixture
def make_app(database_url, stack, chain_rpc_url, deployed, clock) -> Iterator[Any]:
    """make_app(**env): the app wired from this stack's settings plus `env`, on the test clock."""
    from ember.runtime.bootstrap import build

    apps = []

    def make(**env: object) -> Any:
        apps.append(build(chain_settings(deployed, database_url, stack, chain_rpc_url, **env),
                          clock=clock))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def deliver_commission(fns: Functions, stack, round_id: uuid.UUID, times: int = 1) -> None:
    """The round's commission.accrued, as read from Kafka, delivered `times` to buy_tokens."""
    records = read_records(stack.kafka_bootstrap_servers, COMMISSION_TOPIC, str(round_id))
    for _ in range(times):
        assert fns.buy_tokens(batch(records), None) == DELIVERED


def deliver_bought(fns: Functions, stack, buyback_id: uuid.UUID, times: int = 1) -> dict:
    """tokens.bought, as read from Kafka, delivered `times` to burn; its envelope."""
    records = read_records(stack.kafka_bootstrap_servers, BUYBACKS_TOPIC, str(buyback_id))
    for _ in range(times):
        assert fns.burn(batch(records), None) == DELIVERED
    return envelope(records[0])


def burned_event(stack, buyback_id: uuid.UUID) -> dict:
    records = read_records(stack.kafka_bootstrap_servers, BURNS_TOPIC, str(buyback_id))
    return envelope(records[0])


def only_buyback(sql) -> dict:
    (row,) = sql.execute("SELECT * FROM buybacks").fetchall()
    return row


def wallet_purposes(sql) -> list[str]:
    """The wallet's transaction intents by purpose, the buy-back id left out, in nonce order."""
    return [r["purpose"].split(":")[0] + ":" + r["purpose"].rsplit(":", 1)[1] for r in sql.execute(
        "SELECT purpose FROM tx_intents WHERE status = 'mined' ORDER BY nonce")]


def assert_burned_on_chain(deployed: Deployed, sql, bought: dict, burned: dict,
                           supply_before: int, pool_before: int) -> None:
    """The chain moved exactly what the ledger and the events say."""
    row = only_buyback(sql)
    burn = sql.execute("SELECT * FROM burns").fetchone()
    tokens = int(row["tokens_received"])
    split = split_burn(tokens, BURN_SHARE_BPS)
    assert (burn["status"], int(burn["burned"]), int(burn["dividend"])) == (
        "done", split.burn, split.dividend)
    block = burn["burn_block"]
    assert deployed.total_supply(block - 1) - deployed.total_supply(block) == split.burn
    assert supply_before - deployed.total_supply() == split.burn
    assert deployed.tokens_of(deployed.deployment.dividend_pool) - pool_before == split.dividend
    assert deployed.tokens_of(deployed.wallet.address) == 0  # nothing left over in the wallet
    for tx_hash in (burn["burn_tx_hash"], burn["dividend_tx_hash"]):
        assert deployed.w3.eth.get_transaction_receipt(tx_hash)["status"] == 1

    assert bought["type"] == "tokens.bought" and bought["id"] == str(uuid.uuid5(row["id"], "tokens.bought"))
    assert {k: bought["payload"][k] for k in ("buyback_id", "venue", "spent", "tokens_received")} == {
        "buyback_id": str(row["id"]), "venue": row["venue"], "spent": row["spent"],
        "tokens_received": str(tokens)}
    assert burned["type"] == "tokens.burned"
    assert burned["payload"] == {
        "buyback_id": str(row["id"]), "burned": str(split.burn), "dividend": str(split.dividend),
        "burn_tx_hash": burn["burn_tx_hash"], "dividend_tx_hash": burn["dividend_tx_hash"]}

    balances = assert_ledgers_reconcile(sql)
    spent = row["spent"]  # all of it on the DEX; a CEX may leave change in the pool
    assert balances == {"accrued": COMMISSION, "commission": COMMISSION - spent,
                        "buybacks:in_flight": 0, "buybacks:spent": spent, "bought": tokens,
                        "tokens:burned": split.burn, "tokens:dividend_pool": split.dividend,
                        "tokens:wallet": 0}


def test_dex_buy_back_burns_and_pays_the_dividend_pool_to_the_unit(make_app, deployed, sql, stack,
                                                                    monkeypatch):
    app = make_app()
    fns = functions(monkeypatch, app)
    wallet, pool = deployed.wallet.address, deployed.deployment.dividend_pool
    supply_before, pool_before = deployed.total_supply(), deployed.tokens_of(pool)
    stable_before = deployed.stable_of(wallet)

    round_id = settled_round(app)
    assert relay(app) >= 1
    deliver_commission(fns, stack, round_id)
    row = only_buyback(sql)
    assert (row["status"], row["venue"], int(row["spend"])) == ("bought", "dex", COMMISSION)
    bought = deliver_bought(fns, stack, row["id"])
    burned = burned_event(stack, row["id"])

    assert_burned_on_chain(deployed, sql, bought, burned, supply_before, pool_before)
    assert stable_before - deployed.stable_of(wallet) == int(row["spend"])  # the ledger's spend
    (swap,) = row["tx_hashes"]
    assert deployed.w3.eth.get_transaction(swap)["to"] == deployed.deployment.router
    assert fns.dead_letters.sent == []


@pytest.fixture
def exchange(deployed: Deployed) -> Iterator[Any]:
    """The Binance stand-in, its withdrawals sent on the Hardhat node from a hot wallet holding
    100,000 tokens. Its asks (0.0995) undercut the pool (0.10 after a 0.3% fee), and its mid
    (0.099) is within the pool price guard."""
    from ember.adapters.exchange.binance_standin import (
        BinanceStandinServer,
        StandinConfig,
        StandinVenue,
        WithdrawRules,
    )
    from ember.adapters.exchange.cex_route import HotWalletWithdrawals

    hot_wallet = funded_account(deployed.w3)
    deployed.send(deployed.deployer, deployed.token.functions.transfer(hot_wallet.address,
                                                                       100_000 * TOKEN))
    config = StandinConfig(
        api_key=CEX_KEY, api_secret=CEX_SECRET, asks=[(D("0.0995"), D("100000"))],
        bids=[(D("0.0985"), D("100000"))], balances={"USDT": D("10000"), "EMBR": D("0")},
        taker_fee=D("0.001"),
        withdrawals={"EMBR": WithdrawRules(fee=D("0.5"), minimum=D("2"), whitelist=frozenset(
            {deployed.wallet.address.lower()}))})
    withdrawals = HotWalletWithdrawals(deployed.w3, deployed.deployment.token,
                                       Account.from_key(hot_wallet.key))
    with BinanceStandinServer(StandinVenue(config, on_withdraw=withdrawals)) as server:
        yield server


def test_cex_buy_back_withdraws_then_burns_and_pays_the_dividend_pool(make_app, deployed, exchange,
                                                                      sql, stack, monkeypatch):
    app = make_app(EMBER_CEX_EXCHANGE="binance", EMBER_CEX_API_KEY=CEX_KEY,
                   EMBER_CEX_API_SECRET=CEX_SECRET, EMBER_CEX_BASE_URL=exchange.url,
                   EMBER_CEX_WITHDRAW_ADDRESS=deployed.wallet.address,
                   EMBER_BUYBACK_MAX_SLIPPAGE_BPS=200, EMBER_BUYBACK_MAX_POOL_DEVIATION_BPS=300)
    fns = functions(monkeypatch, app)
    wallet, pool = deployed.wallet.address, deployed.deployment.dividend_pool
    supply_before, pool_before = deployed.total_supply(), deployed.tokens_of(pool)
    stable_before = deployed.stable_of(wallet)
    assert app.chain.cex_route.quote(COMMISSION) > app.chain.dex_route.quote(COMMISSION)

    round_id = settled_round(app)
    assert relay(app) >= 1
    deliver_commission(fns, stack, round_id)
    row = only_buyback(sql)
    assert (row["status"], row["venue"], row["client_order_id"]) == ("bought", "cex", str(row["id"]))
    bought = deliver_bought(fns, stack, row["id"])
    burned = burned_event(stack, row["id"])

    assert_burned_on_chain(deployed, sql, bought, burned, supply_before, pool_before)
    # The exchange account paid the spend, the wallet's on-chain stable was not touched. The
    # market order fills whole lots (0.01 EMBR at 0.0995): the ledger's spent is what the
    # exchange took, and the change, under one lot's price, is back in the commission pool.
    paid = (D("10000") - exchange.venue.balance("USDT")) * USD
    assert paid == D(201) * D("0.0995") * USD and 0 < COMMISSION - paid < D("0.000995") * USD
    balances = assert_ledgers_reconcile(sql)
    assert row["spent"] == balances["buybacks:spent"] == paid
    assert balances["commission"] == COMMISSION - paid and balances["buybacks:in_flight"] == 0
    assert deployed.stable_of(wallet) == stable_before
    (withdrawal,) = row["tx_hashes"]
    transfer = deployed.w3.eth.get_transaction(withdrawal)  # from the exchange's hot wallet
    assert transfer["to"] == deployed.deployment.token and transfer["from"] != wallet
    assert wallet_purposes(sql) == ["burn:burn", "burn:approve", "burn:deposit"]
    assert len(exchange.venue.orders()) == 1 and len(exchange.venue.withdrawals()) == 1
    assert fns.dead_letters.sent == []


def test_every_event_delivered_three_times_buys_once_and_burns_once(make_app, deployed, sql, stack,
                                                                    monkeypatch):
    app = make_app()
    fns = functions(monkeypatch, app)
    supply_before = deployed.total_supply()
    pool_before = deployed.tokens_of(deployed.deployment.dividend_pool)

    round_id = settled_round(app)
    relay(app)
    deliver_commission(fns, stack, round_id, times=3)
    row = only_buyback(sql)
    relay(app)  # a sweep after the function's own publish: at least once, maybe twice
    bought = deliver_bought(fns, stack, row["id"], times=3)
    burned = burned_event(stack, row["id"])

    assert wallet_purposes(sql) == ["buyback:approve", "buyback:swap", "burn:burn", "burn:approve",
                                    "burn:deposit"]
    assert deployed.wallet_transactions() == 5  # one of each on chain, nothing signed twice
    assert sql.execute("SELECT count(*) AS n FROM burns").fetchone()["n"] == 1
    inbox = {(r["consumer"], r["event_type"]): r["n"] for r in sql.execute(
        "SELECT consumer, event_type, count(*) AS n FROM inbox GROUP BY 1, 2")}
    assert inbox == {("buy_tokens", "commission.accrued"): 1, ("burn", "tokens.bought"): 1}
    assert_burned_on_chain(deployed, sql, bought, burned, supply_before, pool_before)


@pytest.mark.parametrize("switch", ["setting", "operators"])
def test_the_kill_switch_consumes_commission_without_buying_until_lifted(
        switch, make_app, deployed, sql, stack, monkeypatch):
    from ember.adapters.postgres.buybacks import PostgresBuybacks

    halted_app = make_app(EMBER_BUYBACKS_HALTED=switch == "setting")
    fns = functions(monkeypatch, halted_app)
    if switch == "operators":
        PostgresBuybacks(halted_app.db).set_halted(True, "incident 42")
    stable_before = deployed.stable_of(deployed.wallet.address)

    round_id = settled_round(halted_app)
    relay(halted_app)
    deliver_commission(fns, stack, round_id)

    assert sql.execute("SELECT event_type, outcome FROM inbox WHERE consumer = 'buy_tokens'"
                       ).fetchall() == [{"event_type": "commission.accrued", "outcome": "processed"}]
    assert sql.execute("SELECT count(*) AS n FROM buybacks").fetchone()["n"] == 0
    assert deployed.wallet_transactions() == 0
    assert deployed.stable_of(deployed.wallet.address) == stable_before
    assert assert_ledgers_reconcile(sql)["commission"] == COMMISSION

    if switch == "operators":
        PostgresBuybacks(halted_app.db).set_halted(False)
    else:
        use_app(monkeypatch, make_app())  # the function restarted with the setting lifted
    deliver_commission(fns, stack, round_id)  # a redelivery: a duplicate, yet the run buys

    row = only_buyback(sql)
    assert (row["status"], int(row["spend"])) == ("bought", COMMISSION)
    assert stable_before - deployed.stable_of(deployed.wallet.address) == COMMISSION
    assert assert_ledgers_reconcile(sql)["buybacks:spent"] == COMMISSION


def test_the_schedule_buys_a_pool_no_new_round_has_topped_up_for_the_max_delay(
        make_app, deployed, sql, monkeypatch):
    app = make_app(EMBER_BUYBACK_THRESHOLD=100 * COMMISSION, EMBER_BUYBACK_MAX_DELAY_S=600,
                   EMBER_BUYBACK_TRANCHE_INTERVAL_S=1)
    fns = functions(monkeypatch, app)
    tick = {"id": "tick-1", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    bought = "SELECT count(*) AS n FROM buybacks WHERE status = 'bought'"

    settled_round(app)  # commission in the pool; no Kafka event is delivered in this test
    assert fns.buy_tokens(tick, None)["result"]["bought"] == 1  # nothing bought yet: due now
    settled_round(app)  # far below the threshold, and within the max delay of the last buy
    assert fns.buy_tokens({**tick, "id": "tick-2"}, None)["result"]["waiting"] == "below_threshold"
    assert sql.execute(bought).fetchone()["n"] == 1

    app.clock.advance(601)
    assert fns.buy_tokens({**tick, "id": "tick-3"}, None)["result"]["bought"] == 1
    assert sql.execute(bought).fetchone()["n"] == 2
    balances = assert_ledgers_reconcile(sql)
    assert balances["commission"] == 0 and balances["buybacks:spent"] == 2 * COMMISSION
