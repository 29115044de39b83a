"""Gas of one buy-back cycle on the in-process EVM, against the bare Uniswap swap it contains.

Measured: the technical wallet's full cycle in steady state, three transactions: the router
swap (TestStable -> EmberToken, with a deadline and amountOutMin), `burn` of half the
tokens, and `DividendPool.deposit` of the rest. Approvals are standing (set once to the
maximum, as the wallet does at set-up), so they are not part of a cycle.
Baseline: the bare router swap of the same run. The ratio is what burning and depositing
add to the swap. Target: the cycle stays under 260,000 gas.

Every figure is `gasUsed` of a receipt (21,000 intrinsic gas included, refunds deducted),
taken on a second cycle so storage slots are in the state they have in production: the
first cycle of a fresh chain (and a staker's first claim) pays one-off zero-to-non-zero
writes. The table also shows stakers' stake, unstake and claim, and `approve`, for
comparison.
"""

from __future__ import annotations

from typing import Any

from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from ember.adapters.chain import artifacts

from .common import progress, report

NAME = "gas"
TARGET = 260_000
TOKEN, USD = 10**18, 10**6
SUPPLY = 1_000_000_000 * TOKEN
STAKE_UNIT = 10**12
LIQUIDITY_TOKENS, LIQUIDITY_USD = 10_000_000 * TOKEN, 1_000_000 * USD  # 0.10 USD per token
BUY_USD = 1_000 * USD  # one buy-back
SLIPPAGE_BPS = 100
MAX = 2**256 - 1


class Chain:
    """The in-process EVM with the Ember set and a funded EmberToken/TestStable pair."""

    def __init__(self) -> None:
        self.w3 = Web3(EthereumTesterProvider())
        accounts = list(self.w3.eth.accounts)
        self.treasury, self.wallet, self.stakers = accounts[0], accounts[1], accounts[2:5]
        t = self.treasury
        self.token = self.deploy(artifacts.EMBER_TOKEN, t, SUPPLY)
        self.pool = self.deploy(artifacts.DIVIDEND_POOL, self.token.address, STAKE_UNIT, t)
        self.stable = self.deploy(artifacts.TEST_STABLE)
        self.factory = self.deploy(artifacts.UNISWAP_V2_FACTORY, t)
        weth = self.deploy(artifacts.WETH9)
        self.router = self.deploy(artifacts.UNISWAP_V2_ROUTER02, self.factory.address, weth.address)
        self.send(self.pool.functions.setDepositor(self.wallet, True), t)
        self.send(self.stable.functions.mint(t, LIQUIDITY_USD), t)
        self.send(self.token.functions.approve(self.router.address, MAX), t)
        self.send(self.stable.functions.approve(self.router.address, MAX), t)
        self.send(self.router.functions.addLiquidity(
            self.token.address, self.stable.address, LIQUIDITY_TOKENS, LIQUIDITY_USD, 0, 0, t, 2**40), t)

    def deploy(self, name: str, *args: Any) -> Contract:
        built = artifacts.load(name)
        receipt = self.send(self.w3.eth.contract(abi=built.abi, bytecode=built.bytecode).constructor(*args),
                            self.treasury)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=built.abi)

    def send(self, fn: Any, sender: str) -> Any:
        """The receipt of `fn` from `sender`; raises unless it succeeded."""
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": 10_000_000}))
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction failed: {receipt['transactionHash'].hex()}")
        return receipt

    def gas(self, fn: Any, sender: str) -> int:
        return int(self.send(fn, sender)["gasUsed"])


def set_up(chain: Chain) -> None:
    """Stakers staked, the wallet funded with stable and its standing approvals given."""
    t = chain.treasury
    for staker in chain.stakers:
        chain.send(chain.token.functions.transfer(staker, 10_000 * TOKEN), t)
        chain.send(chain.token.functions.approve(chain.pool.address, MAX), staker)
        chain.send(chain.pool.functions.stake(5_000 * TOKEN), staker)
    chain.send(chain.stable.functions.mint(chain.wallet, 100 * BUY_USD), t)
    chain.send(chain.stable.functions.approve(chain.router.address, MAX), chain.wallet)
    chain.send(chain.token.functions.approve(chain.pool.address, MAX), chain.wallet)


