"""Burn and dividend deposit through transaction intents on the in-process EVM: exact
supply and pool balance changes, each once per buy-back id."""

from __future__ import annotations

import uuid

import pytest

from tests.integration import buyback_fixtures as fixtures
from tests.integration.contracts.conftest import TOKEN

pytestmark = pytest.mark.integration
# The shared fixtures, by name, for pytest to find here.
buyback_deployed, buyback_chain, wired = fixtures.buyback_deployed, fixtures.buyback_chain, fixtures.wired


def test_burn_lowers_total_supply_by_exactly_the_amount(wired):
    amount = 9_000 * TOKEN + 7
    tokens_before = wired.tokens_of(wired.wallet)

    burned = wired.actions.burn(uuid.uuid4(), amount)

    block = burned.block_number
    assert wired.actions.total_supply(block - 1) - wired.actions.total_supply(block) == amount
    assert tokens_before - wired.tokens_of(wired.wallet) == amount
    receipt = wired.chain.w3.eth.get_transaction_receipt(burned.tx_hash)
    assert receipt["blockNumber"] == block and receipt["status"] == 1


def test_a_repeated_burn_with_the_same_id_burns_once(wired, sql):
    buyback_id = uuid.uuid4()
    first = wired.actions.burn(buyback_id, 1_000 * TOKEN)
    supply = wired.actions.total_supply(first.block_number)

    assert wired.actions.burn(buyback_id, 1_000 * TOKEN) == first
    assert wired.chain.token.functions.totalSupply().call() == supply
    assert sql.execute("SELECT purpose FROM tx_intents").fetchall() == [
        {"purpose": f"burn:{buyback_id}:burn"}]


def test_deposit_raises_the_dividend_pools_balance_by_the_dividend(wired, sql):
    pool = wired.chain.pool.address
    amount = 1_000 * TOKEN + 3
    buyback_id = uuid.uuid4()
    before = wired.tokens_of(pool)

    deposited = wired.actions.deposit_dividend(buyback_id, amount)

    assert wired.tokens_of(pool) - before == amount
    assert wired.chain.pool.functions.totalDeposited().call() == amount
    allowance = wired.chain.token.functions.allowance(wired.wallet, pool).call()
    assert allowance == 0  # approved exactly the dividend
    assert wired.actions.deposit_dividend(buyback_id, amount) == deposited  # a retry deposits once
    assert wired.tokens_of(pool) - before == amount
    purposes = [r["purpose"] for r in sql.execute("SELECT purpose FROM tx_intents ORDER BY nonce")]
    assert purposes == [f"burn:{buyback_id}:approve", f"burn:{buyback_id}:deposit"]


def test_burn_and_deposit_of_one_buyback_are_separate_transactions(wired):
    buyback_id = uuid.uuid4()
    burned = wired.actions.burn(buyback_id, 90 * TOKEN)
    deposited = wired.actions.deposit_dividend(buyback_id, 10 * TOKEN)
    assert burned.tx_hash != deposited.tx_hash
    assert deposited.block_number > burned.block_number


def test_a_non_positive_amount_is_refused_before_signing(wired, sql):
    with pytest.raises(ValueError):
        wired.actions.burn(uuid.uuid4(), 0)
    with pytest.raises(ValueError):
        wired.actions.deposit_dividend(uuid.uuid4(), -1)
    assert sql.execute("SELECT count(*) AS n FROM tx_intents").fetchone()["n"] == 0
