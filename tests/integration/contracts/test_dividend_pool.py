"""DividendPool: staking, deposits by authorised depositors, O(1) claims, exact accounting."""

from __future__ import annotations

import pytest
from web3.contract import Contract
from web3.logs import DISCARD

from ember.adapters.chain import artifacts

from .conftest import STAKE_UNIT, TOKEN, Chain, deploy, deploy_artifact, send, test_artifact

ZERO = "0x" + "00" * 20


@pytest.fixture
def funded(chain: Chain) -> Chain:
    """Every staker and the wallet hold 1,000 tokens, with the pool approved to take them."""
    for account in (*chain.stakers, chain.wallet):
        send(chain.token.functions.transfer(account, 1_000 * TOKEN), chain.treasury)
        send(chain.token.functions.approve(chain.pool.address, 2**256 - 1), account)
    return chain


def stake(chain: Chain, account: str, amount: int):
    return send(chain.pool.functions.stake(amount), account)


def deposit(chain: Chain, amount: int):
    return send(chain.pool.functions.deposit(amount), chain.wallet)


def pending(chain: Chain, account: str) -> int:
    return chain.pool.functions.pending(account).call()


def totals(pool: Contract) -> dict[str, int]:
    names = ("totalStaked", "totalShares", "rewardPerShare", "dust", "undistributed", "totalDeposited",
             "totalClaimed")
    return {name: getattr(pool.functions, name)().call() for name in names}


# ---- deployment ----

def test_deployment_records_token_stake_unit_and_owner(chain: Chain) -> None:
    pool = chain.pool.functions
    assert (pool.token().call(), pool.stakeUnit().call(), pool.owner().call()) == (
        chain.token.address, STAKE_UNIT, chain.treasury)
    assert pool.pendingOwner().call() == ZERO
    assert set(totals(chain.pool).values()) == {0}


@pytest.mark.parametrize(("token", "unit", "owner", "error", "args"), [
    (ZERO, STAKE_UNIT, "treasury", "ZeroAddress", ()),
    ("token", 0, "treasury", "ZeroStakeUnit", ()),
    ("token", STAKE_UNIT, ZERO, "OwnableInvalidOwner", (ZERO,)),
])
def test_deployment_with_a_bad_argument_reverts(chain: Chain, reverts, token, unit, owner, error,
                                                args) -> None:
    built = artifacts.load(artifacts.DIVIDEND_POOL)
    token = chain.token.address if token == "token" else token
    owner = chain.treasury if owner == "treasury" else owner
    factory = chain.w3.eth.contract(abi=built.abi, bytecode=built.bytecode)
    constructor = factory.constructor(token, unit, owner)
    reverts(chain.pool, error, constructor, chain.treasury, *args)


# ---- stake ----

def test_stake_takes_tokens_counts_shares_and_emits_staked(funded: Chain) -> None:
    alice = funded.stakers[0]
    receipt = stake(funded, alice, 5 * STAKE_UNIT + 7)  # the 7 units below a share earn nothing
    pool = funded.pool.functions
    assert (pool.stakedOf(alice).call(), pool.sharesOf(alice).call()) == (5 * STAKE_UNIT + 7, 5)
    assert (pool.totalStaked().call(), pool.totalShares().call()) == (5 * STAKE_UNIT + 7, 5)
    assert funded.token.functions.balanceOf(funded.pool.address).call() == 5 * STAKE_UNIT + 7
    (event,) = funded.pool.events.Staked().process_receipt(receipt, errors=DISCARD)
    assert (event.args.account, event.args.amount) == (alice, 5 * STAKE_UNIT + 7)


