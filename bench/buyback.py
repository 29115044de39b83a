"""Commission accrued to tokens burned, on the local stack: latency per buy-back, and its gas.

Measured: ROUNDS rounds settled one after another by the keeper's `resolve_round`, which
publishes round.settled and commission.accrued right after its commit (the outbox relay's
publish-after-commit sweep) to an embedded Tansu broker; the real consumers
(functions/buy_tokens and functions/burn, through the local event source mapping with the
group settings `ember consumers` uses) plan and make the buy on the real Uniswap V2 router
of a Hardhat node, then burn 80% and deposit the rest into the DividendPool, each
transaction an intent in PostgreSQL. Latency of one buy-back = burns.finished_at -
commission.accrued's occurred_at (the settlement's instant), both read from the database;
value = its p50, p99 printed with it, plus each stage's p50. The policy buys on any
commission (threshold 1 minor unit, tranche interval 1 s, the least the settings allow),
so every round's commission is exactly one buy; rounds are paced over 1 s apart for that.
Confirmations are 0 (EMBER_CHAIN_CONFIRMATIONS=0): Hardhat automines, so a receipt is
final at once, and the figure is the pipeline's own, not how long N blocks take.

Baseline, interleaved with the rounds on the same node and pair: the same five
transactions sent directly with web3 from another wallet, built, signed locally and sent
one after another, each receipt awaited (approve the router, swap, burn 80%, approve the
pool, deposit): no Kafka, no PostgreSQL, no services, no guard reads. Baseline = its median
wall time per cycle; ratio = p50 latency / baseline.

Target 3: the whole pipeline within 3x the bare chain work. It sends the same five
transactions, each also recorded as an intent (nonce lock, signed row, sent, mined: three
PostgreSQL transactions) and preceded by reads the bare cycle skips (allowance, the
guard's reserves and quote, totalSupply before and after the burn), and it adds two Kafka
hops with their inbox and outbox writes; 3x leaves twice the chain work for all of that.
The usual allowance of one 1 s block interval is not added: with 0 confirmations and
automine no step waits for a block (with 1 confirmation each transaction would wait for
the next block, up to 1 s each, and that wait would dominate the figure). The latency
stages printed show where the time goes.

Gas: `gas_used` of each cycle's mined intents (tx_intents), median over the measured
cycles: swap + burn + deposit (the figure bench/gas measures with standing approvals;
the run fails above 260,000) and the same with the two exact approvals the wallet sends
per buy-back. The bare cycle's swap may show less gas: Hardhat puts blocks within the same
second at one timestamp, and the pair skips its price-accumulator writes then.

The run fails unless the books reconcile: the commission accrued equals the commission
pool + in flight + spent, every round bought once with exactly its commission, and
totalSupply fell by exactly what the burns rows and the baseline burned.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import psycopg
from eth_account import Account
from psycopg.rows import dict_row
from web3 import Web3

from ember.adapters.chain import artifacts
from ember.adapters.chain.deploy import DEV_DEPLOYER_KEY, DeployPlan, ensure_deployed
from ember.adapters.chain.deployment import Deployment
from ember.adapters.chain.token_actions import tokens_received
from ember.adapters.kafka.config import client_config
from ember.adapters.kafka.events import KafkaEventPublisher
from ember.adapters.kafka.topics import ember_topics, ensure_topics
from ember.domain.burn_split import split_burn
from ember.domain.buyback import ReferencePrice, min_amount_out
from ember.domain.clock import ManualClock, SystemClock
from ember.domain.fairness import new_seed
from ember.domain.markets import Market
from ember.domain.rounds import round_id
from ember.runtime import consumers as consumer_runtime
from ember.runtime import local_stack
from ember.runtime.bootstrap import Ember, build
from ember.runtime.cli_consumers import LOCAL_GROUP
from ember.runtime.consumers import registry
from ember.runtime.consumers.local_esm import LocalEventSourceMapping
from ember.runtime.entry import close_app
from ember.runtime.migrate import apply_migrations
from ember.runtime.settings import load_settings
from ember.services.cashier import credit_deposit
from ember.services.keeper import resolve_round
from ember.services.outbox_relay import publish_after_commit
from ember.services.place_bet import PlaceBet, place_bet

from .common import median, progress, report, scratch_database, server_url

NAME = "buyback"
TARGET = 3.0
GAS_LIMIT = 260_000
ROUNDS = 40  # measured, after WARMUP untimed rounds (consumer groups join, imports, pools)
WARMUP = 2
STAKE = 5_000_000  # 5 USDT a side: a 10 USDT pot, 1 USDT commission at 10%
COMMISSION_BPS = 1000
BURN_SHARE_BPS = 8000
TRANCHE_INTERVAL_S = 1
PACE_S = TRANCHE_INTERVAL_S + 0.15  # a round settles this long after the last buy was planned
PLAN = DeployPlan()
REFERENCE = Fraction(PLAN.pool_stable, PLAN.pool_tokens)  # the pool's price at deployment
MARKET = Market(id="bench-buyback", title="bench buyback", outcomes=("heads", "tails"),
                interval_s=60, bet_window_s=45, commission_bps=COMMISSION_BPS, min_bet=1,
                max_bet=10**12, resolve_grace_s=7 * 86_400)
FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ember-bench-buyback-") as tmp, \
            scratch_database(f"ember_bench_buyback_{os.getpid()}") as url:
        root = Path(tmp)
        # Kafka is always our own: the consumers' topics and group names are fixed, and on a
        # shared broker they would read (and be read by) everyone else's. The chain is the
        # env's CHAIN_RPC_URL if set: the contracts and wallets are this run's own.
        env = {"DATABASE_URL": server_url(), "REDIS_URL": "redis://127.0.0.1:6379/0"}
        if os.environ.get("CHAIN_RPC_URL"):
            env["CHAIN_RPC_URL"] = os.environ["CHAIN_RPC_URL"]
        try:
            stack = local_stack.up(root=root / "stack", env=env, with_chain=True)
            assert stack.chain_rpc_url is not None
            _bench(url, stack.kafka_bootstrap_servers, stack.chain_rpc_url, root)
        finally:
            local_stack.down(root / "stack")


def _bench(url: str, bootstrap: str, rpc: str, root: Path) -> None:
    progress(f"{NAME}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    wallet = Account.create()
    deployment, _ = ensure_deployed(w3, root / "deployment.json", wallet=wallet.address,
                                    deployer=Account.from_key(DEV_DEPLOYER_KEY), plan=PLAN)
    bare = BareCycle(w3, deployment)
    supply_before = bare.total_supply()
    apply_migrations(url)
    config = client_config(bootstrap)
    ensure_topics(config, ember_topics())
    settings = {
        "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CHAIN_RPC_URL": rpc,
        "EMBER_DEPLOYMENT_FILE": str(root / "deployment.json"), "EMBER_WALLET_SIGNER": "env",
        "EMBER_WALLET_PRIVATE_KEY": "0x" + bytes(wallet.key).hex(),
        "EMBER_CHAIN_CONFIRMATIONS": "0", "EMBER_SALT_SOURCE": "local-beacon",
        "EMBER_REFERENCE_PRICE": f"{REFERENCE.numerator}/{REFERENCE.denominator} bench-deploy",
        "EMBER_BUYBACK_THRESHOLD": "1",
        "EMBER_BUYBACK_TRANCHE_INTERVAL_S": str(TRANCHE_INTERVAL_S),
        "EMBER_BURN_SHARE_BPS": str(BURN_SHARE_BPS), "EMBER_LOG_LEVEL": "WARNING",
        "EMBER_DB_POOL_SIZE": "4"}
    with environment(settings):
        app = build(load_settings(), clock=ManualClock(datetime.now(UTC)))
        publisher = KafkaEventPublisher(config)
        try:
            rounds = seed_rounds(app, WARMUP + ROUNDS)
            with consumers(config):
                bare_s = play(app, publisher, url, rounds, bare)
        finally:
            publisher.close()
            app.close()
    cycles = read_cycles(url)
    check_books(url, cycles, bare, supply_before - bare.total_supply())
    latencies = [c["latency_s"] for c in cycles[WARMUP:]]
    value, baseline = percentile(latencies, 50), median(bare_s)
    print_stages(cycles[WARMUP:])
    progress(f"{NAME}: accrued-to-burned over {len(latencies)} buy-backs: p50 {value * 1000:.0f} ms,"
             f" p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms;"
             f" bare cycle median {baseline * 1000:.0f} ms over {len(bare_s)},"
             f" ratio {value / baseline:.2f}")
    full = print_gas(cycles, bare)
    report(NAME, value, baseline, TARGET)
    if full > GAS_LIMIT:
        raise RuntimeError(f"buy-back cycle uses {full} gas, over the {GAS_LIMIT} limit")


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """The process environment with `values` (and no CEX), for the consumers' own app;
    restored, and that app closed, on the way out."""
    names = [*values, "EMBER_CEX_EXCHANGE", "EMBER_BUYBACKS_HALTED", "EMBER_BUYBACK_DRY_RUN"]
    saved = {name: os.environ.get(name) for name in names}
    close_app()
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        close_app()
        # The consumers' dead-letter producer, made once per process, points at our broker.
        dead_letters, consumer_runtime._dead_letters = consumer_runtime._dead_letters, None
        if dead_letters is not None:
            dead_letters.close()  # type: ignore[attr-defined]
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


@contextmanager
def consumers(config: dict[str, Any]) -> Iterator[None]:
    """buy_tokens and burn running on their local event source mappings."""
    found = registry.load(f"{FUNCTIONS / 'buy_tokens' / 'app.py'},{FUNCTIONS / 'burn' / 'app.py'}")
    mappings = [LocalEventSourceMapping(found.get(name), config, consumer_options=LOCAL_GROUP).start()
                for name in ("buy_tokens", "burn")]
    try:
        yield
    finally:
        for mapping in mappings:
            mapping.stop()


def seed_rounds(app: Ember, count: int) -> list[uuid.UUID]:
    """`count` closed rounds of MARKET, one a minute in the past, each with one bet a side."""
    clock = app.clock
    assert isinstance(clock, ManualClock)
    app.markets.sync([MARKET])
    epoch = int(time.time()) // MARKET.interval_s * MARKET.interval_s
    first = datetime.fromtimestamp(epoch - (count + 1) * MARKET.interval_s, tz=UTC)
    clock.set(first)
    for player in ("heads-player", "tails-player"):
        credit_deposit(f"bench-{player}", player, count * STAKE, ledger=app.ledger, clock=clock)
    rounds = []
    for n in range(count):
        open_at = first + timedelta(seconds=n * MARKET.interval_s)
        clock.set(open_at)
        app.rounds.create(MARKET, open_at, new_seed(), open_at)
        rid = round_id(MARKET.id, open_at)
        for outcome, player in enumerate(("heads-player", "tails-player")):
            place_bet(PlaceBet(player, rid, outcome, STAKE, f"bench-{n}-{outcome}"),
                      bets=app.bets, clock=clock)
        rounds.append(rid)
    progress(f"{NAME}: {count} rounds seeded, {2 * STAKE / 1e6:.0f} USDT each,"
             f" commission {COMMISSION_BPS / 100:.0f}%")
    return rounds


def play(app: Ember, publisher: KafkaEventPublisher, url: str, rounds: list[uuid.UUID],
         bare: BareCycle) -> list[float]:
    """Settles each round once the last buy-back is done; the bare cycles' seconds."""
    bare_s: list[float] = []
    spend = STAKE * 2 * COMMISSION_BPS // 10_000
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        for n, rid in enumerate(rounds):
            if n >= WARMUP:  # while the tranche interval runs out: one bare cycle
                bare_s.append(bare.run(spend))
            if n > 0:
                last = conn.execute("SELECT max(planned_at) AS at FROM buybacks").fetchone()["at"]
                time.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds() + PACE_S))
            resolved = resolve_round(rid, rounds=app.rounds, salts=app.salts, clock=SystemClock(),
                                     after_commit=publish_after_commit(outbox=app.outbox,
                                                                       publisher=publisher))
            assert resolved is not None and resolved.commission == spend, resolved
            wait_for_burns(conn, n + 1, timeout_s=90 if n == 0 else 30)
            if n < WARMUP:
                progress(f"{NAME}: warm-up round {n + 1} bought and burned")
    return bare_s


