"""Real data for the burn report tests: Ember's contracts on the Hardhat node, rounds settled
with commission on the wall clock, and the real buy-back and burn services with the real
chain wiring.

The story takes ~45 s of wall clock and chain, so a test module tells it once
(`tell_story_once`, behind a module-scoped fixture) on a database of its own. A test that
writes to the database gets a copy of it (`clone_database` of `Told.pristine_url`, a
snapshot taken right after the story that nothing ever connects to, so it can always serve
as a `CREATE DATABASE ... TEMPLATE`)."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from ember.domain.clock import SystemClock
from tests.e2e.buyback_stack import Deployed, chain_settings, deploy
from tests.support import bet, fund, market, open_round

USD = 10**6
STAKE = 100 * USD  # each of two players; at 10% the round accrues 20 USDT
ROUND_COMMISSION = 2 * STAKE // 10


@dataclass
class Story:
    """What happened, in order, with the moments that split it."""

    app: Any
    deployed: Deployed
    started: datetime
    middle: datetime | None = None
    ended: datetime | None = None
    buybacks: list[uuid.UUID] = field(default_factory=list)


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


def buy_and_burn(app: Any) -> uuid.UUID:
    """The buy-back and burn services, as buy_tokens and burn run them; the buy-back's id."""
    from ember.adapters.postgres.burns import PostgresBurns, open_burn
    from ember.adapters.postgres.buybacks import PostgresBuybacks
    from ember.services.burn import run_burns
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
    burned = run_burns(store=PostgresBurns(app.db), actions=chain.token_actions,
                       controls=app.kill_switch, clock=app.clock)
    assert burned.finished == [row["id"]]
    return row["id"]


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
    """Round 1 → buy-back 1 → burn 1 | middle | round 2 → buy-back 2 → burn 2, round 3 (its
    commission stays in the pool) | ended. The story's app is left open: the caller closes it."""
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
        told.buybacks.append(buy_and_burn(app))
        told.middle = boundary(deployed)
        settle_round(app)
        time.sleep(1.1)  # the tranche interval
        told.buybacks.append(buy_and_burn(app))
        settle_round(app)
        told.ended = boundary(deployed)
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
