"""On the Hardhat node through the adapters (issue #5): deploy, swap on the router, burn,
deposit, claim. The technical wallet sends through transaction intents; two stakers stake
before the deposit, and a claim after it pays exactly the claimer's share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from ember.adapters.chain.dex_route import UniswapRoute
from ember.adapters.chain.intents import TransactionIntents
from ember.adapters.chain.signer import LocalKeySigner
from ember.adapters.chain.token_actions import ChainTokenActions
from ember.adapters.postgres.database import Database
from ember.domain.buyback import ReferencePrice, min_amount_out
from tests.e2e.buyback_stack import PLAN, TOKEN, USD, Deployed, deploy, funded_account

pytestmark = pytest.mark.integration

SPEND = 500 * USD
POOL_PRICE = ReferencePrice.of(PLAN.pool_stable, PLAN.pool_tokens, "dev-pool")


@pytest.fixture
def deployed(chain_rpc_url: str, tmp_path) -> Deployed:
    return deploy(chain_rpc_url, tmp_path)


@pytest.fixture
def intents(deployed: Deployed, database_url: str) -> Iterator[TransactionIntents]:
    db = Database(database_url, max_size=2)
    yield TransactionIntents(db, deployed.w3, LocalKeySigner("0x" + bytes(deployed.wallet.key).hex()),
                             confirmations=1, poll_interval=0.1)
    db.close()


def test_deploy_swap_burn_deposit_and_claim_through_the_adapters(deployed, intents, sql):
    w3, contracts = deployed.w3, deployed.deployment
    wallet, pool = deployed.wallet.address, deployed.pool
    # deploy: the file records live contracts, the wallet may deposit and holds the stable.
    assert {role for role, address in contracts.contracts.items() if w3.eth.get_code(address)} == {
        "weth", "factory", "router", "token", "stable", "dividend_pool", "pair"}
    assert pool.functions.isDepositor(wallet).call() is True
    assert deployed.stable_of(wallet) == PLAN.wallet_stable
    supply = deployed.total_supply()
    assert supply == PLAN.token_supply

    stakers = [funded_account(w3), funded_account(w3)]
    for staker, stake in zip(stakers, (3_000 * TOKEN, 1_000 * TOKEN), strict=True):
        deployed.send(deployed.deployer, deployed.token.functions.transfer(staker.address, stake))
        deployed.send(staker, deployed.token.functions.approve(contracts.dividend_pool, stake))
        deployed.send(staker, pool.functions.stake(stake))
    total_shares = int(pool.functions.totalShares().call())
    claimer_shares = int(pool.functions.sharesOf(stakers[0].address).call())
    assert (claimer_shares, total_shares) == (3_000 * TOKEN // PLAN.stake_unit,
                                              4_000 * TOKEN // PLAN.stake_unit)

    # swap on the router
    route = UniswapRoute.from_deployment(w3, intents, contracts, timeout_s=60)
    quoted = route.quote(SPEND)
    buyback_id = uuid.uuid4()
    purchase = route.buy(buyback_id, SPEND, min_amount_out(SPEND, POOL_PRICE, 100))
    assert purchase.tokens_received == quoted == deployed.tokens_of(wallet) > 0
    assert PLAN.wallet_stable - deployed.stable_of(wallet) == SPEND

    # burn
    actions = ChainTokenActions.from_deployment(w3, intents, contracts, timeout_s=60)
    burn, dividend = purchase.tokens_received // 2, purchase.tokens_received - purchase.tokens_received // 2
    burned = actions.burn(buyback_id, burn)
    assert actions.total_supply(burned.block_number - 1) - actions.total_supply(burned.block_number) == burn
    assert deployed.total_supply() == supply - burn

    # deposit
    pool_before = deployed.tokens_of(contracts.dividend_pool)
    actions.deposit_dividend(buyback_id, dividend)
    assert deployed.tokens_of(contracts.dividend_pool) - pool_before == dividend
    assert deployed.tokens_of(wallet) == 0
    per_share = dividend // total_shares
    assert int(pool.functions.dust().call()) == dividend - per_share * total_shares

    # claim: the claimer gets its shares' part of the deposit, to the unit
    claimer = stakers[0].address
    share = claimer_shares * per_share
    assert int(pool.functions.pending(claimer).call()) == share > 0
    balance_before = deployed.tokens_of(claimer)
    deployed.send(stakers[0], pool.functions.claim())
    assert deployed.tokens_of(claimer) - balance_before == share
    assert int(pool.functions.pending(claimer).call()) == 0
    other_share = (total_shares - claimer_shares) * per_share
    assert int(pool.functions.pending(stakers[1].address).call()) == other_share

    # every wallet transaction went through an intent, each mined once
    rows = sql.execute("SELECT purpose, status FROM tx_intents ORDER BY nonce").fetchall()
    assert [(r["purpose"].rsplit(":", 1)[1], r["status"]) for r in rows] == [
        (step, "mined") for step in ("approve", "swap", "burn", "approve", "deposit")]
    assert deployed.wallet_transactions() == len(rows)
