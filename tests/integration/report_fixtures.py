"""Real data for the burn report tests: Ember's contracts on the Hardhat node, rounds settled
with commission on the wall clock, and the real buy-back and burn services with the real
chain wiring; and burns that are not Ember's: the deployer (the treasury, which holds the
supply not put in the pool) burns in a block of its own and in the very block of one of the
wallet's burns, and after the story the wallet burns outside the ledger.

The story takes ~45 s of wall clock and chain, so a test module tells it once
(`tell_story_once`, behind a module-scoped fixture) on a database of its own. A test that
writes to the database gets a copy of it (`clone_database` of `Told.pristine_url`, a
snapshot taken right after the story that nothing ever connects to, so it can always serve
as a `CREATE DATABASE ... TEMPLATE`)."""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eth_typing import HexStr

from ember.domain.clock import SystemClock
from tests.e2e.buyback_stack import Deployed, chain_settings, deploy
from tests.support import bet, fund, market, open_round

USD, TOKEN = 10**6, 10**18
STAKE = 100 * USD  # each of two players; at 10% the round accrues 20 USDT
ROUND_COMMISSION = 2 * STAKE // 10
# What the treasury burns (odd wei, so no sum of other figures matches by chance): alone in
# a block in the first half, beside the wallet's second burn in the second half.
TREASURY_BURN_ALONE = 1_234 * TOKEN + 11
TREASURY_BURN_BESIDE = 4_321 * TOKEN + 7
UNKNOWN_WALLET_BURN = 3 * TOKEN + 3  # burned by the wallet after the story, outside the ledger
# The node mines a block every EMBER_CHAIN_BLOCK_MS besides automine (hardhat.config.cjs).
BLOCK_MS = int(os.environ.get("EMBER_CHAIN_BLOCK_MS", "1000"))


@dataclass(frozen=True)
class ChainBurn:
    """A burn sent outside the burn service: who burned, how much, where it was mined."""

    sender: str
    amount: int
    tx_hash: str
    block: int


@dataclass
class Story:
    """What happened, in order, with the moments that split it."""

    app: Any
    deployed: Deployed
    started: datetime
    middle: datetime | None = None
    ended: datetime | None = None
    after: datetime | None = None  # `ended` < the wallet's burn outside the ledger < `after`
    buybacks: list[uuid.UUID] = field(default_factory=list)
    treasury_burns: list[ChainBurn] = field(default_factory=list)
    wallet_burn_blocks: list[int] = field(default_factory=list)  # of the ledger's burns
    unknown_wallet_burn: ChainBurn | None = None

    def treasury_burned(self, start_block: int, end_block: int) -> list[ChainBurn]:
        """The treasury's burns mined in (start_block, end_block]."""
        return [b for b in self.treasury_burns if start_block < b.block <= end_block]


def settle_round(app: Any) -> uuid.UUID:
    """A two-sided round at 10% commission on the wall clock, settled by the keeper."""
    from ember.services.keeper import run_keeper

    m = market(id=f"rep-{uuid.uuid4().hex[:8]}", commission_bps=1000, max_bet=10**12,
               interval_s=2, bet_window_s=1)
    rid = open_round(app, m)
    for player, outcome in (("alice", 0), ("bob", 1)):
        fund(app, player, STAKE)
        bet(app, player, rid, outcome, STAKE)
    time.sleep(2.05)
    run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock, ahead=0)
    status = app.db.run(lambda c: c.execute("SELECT status FROM rounds WHERE id = %s",
                                            (rid,)).fetchone()["status"])
    assert status == "settled"
    return rid


def buy(app: Any) -> uuid.UUID:
    """The buy-back service as buy_tokens runs it, and the burn it opens; the buy-back's id."""
    from ember.adapters.postgres.burns import open_burn
    from ember.adapters.postgres.buybacks import PostgresBuybacks
    from ember.services.buy_back import run_buybacks

    chain = app.chain
    run = run_buybacks(store=PostgresBuybacks(app.db), routes=[chain.dex_route],
                       pool_price=chain.pool_price, prices=chain.price_source,
                       controls=app.kill_switch, policy=app.settings.buyback_policy,
                       clock=app.clock, dry_run=False)
    assert run.summary().get("bought") or run.summary(), run
    row = app.db.run(lambda c: c.execute(
        "SELECT id, tokens_received FROM buybacks WHERE status = 'bought'"
        " AND id NOT IN (SELECT buyback_id FROM burns) ORDER BY finished_at DESC").fetchone())
    assert row is not None, run.summary()
    app.db.run(lambda c: open_burn(c, row["id"], int(row["tokens_received"]),
                                   app.settings.burn_share_bps, app.clock.now()))
    return row["id"]