def buy_back(chain: Chain) -> dict[str, int]:
    """Gas of each step of one buy-back cycle: swap, burn half, deposit the rest."""
    path = [chain.stable.address, chain.token.address]
    quoted = chain.router.functions.getAmountsOut(BUY_USD, path).call()[-1]
    min_out = quoted * (10_000 - SLIPPAGE_BPS) // 10_000
    deadline = chain.w3.eth.get_block("latest")["timestamp"] + 300
    before = chain.token.functions.balanceOf(chain.wallet).call()
    swap = chain.gas(chain.router.functions.swapExactTokensForTokens(BUY_USD, min_out, path, chain.wallet,
                                                                     deadline), chain.wallet)
    bought = chain.token.functions.balanceOf(chain.wallet).call() - before
    burn = chain.gas(chain.token.functions.burn(bought // 2), chain.wallet)
    deposit = chain.gas(chain.pool.functions.deposit(bought - bought // 2), chain.wallet)
    return {"swap": swap, "burn": burn, "deposit": deposit}


def staker_actions(chain: Chain) -> dict[str, int]:
    """Gas of a staker's claim, stake and unstake, and of an approve + deposit pair."""
    staker = chain.stakers[0]
    figures = {"claim": chain.gas(chain.pool.functions.claim(), staker),
               "stake": chain.gas(chain.pool.functions.stake(100 * TOKEN), staker),
               "unstake": chain.gas(chain.pool.functions.unstake(100 * TOKEN), staker)}
    t = chain.treasury
    chain.send(chain.pool.functions.setDepositor(t, True), t)
    chain.send(chain.token.functions.approve(chain.pool.address, 0), t)
    figures["approve"] = chain.gas(chain.token.functions.approve(chain.pool.address, TOKEN), t)
    figures["deposit after approve"] = chain.gas(chain.pool.functions.deposit(TOKEN), t)
    return figures


def print_table(rows: list[tuple[str, int]]) -> None:
    width = max(len(label) for label, _ in rows)
    progress(f"{NAME}: {'step':<{width}}  {'gas':>9}")
    for label, gas in rows:
        progress(f"{NAME}: {label:<{width}}  {gas:>9,}")


def main() -> None:
    chain = Chain()
    set_up(chain)
    first = buy_back(chain)  # pays one-off zero-to-non-zero writes of a fresh chain
    first_claim = chain.gas(chain.pool.functions.claim(), chain.stakers[0])  # likewise, once per staker
    cycle = buy_back(chain)
    others = staker_actions(chain)
    value, baseline = sum(cycle.values()), cycle["swap"]
    print_table([
        ("router swap stable->token (baseline)", cycle["swap"]),
        ("token burn", cycle["burn"]),
        ("DividendPool.deposit (standing approval)", cycle["deposit"]),
        ("buy-back cycle: swap + burn + deposit", value),
        ("first cycle on a fresh chain (one-off)", sum(first.values())),
        ("approve (one-off, per depositor)", others["approve"]),
        ("approve + DividendPool.deposit", others["approve"] + others["deposit after approve"]),
        ("cycle with an approve every time", value + others["approve"]),
        ("DividendPool.claim", others["claim"]),
        ("DividendPool.claim, a staker's first", first_claim),
        ("DividendPool.stake (existing staker)", others["stake"]),
        ("DividendPool.unstake", others["unstake"]),
    ])
    report(NAME, value, baseline, TARGET)
    if value > TARGET:
        raise RuntimeError(f"buy-back cycle uses {value} gas, over the {TARGET} target")
