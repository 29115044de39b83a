"""Burn and dividend deposit through transaction intents on the in-process EVM: exact
supply and pool balance changes, each once per buy-back id."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from web3.exceptions import TransactionNotFound

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
    assert burned.burned == amount  # what the transaction's own logs show
    assert tokens_before - wired.tokens_of(wired.wallet) == amount
    receipt = wired.chain.w3.eth.get_transaction_receipt(burned.tx_hash)
    assert receipt["blockNumber"] == block and receipt["status"] == 1


def test_another_holders_burn_in_the_same_block_is_not_counted_as_ours(wired):
    """Anyone can burn: the supply falls by both burns, the burn reports only its own."""
    w3, tester = wired.chain.w3, wired.chain.w3.provider.ethereum_tester
    ours, theirs, buyback_id = 7 * TOKEN, 5 * TOKEN, uuid.uuid4()
    done: dict = {}
    tester.disable_auto_mine_transactions()
    try:
        other = wired.chain.token.functions.burn(theirs).transact({"from": wired.chain.treasury})
        burning = threading.Thread(
            target=lambda: done.update(write=wired.actions.burn(buyback_id, ours)))
        burning.start()
        deadline = time.monotonic() + 10
        while not _broadcast(wired, f"burn:{buyback_id}:burn"):
            assert time.monotonic() < deadline, "our burn was never broadcast"
            time.sleep(0.01)
        tester.mine_blocks(1)
        burning.join(10)
    finally:
        tester.enable_auto_mine_transactions()
    burned = done["write"]
    assert w3.eth.get_transaction_receipt(other)["blockNumber"] == burned.block_number
    block = burned.block_number
    fall = wired.actions.total_supply(block - 1) - wired.actions.total_supply(block)
    assert fall == ours + theirs and burned.burned == ours


def _broadcast(wired, purpose: str) -> bool:
    """Whether the node holds the transaction of intent `purpose` (mined or pending)."""
    intent = wired.intents.get(purpose)
    if intent is None:
        return False
    try:
        wired.chain.w3.eth.get_transaction(intent.tx_hash)
    except TransactionNotFound:
        return False
    return True


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
