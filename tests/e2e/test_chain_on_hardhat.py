"""On the Hardhat node through the adapters (issue #5): deploy, swap on the router, burn,
deposit, claim. The technical wallet sends through transaction intents; two stakers stake
before the deposit, and a claim after it pays exactly the claimer's share."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from ember.adapters.chain.artifacts import UNISWAP_V2_PAIR, load
from ember.adapters.chain.deploy import ensure_deployed
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
# The node mines a block every EMBER_CHAIN_BLOCK_MS besides automine (hardhat.config.cjs).
BLOCK_MS = int(os.environ.get("EMBER_CHAIN_BLOCK_MS", "1000"))


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


class OneSecondThenTheNext(Web3.HTTPProvider):
    """A node on which everything happens within one second, `second`: the pool's liquidity,
    the approval and the swap's gas estimate. Only the swap is mined in the second after."""

    def __init__(self, url: str) -> None:
        super().__init__(url, request_kwargs={"timeout": 30})
        self.second: int | None = None
        self.router = ""
        self.swap_estimated = False

    def make_request(self, method: Any, params: Any) -> Any:
        if self.second is not None and method in ("eth_estimateGas", "eth_sendRawTransaction"):
            if method == "eth_estimateGas" and self.router \
                    and str(params[0].get("to", "")).lower() == self.router:
                self.swap_estimated = True
            swap_sent = method == "eth_sendRawTransaction" and self.swap_estimated
            super().make_request("evm_setNextBlockTimestamp",
                                 [self.second + 1 if swap_sent else self.second])
        return super().make_request(method, params)


def test_a_swap_estimated_in_the_second_of_the_pools_liquidity_and_mined_later_goes_through(
        chain_rpc_url, database_url, tmp_path):
    """The pair's first swap in a later second than the liquidity writes its two price
    accumulators for the first time; an estimate made in the liquidity's second does not
    count them, and the swap must still have the gas for them."""
    node = OneSecondThenTheNext(chain_rpc_url)
    w3 = Web3(node)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]
    db = Database(database_url, max_size=2)
    try:
        node.second = int(w3.eth.get_block("latest")["timestamp"]) + 1
        deployer, wallet = funded_account(w3), Account.from_key("0x" + secrets.token_hex(32))
        contracts, _ = ensure_deployed(w3, tmp_path / "deployment.json", deployer=deployer,
                                       wallet=wallet.address, plan=PLAN)
        node.router = contracts.router.lower()
        pair = w3.eth.contract(address=contracts.pair, abi=load(UNISWAP_V2_PAIR).abi)
        assert pair.functions.getReserves().call()[2] == node.second
        assert pair.functions.price0CumulativeLast().call() == 0
        intents = TransactionIntents(db, w3, LocalKeySigner("0x" + bytes(wallet.key).hex()),
                                     confirmations=0, poll_interval=0.1)
        route = UniswapRoute.from_deployment(w3, intents, contracts, timeout_s=60)

        purchase = route.buy(uuid.uuid4(), SPEND, min_amount_out(SPEND, POOL_PRICE, 100))

        assert purchase.tokens_received > 0
        swapped = w3.eth.get_transaction_receipt(purchase.tx_hashes[0])
        assert w3.eth.get_block(swapped["blockNumber"])["timestamp"] == node.second + 1
        assert pair.functions.price0CumulativeLast().call() > 0  # the writes it had gas for
    finally:
        db.close()
        node.second = None
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        w3.provider.make_request("evm_setIntervalMining", [BLOCK_MS])  # type: ignore[arg-type]
