"""DividendPool under random stakes, unstakes, deposits and claims by several accounts.

After every step, exactly to the unit:
    token.balanceOf(pool) == totalStaked + deposited - claimed          (principal kept apart)
    claimed + sum(pending) + undistributed + dust == deposited          (no reward lost or made)
and every account's pending equals a plain Python model of whole-share accounting.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract
from web3.logs import DISCARD

from .conftest import STAKE_UNIT, TOKEN, Chain, deploy, revert_data, selector, send, test_artifact

STAKERS = 3
FUNDS = 1_000 * TOKEN

# Amounts that exercise the edges: below one share, around it, and many shares.
stake_amounts = st.one_of(st.integers(1, 3 * STAKE_UNIT),
                          st.integers(1, 50_000).map(lambda n: n * STAKE_UNIT),
                          st.integers(1, 20 * TOKEN))
deposit_amounts = st.one_of(st.integers(1, 10**6), st.integers(1, 10 * TOKEN))
fractions = st.fractions(min_value=0, max_value=1)


class PoolModel:
    """What the pool should owe, computed the plain way: per account, in whole shares."""

    def __init__(self, accounts: list[str]) -> None:
        self.staked = dict.fromkeys(accounts, 0)
        self.owed = dict.fromkeys(accounts, 0)
        self.deposited = self.claimed = self.undistributed = self.dust = 0

    def shares(self, account: str) -> int:
        return self.staked[account] // STAKE_UNIT

    def deposit(self, amount: int) -> None:
        self.deposited += amount
        total_shares = sum(self.shares(a) for a in self.staked)
        if total_shares == 0:
            self.undistributed += amount
            return
        per_share, self.dust = divmod(amount + self.undistributed + self.dust, total_shares)
        self.undistributed = 0
        for account in self.owed:
            self.owed[account] += self.shares(account) * per_share


class PoolMachine(RuleBasedStateMachine):
    def __init__(self, chain: Chain, lens: Contract) -> None:
        super().__init__()
        self.chain, self.lens, self.pool = chain, lens, chain.pool
        self.accounts = list(chain.stakers[:STAKERS])
        self.model = PoolModel(self.accounts)
        self.snapshot = chain.tester.take_snapshot()

    def teardown(self) -> None:
        self.chain.tester.revert_to_snapshot(self.snapshot)

    @initialize()
    def nothing_yet(self) -> None:
        pass

    @rule(who=st.integers(0, STAKERS - 1), amount=stake_amounts)
    def stake(self, who: int, amount: int) -> None:
        account = self.accounts[who]
        send(self.pool.functions.stake(amount), account)
        self.model.staked[account] += amount

    @rule(who=st.integers(0, STAKERS - 1), fraction=fractions)
    def unstake(self, who: int, fraction: Any) -> None:
        account = self.accounts[who]
        staked = self.model.staked[account]
        amount = int(staked * fraction)
        if amount == 0:  # nothing to take back at this fraction: ask for more than the stake instead
            self.expect_revert(self.pool.functions.unstake(staked + 1), account, "InsufficientStake")
            return
        send(self.pool.functions.unstake(amount), account)
        self.model.staked[account] -= amount

    @rule(amount=deposit_amounts)
    def deposit(self, amount: int) -> None:
        send(self.pool.functions.deposit(amount), self.chain.wallet)
        self.model.deposit(amount)

    @rule(who=st.integers(0, STAKERS - 1))
    def claim(self, who: int) -> None:
        account = self.accounts[who]
        owed = self.model.owed[account]
        if owed == 0:
            self.expect_revert(self.pool.functions.claim(), account, "NothingToClaim")
            return
        receipt = send(self.pool.functions.claim(), account)
        (claimed,) = self.pool.events.Claimed().process_receipt(receipt, errors=DISCARD)
        assert claimed.args.amount == owed
        self.model.owed[account] = 0
        self.model.claimed += owed

    @precondition(lambda self: self.model.deposited > 0)
    @rule()
    def deposit_of_zero_is_refused(self) -> None:
        self.expect_revert(self.pool.functions.deposit(0), self.chain.wallet, "ZeroAmount")

    def expect_revert(self, fn: Any, sender: str, error: str) -> None:
        data = revert_data(lambda: fn.call({"from": sender}))
        assert data[:10] == selector(self.pool, error), (error, data)

    @invariant()
    def every_unit_is_accounted_for(self) -> None:
        f = self.lens.functions.figures(self.pool.address, self.accounts).call()
        balance, staked, deposited, claimed, undistributed, dust, pending = f
        model = self.model
        assert balance == staked + deposited - claimed
        assert claimed + sum(pending) + undistributed + dust == deposited
        assert (staked, deposited, claimed) == (sum(model.staked.values()), model.deposited, model.claimed)
        assert (undistributed, dust) == (model.undistributed, model.dust)
        assert pending == [model.owed[a] for a in self.accounts]


def test_pool_accounts_for_every_unit_under_random_use(chain: Chain) -> None:
    for account in (*chain.stakers[:STAKERS], chain.wallet):
        send(chain.token.functions.transfer(account, FUNDS), chain.treasury)
        send(chain.token.functions.approve(chain.pool.address, 2**256 - 1), account)
    lens_abi, lens_bytecode = test_artifact("PoolLens")
    lens = deploy(chain.w3, chain.treasury, lens_abi, lens_bytecode)

    class OnThisChain(PoolMachine):
        def __init__(self) -> None:
            super().__init__(chain, lens)

    run_state_machine_as_test(
        OnThisChain,
        settings=settings(max_examples=10, stateful_step_count=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]))