def test_stake_remainders_add_up_to_a_share(funded: Chain) -> None:
    alice = funded.stakers[0]
    stake(funded, alice, STAKE_UNIT // 2)
    stake(funded, alice, STAKE_UNIT // 2)
    assert funded.pool.functions.sharesOf(alice).call() == 1
    assert funded.pool.functions.totalShares().call() == 1


def test_stake_of_zero_reverts_with_zero_amount(funded: Chain, reverts) -> None:
    reverts(funded.pool, "ZeroAmount", funded.pool.functions.stake(0), funded.stakers[0])


def test_stake_without_allowance_reverts_in_the_token(chain: Chain, reverts) -> None:
    send(chain.token.functions.transfer(chain.stakers[0], TOKEN), chain.treasury)
    reverts(chain.token, "ERC20InsufficientAllowance", chain.pool.functions.stake(TOKEN), chain.stakers[0],
            chain.pool.address, 0, TOKEN)


# ---- unstake ----

def test_unstake_returns_principal_keeps_rewards_and_emits_unstaked(funded: Chain) -> None:
    alice = funded.stakers[0]
    stake(funded, alice, 10 * TOKEN)
    deposit(funded, 3 * TOKEN)
    before = funded.token.functions.balanceOf(alice).call()
    receipt = send(funded.pool.functions.unstake(4 * TOKEN), alice)
    assert funded.token.functions.balanceOf(alice).call() == before + 4 * TOKEN
    assert funded.pool.functions.stakedOf(alice).call() == 6 * TOKEN
    assert funded.pool.functions.totalShares().call() == 6 * TOKEN // STAKE_UNIT
    assert pending(funded, alice) == 3 * TOKEN  # earned before unstaking, still owed
    (event,) = funded.pool.events.Unstaked().process_receipt(receipt, errors=DISCARD)
    assert (event.args.account, event.args.amount) == (alice, 4 * TOKEN)


def test_unstake_of_zero_reverts_with_zero_amount(funded: Chain, reverts) -> None:
    reverts(funded.pool, "ZeroAmount", funded.pool.functions.unstake(0), funded.stakers[0])


def test_unstake_beyond_stake_reverts_with_insufficient_stake(funded: Chain, reverts) -> None:
    alice = funded.stakers[0]
    stake(funded, alice, 2 * TOKEN)
    reverts(funded.pool, "InsufficientStake", funded.pool.functions.unstake(2 * TOKEN + 1), alice,
            2 * TOKEN, 2 * TOKEN + 1)


# ---- deposit ----

def test_deposit_splits_by_shares_and_emits_deposited(funded: Chain) -> None:
    alice, bob = funded.stakers[:2]
    stake(funded, alice, 1 * TOKEN)
    stake(funded, bob, 3 * TOKEN)
    receipt = deposit(funded, 8 * TOKEN)
    assert (pending(funded, alice), pending(funded, bob)) == (2 * TOKEN, 6 * TOKEN)
    (event,) = funded.pool.events.Deposited().process_receipt(receipt, errors=DISCARD)
    assert dict(event.args) == {"depositor": funded.wallet, "amount": 8 * TOKEN, "distributed": 8 * TOKEN,
                                "undistributed": 0, "dust": 0}
    assert funded.pool.functions.rewardBalance().call() == 8 * TOKEN


def test_deposit_by_a_stranger_reverts_with_not_depositor(funded: Chain, reverts) -> None:
    stranger = funded.stakers[0]
    reverts(funded.pool, "NotDepositor", funded.pool.functions.deposit(1), stranger, stranger)


def test_deposit_of_zero_reverts_with_zero_amount(funded: Chain, reverts) -> None:
    reverts(funded.pool, "ZeroAmount", funded.pool.functions.deposit(0), funded.wallet)


def test_deposit_without_stakers_waits_as_undistributed_until_the_next_deposit(funded: Chain) -> None:
    alice = funded.stakers[0]
    receipt = deposit(funded, 5 * TOKEN)
    (event,) = funded.pool.events.Deposited().process_receipt(receipt, errors=DISCARD)
    assert (event.args.distributed, event.args.undistributed) == (0, 5 * TOKEN)
    assert funded.pool.functions.undistributed().call() == 5 * TOKEN
    stake(funded, alice, TOKEN)
    assert pending(funded, alice) == 0  # a first stake does not collect the backlog
    deposit(funded, 1 * TOKEN)
    assert pending(funded, alice) == 6 * TOKEN
    assert funded.pool.functions.undistributed().call() == 0


def test_deposit_remainder_is_kept_as_dust_and_carried_into_the_next_deposit(funded: Chain) -> None:
    alice, bob = funded.stakers[:2]
    stake(funded, alice, 1 * STAKE_UNIT)
    stake(funded, bob, 2 * STAKE_UNIT)
    receipt = deposit(funded, 10)
    (event,) = funded.pool.events.Deposited().process_receipt(receipt, errors=DISCARD)
    assert (event.args.distributed, event.args.dust) == (9, 1)
    assert (pending(funded, alice), pending(funded, bob), funded.pool.functions.dust().call()) == (3, 6, 1)
    deposit(funded, 2)  # 2 + 1 dust = 3 = one more unit per share
    assert (pending(funded, alice), pending(funded, bob), funded.pool.functions.dust().call()) == (4, 8, 0)


def test_deposit_smaller_than_the_shares_is_all_dust(funded: Chain) -> None:
    stake(funded, funded.stakers[0], 10 * STAKE_UNIT)
    deposit(funded, 9)
    assert (funded.pool.functions.dust().call(), funded.pool.functions.rewardPerShare().call()) == (9, 0)
    assert pending(funded, funded.stakers[0]) == 0


def test_stake_after_a_deposit_earns_only_later_deposits(funded: Chain) -> None:
    alice, bob = funded.stakers[:2]
    stake(funded, alice, TOKEN)
    deposit(funded, 4 * TOKEN)
    stake(funded, bob, TOKEN)
    deposit(funded, 2 * TOKEN)
    assert (pending(funded, alice), pending(funded, bob)) == (5 * TOKEN, 1 * TOKEN)


# ---- claim ----

def test_claim_pays_pending_and_emits_claimed(funded: Chain) -> None:
    alice = funded.stakers[0]
    stake(funded, alice, TOKEN)
    deposit(funded, 3 * TOKEN)
    before = funded.token.functions.balanceOf(alice).call()
    receipt = send(funded.pool.functions.claim(), alice)
    assert funded.token.functions.balanceOf(alice).call() == before + 3 * TOKEN
    assert (pending(funded, alice), funded.pool.functions.totalClaimed().call()) == (0, 3 * TOKEN)
    assert funded.pool.functions.stakedOf(alice).call() == TOKEN  # principal untouched
    (event,) = funded.pool.events.Claimed().process_receipt(receipt, errors=DISCARD)
    assert (event.args.account, event.args.amount) == (alice, 3 * TOKEN)


def test_claim_with_nothing_owed_reverts_with_nothing_to_claim(funded: Chain, reverts) -> None:
    alice = funded.stakers[0]
    reverts(funded.pool, "NothingToClaim", funded.pool.functions.claim(), alice)
    stake(funded, alice, TOKEN)
    deposit(funded, TOKEN)
    send(funded.pool.functions.claim(), alice)
    reverts(funded.pool, "NothingToClaim", funded.pool.functions.claim(), alice)


def test_claim_after_unstaking_everything_still_pays(funded: Chain) -> None:
    alice = funded.stakers[0]
    stake(funded, alice, TOKEN)
    deposit(funded, TOKEN)
    send(funded.pool.functions.unstake(TOKEN), alice)
    send(funded.pool.functions.claim(), alice)
    assert funded.token.functions.balanceOf(funded.pool.address).call() == 0


# ---- depositors and ownership ----

def test_set_depositor_allows_and_revokes_and_emits_depositor_set(funded: Chain, reverts) -> None:
    wallet, owner = funded.wallet, funded.treasury
    receipt = send(funded.pool.functions.setDepositor(wallet, False), owner)
    (event,) = funded.pool.events.DepositorSet().process_receipt(receipt, errors=DISCARD)
    assert (event.args.account, event.args.allowed) == (wallet, False)
    assert funded.pool.functions.isDepositor(wallet).call() is False
    reverts(funded.pool, "NotDepositor", funded.pool.functions.deposit(1), wallet, wallet)
    send(funded.pool.functions.setDepositor(wallet, True), owner)
    deposit(funded, 1)


def test_set_depositor_by_a_stranger_reverts_with_unauthorized(funded: Chain, reverts) -> None:
    stranger = funded.stakers[0]
    reverts(funded.pool, "OwnableUnauthorizedAccount", funded.pool.functions.setDepositor(stranger, True),
            stranger, stranger)


def test_set_depositor_zero_address_reverts_with_zero_address(funded: Chain, reverts) -> None:
    reverts(funded.pool, "ZeroAddress", funded.pool.functions.setDepositor(ZERO, True), funded.treasury)


def test_ownership_moves_in_two_steps(funded: Chain, reverts) -> None:
    new_owner, stranger = funded.stakers[:2]
    receipt = send(funded.pool.functions.transferOwnership(new_owner), funded.treasury)
    (started,) = funded.pool.events.OwnershipTransferStarted().process_receipt(receipt, errors=DISCARD)
    assert (started.args.previousOwner, started.args.newOwner) == (funded.treasury, new_owner)
    assert funded.pool.functions.owner().call() == funded.treasury
    reverts(funded.pool, "OwnableUnauthorizedAccount", funded.pool.functions.acceptOwnership(), stranger,
            stranger)
    receipt = send(funded.pool.functions.acceptOwnership(), new_owner)
    assert funded.pool.functions.owner().call() == new_owner
    assert funded.pool.events.OwnershipTransferred().process_receipt(receipt, errors=DISCARD)
    send(funded.pool.functions.setDepositor(stranger, True), new_owner)


def test_renounce_ownership_leaves_no_owner(funded: Chain, reverts) -> None:
    send(funded.pool.functions.renounceOwnership(), funded.treasury)
    assert funded.pool.functions.owner().call() == ZERO
    revoke = funded.pool.functions.setDepositor(funded.wallet, False)
    reverts(funded.pool, "OwnableUnauthorizedAccount", revoke, funded.treasury, funded.treasury)


# ---- reentrancy ----

@pytest.fixture
def reentrant(chain: Chain) -> tuple[Contract, Contract]:
    """A pool over a token that calls back into the pool during its next transfer."""
    abi, bytecode = test_artifact("ReentrantToken")
    token = deploy(chain.w3, chain.treasury, abi, bytecode, 1_000 * TOKEN)
    pool = deploy_artifact(chain.w3, chain.treasury, artifacts.DIVIDEND_POOL, token.address, STAKE_UNIT,
                           chain.treasury)
    send(pool.functions.setDepositor(chain.treasury, True), chain.treasury)
    send(token.functions.approve(pool.address, 2**256 - 1), chain.treasury)
    return token, pool


def _arm(chain: Chain, token: Contract, pool: Contract, callback: bytes) -> None:
    send(token.functions.arm(pool.address, callback), chain.treasury)


def test_the_token_callback_reaches_the_pool(chain: Chain, reentrant) -> None:
    token, pool = reentrant
    _arm(chain, token, pool, bytes.fromhex(pool.encode_abi("totalStaked")[2:]))  # a view: allowed
    send(pool.functions.stake(TOKEN), chain.treasury)
    assert pool.functions.totalStaked().call() == TOKEN


@pytest.mark.parametrize(("outer", "inner"), [
    ("stake", "claim"), ("unstake", "stake"), ("claim", "unstake"), ("deposit", "deposit"),
])
def test_reentering_the_pool_from_a_token_transfer_reverts(chain: Chain, reentrant, reverts, outer,
                                                           inner) -> None:
    token, pool = reentrant
    send(pool.functions.stake(10 * TOKEN), chain.treasury)
    send(pool.functions.deposit(TOKEN), chain.treasury)
    calls = {"stake": ("stake", [TOKEN]), "unstake": ("unstake", [TOKEN]), "claim": ("claim", []),
             "deposit": ("deposit", [TOKEN])}
    fn_name, args = calls[inner]
    _arm(chain, token, pool, bytes.fromhex(pool.encode_abi(fn_name, args=args)[2:]))
    fn_name, args = calls[outer]
    reverts(pool, "ReentrancyGuardReentrantCall", getattr(pool.functions, fn_name)(*args), chain.treasury)