def wait_for_burns(conn: psycopg.Connection, done: int, timeout_s: float) -> None:
    """Returns once `done` burns are done (polled every 10 ms; the latency is read from the
    rows' own timestamps, not from this loop)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = conn.execute("SELECT count(*) AS n FROM burns WHERE status = 'done'").fetchone()["n"]
        if found > done:
            raise AssertionError(f"{found} burns done, expected {done}: a round bought twice")
        if found == done:
            return
        time.sleep(0.01)
    failed = conn.execute("SELECT * FROM consumer_failures LIMIT 3").fetchall()
    raise TimeoutError(f"burn {done} not done within {timeout_s} s; consumer failures: {failed}")


def read_cycles(url: str) -> list[dict[str, Any]]:
    """Each buy-back with its round's accrual, its burn and its intents' gas, in order."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        accruals = conn.execute(
            "SELECT o.occurred_at, r.commission FROM outbox o JOIN rounds r ON r.id::text = o.key"
            " WHERE o.type = 'commission.accrued' ORDER BY o.occurred_at").fetchall()
        buys = conn.execute(
            "SELECT b.id, b.spend, b.planned_at, b.finished_at AS bought_at, u.created_at AS opened_at,"
            " u.finished_at, u.burned, u.dividend FROM buybacks b JOIN burns u ON u.buyback_id = b.id"
            " WHERE b.status = 'bought' AND u.status = 'done' ORDER BY b.planned_at").fetchall()
        gas: dict[str, dict[str, int]] = {}
        for row in conn.execute("SELECT purpose, gas_used FROM tx_intents WHERE status = 'mined'"):
            kind, buyback, step = row["purpose"].split(":")
            gas.setdefault(buyback, {})[f"{kind}:{step}"] = int(row["gas_used"])
    assert len(accruals) == len(buys), f"{len(accruals)} accruals but {len(buys)} burned buy-backs"
    cycles = []
    for accrual, buy in zip(accruals, buys, strict=True):
        assert buy["spend"] == accrual["commission"], (buy, accrual)
        assert buy["planned_at"] > accrual["occurred_at"], (buy, accrual)
        cycles.append({**buy, "accrued_at": accrual["occurred_at"], "gas": gas[str(buy["id"])],
                       "latency_s": (buy["finished_at"] - accrual["occurred_at"]).total_seconds()})
    return cycles