def burn(app: Any, buyback_id: uuid.UUID) -> int:
    """The burn service as burn runs it, on the buy-back's open burn; the burn's block."""
    from ember.adapters.postgres.burns import PostgresBurns
    from ember.services.burn import run_burns

    burned = run_burns(store=PostgresBurns(app.db), actions=app.chain.token_actions,
                       controls=app.kill_switch, clock=app.clock)
    assert burned.finished == [buyback_id]
    return int(app.db.run(lambda c: c.execute(
        "SELECT burn_block FROM burns WHERE buyback_id = %s", (buyback_id,)).fetchone())["burn_block"])


def buy_and_burn(app: Any, story: Story) -> uuid.UUID:
    """A buy-back, then its burn; the buy-back's id (the burn's block goes to the story)."""
    buyback_id = buy(app)
    story.wallet_burn_blocks.append(burn(app, buyback_id))
    return buyback_id


def send_unmined(deployed: Deployed, account: Any, call: Any) -> str:
    """`call` signed by `account` and sent, not waited for; its tx hash."""
    w3 = deployed.w3
    tx = call.build_transaction({"from": account.address, "chainId": w3.eth.chain_id,
                                 "nonce": w3.eth.get_transaction_count(account.address, "pending")})
    return "0x" + bytes(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)).hex()


def holder_burn(deployed: Deployed, account: Any, amount: int) -> ChainBurn:
    """`account` burns `amount` of its own tokens (ERC20Burnable: any holder can)."""
    receipt = deployed.send(account, deployed.token.functions.burn(amount))
    return ChainBurn(account.address, amount, "0x" + bytes(receipt["transactionHash"]).hex(),
                     int(receipt["blockNumber"]))


def buy_and_burn_beside_the_treasury(app: Any, story: Story, amount: int) -> uuid.UUID:
    """A buy-back, then its burn mined in one block with the treasury's burn of `amount`.

    The node stops mining on its own (automine and interval mining off) while the burn
    service runs in a thread; once the wallet's burn waits in the mempool the treasury's
    joins it and one `evm_mine` mines both. Mining is restored whatever happens, and then
    mines the rest of the service's work (the block on top it waits for, the deposit)."""
    deployed = story.deployed
    w3, rpc = deployed.w3, deployed.w3.provider.make_request
    buyback_id = buy(app)
    wallet = deployed.wallet.address
    outcome: dict[str, Any] = {}

    def run_the_burn() -> None:
        try:
            outcome["block"] = burn(app, buyback_id)
        except BaseException as error:  # re-raised by the test's thread
            outcome["error"] = error

    worker = threading.Thread(target=run_the_burn, name="burn-beside-the-treasury")
    treasury_tx: str | None = None
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        rpc("evm_setIntervalMining", [0])  # type: ignore[arg-type]
        worker.start()
        deadline = time.monotonic() + 60
        while (w3.eth.get_transaction_count(wallet, "pending")
               == w3.eth.get_transaction_count(wallet, "latest")):
            assert worker.is_alive(), outcome.get("error")
            assert time.monotonic() < deadline, "the wallet's burn never reached the mempool"
            time.sleep(0.05)
        treasury_tx = send_unmined(deployed, deployed.deployer,
                                   deployed.token.functions.burn(amount))
        rpc("evm_mine", [])  # type: ignore[arg-type]
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]
        rpc("evm_setIntervalMining", [BLOCK_MS])  # type: ignore[arg-type]
        worker.join(timeout=180)
    if "error" in outcome:
        raise outcome["error"]
    assert not worker.is_alive() and treasury_tx is not None
    receipt = w3.eth.wait_for_transaction_receipt(HexStr(treasury_tx), timeout=60)
    assert receipt["status"] == 1, receipt
    block = int(receipt["blockNumber"])
    assert block == outcome["block"], "the treasury's burn was mined apart from the wallet's"
    story.wallet_burn_blocks.append(outcome["block"])
    story.treasury_burns.append(ChainBurn(deployed.deployer.address, amount, treasury_tx, block))
    return buyback_id


def wallet_burn_outside_the_ledger(deployed: Deployed, amount: int) -> ChainBurn:
    """The technical wallet burns `amount` (given to it by the treasury) by a transaction of
    its own, not the burn service's: a burn the ledger never hears of."""
    deployed.send(deployed.deployer, deployed.token.functions.transfer(deployed.wallet.address, amount))
    return holder_burn(deployed, deployed.wallet, amount)


def boundary(deployed: Deployed) -> datetime:
    """A whole second after the wall clock and the chain's latest block, returned once both
    clocks passed it (a block stamped at or after it is mined): everything before is before
    it on both clocks, everything after, after."""
    w3 = deployed.w3
    moment = max(math.floor(time.time()), int(w3.eth.get_block("latest")["timestamp"])) + 1
    time.sleep(max(0.0, moment - time.time()) + 0.05)
    while int(w3.eth.get_block("latest")["timestamp"]) < moment:
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        time.sleep(0.05)
    return datetime.fromtimestamp(moment, UTC)


def tell_story(chain_rpc_url: str, database_url: str, stack: Any, directory: Path) -> Story:
    """Round 1 → buy-back 1 → burn 1, the treasury burns (a block of its own) | middle |
    round 2 → buy-back 2 → burn 2 with a treasury burn in the same block, round 3 (its
    commission stays in the pool) | ended | the wallet burns outside the ledger | after.
    The story's app is left open: the caller closes it."""
    from ember.runtime.bootstrap import build

    deployed = deploy(chain_rpc_url, directory)
    settings = chain_settings(deployed, database_url, stack, chain_rpc_url,
                              EMBER_BUYBACK_TRANCHE_INTERVAL_S=1, EMBER_BUYBACK_MAX_DELAY_S=60,
                              EMBER_REPORTS_DIR=str(directory / "reports"),
                              EMBER_AUTH_MODE="hs256",
                              EMBER_JWT_SECRET="test-secret-that-is-at-least-32-bytes-long",
                              EMBER_BURN_SHARE_BPS=8000)
    app = build(settings, clock=SystemClock())
    try:
        told = Story(app, deployed, started=boundary(deployed))
        settle_round(app)
        told.buybacks.append(buy_and_burn(app, told))
        told.treasury_burns.append(holder_burn(deployed, deployed.deployer, TREASURY_BURN_ALONE))
        assert told.treasury_burns[-1].block not in told.wallet_burn_blocks
        told.middle = boundary(deployed)
        settle_round(app)
        time.sleep(1.1)  # the tranche interval
        told.buybacks.append(buy_and_burn_beside_the_treasury(app, told, TREASURY_BURN_BESIDE))
        settle_round(app)
        told.ended = boundary(deployed)
        told.unknown_wallet_burn = wallet_burn_outside_the_ledger(deployed, UNKNOWN_WALLET_BURN)
        told.after = boundary(deployed)
    except BaseException:
        app.close()
        raise
    return told


# --- one story per module, copies for the tests that write ----------------------------------

def clone_database(databases: Any, source_url: str) -> str:
    """A new database copied from `source_url`'s (CREATE DATABASE ... TEMPLATE), named under
    the session's prefix so `databases.drop_all()` removes it too. PostgreSQL refuses while
    anything is connected to the source (it waits ~5 s for closing backends first)."""
    source = urlsplit(source_url).path.lstrip("/")
    name = f"{databases.prefix}_c{uuid.uuid4().hex[:10]}"
    with psycopg.connect(databases.url_for("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return databases.url_for(name)


def app_on(settings: Any, **update: Any) -> Any:
    """An app built from `settings` with `update` applied (e.g. another database_url)."""
    from ember.runtime.bootstrap import build

    return build(settings.model_copy(update=update), clock=SystemClock())


@dataclass
class Told:
    """The module's story, its app open on `story.app.settings.database_url`, and
    `pristine_url`: the database as the story left it, never connected to."""

    story: Story
    pristine_url: str


def tell_story_once(chain_rpc_url: str, databases: Any, stack: Any,
                    directory: Path) -> Iterator[Told]:
    """The module-scoped story fixture: a fresh database of its own, the story told on it,
    its app closed so the database can be snapshotted, then reopened, read-only, for the
    tests."""
    database_url = databases.fresh()
    pristine_url: str | None = None
    story: Story | None = None
    try:
        story = tell_story(chain_rpc_url, database_url, stack, directory)
        story.app.close()  # no connection may stay open to a template
        pristine_url = clone_database(databases, database_url)
        # Shared by the module's tests, so read-only from here on: a test that writes to it
        # fails loudly instead of leaking into the others (copies do not inherit the setting).
        with psycopg.connect(databases.url_for("postgres"), autocommit=True) as admin:
            name = urlsplit(database_url).path.lstrip("/")
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        story.app = app_on(story.app.settings)
        yield Told(story, pristine_url)
    finally:
        if story is not None:
            story.app.close()
        for url in (pristine_url, database_url):
            if url is not None:
                databases.drop(url)