def print_stages(cycles: list[dict[str, Any]]) -> None:
    stages = (("accrued -> planned (Kafka hop, guard reads)", "accrued_at", "planned_at"),
              ("planned -> bought (approve + swap)", "planned_at", "bought_at"),
              ("bought -> burn opened (Kafka hop)", "bought_at", "opened_at"),
              ("burn opened -> done (burn + approve + deposit)", "opened_at", "finished_at"))
    for label, start, end in stages:
        p50 = median([(c[end] - c[start]).total_seconds() for c in cycles])
        progress(f"{NAME}: stage p50 {p50 * 1000:7.0f} ms  {label}")


def print_gas(cycles: list[dict[str, Any]], bare: BareCycle) -> int:
    """Prints the gas table; the median swap + burn + deposit of the measured cycles."""
    def total(gas: dict[str, int], steps: tuple[str, ...]) -> int:
        return sum(gas[step] for step in steps)
    core = ("buyback:swap", "burn:burn", "burn:deposit")
    every = (*core, "buyback:approve", "burn:approve")
    measured = [c["gas"] for c in cycles[WARMUP:]]
    rows = [(f"{step} (median)", int(statistics.median([g[step] for g in measured]))) for step in every]
    full = int(statistics.median([total(g, core) for g in measured]))
    rows += [("cycle: swap + burn + deposit (median)", full),
             ("cycle with both approvals (median)",
              int(statistics.median([total(g, every) for g in measured]))),
             ("first cycle on the fresh chain, with approvals", total(cycles[0]["gas"], every)),
             ("bare cycle: swap + burn + deposit (median)", int(statistics.median(bare.core_gas))),
             ("bare cycle with both approvals (median)", int(statistics.median(bare.all_gas)))]
    width = max(len(label) for label, _ in rows)
    progress(f"{NAME}: {'step':<{width}}  {'gas':>9}")
    for label, gas in rows:
        progress(f"{NAME}: {label:<{width}}  {gas:>9,}")
    return full


def check_books(url: str, cycles: list[dict[str, Any]], bare: BareCycle, supply_drop: int) -> None:
    """Raises unless the stable ledger and the token supply reconcile."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        net = {row["account"]: int(row["net"]) for row in conn.execute(
            "SELECT account, sum(amount) AS net FROM (SELECT credit_account AS account, amount"
            " FROM transfers UNION ALL SELECT debit_account, -amount FROM transfers) m"
            " WHERE account IN ('commission', 'buybacks:in_flight', 'buybacks:spent')"
            " GROUP BY account")}
        accrued = int(conn.execute("SELECT coalesce(sum(amount), 0) AS a FROM transfers"
                                   " WHERE kind = 'commission'").fetchone()["a"])
        settled = int(conn.execute("SELECT coalesce(sum(commission), 0) AS c FROM rounds"
                                   " WHERE status = 'settled'").fetchone()["c"])
        ledger_burned = int(conn.execute("SELECT coalesce(sum(amount), 0) AS b FROM token_transfers"
                                         " WHERE kind = 'burned'").fetchone()["b"])
    pool, in_flight, spent = (net.get(a, 0) for a in ("commission", "buybacks:in_flight",
                                                      "buybacks:spent"))
    burned = sum(int(c["burned"]) for c in cycles)
    bought = sum(int(c["spend"]) for c in cycles)
    progress(f"{NAME}: ledger: accrued {accrued} = pool {pool} + in flight {in_flight}"
             f" + spent {spent} (bought {bought}; rounds' commission {settled})")
    progress(f"{NAME}: supply fell {supply_drop} wei = burns rows {burned} + bare {bare.burned}"
             f" (token ledger burned {ledger_burned})")
    problems = [text for ok, text in (
        (accrued == pool + in_flight + spent, "commission != pool + in flight + spent"),
        (accrued == settled == bought == spent, "accrued, settled, bought and spent differ"),
        (pool == 0 and in_flight == 0, "commission left unbought"),
        (supply_drop == burned + bare.burned, "totalSupply did not fall by the sum burned"),
        (ledger_burned == burned, "the token ledger's burns differ from the burns rows")) if not ok]
    if problems:
        raise AssertionError("books do not reconcile: " + "; ".join(problems))


class Sender:
    """Transactions of one local key, built, signed here and sent one after another."""

    def __init__(self, w3: Web3, account: Any) -> None:
        self.w3, self.account = w3, account
        self.nonce = int(w3.eth.get_transaction_count(account.address, "pending"))

    def send(self, call: Any) -> Any:
        """The receipt of `call` (a contract function or a plain transfer); raises unless it
        succeeded."""
        base = {"from": self.account.address, "nonce": self.nonce}
        if hasattr(call, "build_transaction"):
            tx = call.build_transaction(base)
            # A margin over the estimate, as the intents add: an exact one can fail the swap.
            tx["gas"] = int(tx["gas"]) * 120 // 100
        else:
            base_fee = int(self.w3.eth.get_block("latest")["baseFeePerGas"])
            tip = int(self.w3.eth.max_priority_fee)
            tx = {**base, **call, "chainId": self.w3.eth.chain_id, "type": 2,
                  "maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip}
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise RuntimeError(f"bare transaction reverted: 0x{bytes(tx_hash).hex()}")
        self.nonce += 1
        return receipt


class BareCycle:
    """The buy-back's five transactions sent straight with web3, from a wallet of its own."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.wallet = Sender(w3, Account.create())
        self.core_gas: list[int] = []
        self.all_gas: list[int] = []
        self.burned = 0

        def at(name: str, address: str) -> Any:
            return w3.eth.contract(address=Web3.to_checksum_address(address),
                                   abi=artifacts.load(name).abi)
        self.token = at("EmberToken", deployment.token)
        self.stable = at("TestStable", deployment.stable)
        self.router = at("UniswapV2Router02", deployment.router)
        self.pool = at("DividendPool", deployment.dividend_pool)
        owner = Sender(w3, Account.from_key(DEV_DEPLOYER_KEY))
        owner.send({"to": self.address, "value": 10**18, "gas": 21_000})
        owner.send(self.pool.functions.setDepositor(self.address, True))
        owner.send(self.stable.functions.mint(self.address, 1_000 * 10**6))

    @property
    def address(self) -> str:
        return str(self.wallet.account.address)

    def run(self, spend: int) -> float:
        """Seconds one cycle of `spend` stable took."""
        send, me = self.wallet.send, self.address
        path = [self.stable.address, self.token.address]
        minimum = min_amount_out(spend, ReferencePrice(REFERENCE, "bench-deploy"), 100)
        start = time.perf_counter()
        approve = send(self.stable.functions.approve(self.router.address, spend))
        deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + 300
        swap = send(self.router.functions.swapExactTokensForTokens(spend, minimum, path, me, deadline))
        split = split_burn(tokens_received(swap["logs"], self.token.address, me), BURN_SHARE_BPS)
        burn = send(self.token.functions.burn(split.burn))
        allow = send(self.token.functions.approve(self.pool.address, split.dividend))
        deposit = send(self.pool.functions.deposit(split.dividend))
        seconds = time.perf_counter() - start
        self.burned += split.burn
        core = sum(int(r["gasUsed"]) for r in (swap, burn, deposit))
        self.core_gas.append(core)
        self.all_gas.append(core + int(approve["gasUsed"]) + int(allow["gasUsed"]))
        return seconds

    def total_supply(self) -> int:
        return int(self.token.functions.totalSupply().call())


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]
