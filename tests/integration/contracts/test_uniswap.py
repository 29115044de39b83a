"""The real Uniswap V2 set (npm artifacts) with an EmberToken/TestStable pair, and TestStable."""

from __future__ import annotations

import pytest
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from ember.adapters.chain import artifacts

from .conftest import FAR_FUTURE, POOL_TOKENS, POOL_USD, TOKEN, USD, Chain, send

# A require() message surfaces as either, depending on the web3/eth-tester path.
REVERTED = (ContractLogicError, TransactionFailed)
# The init code hash compiled into UniswapV2Router02 (UniswapV2Library.pairFor).
PAIR_INIT_CODE_HASH = "96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"


def create2_pair(factory: str, token_a: str, token_b: str) -> str:
    """The pair address as UniswapV2Library.pairFor computes it (CREATE2, sorted tokens)."""
    low, high = sorted((token_a, token_b), key=lambda a: int(a, 16))
    salt = keccak(bytes.fromhex(low[2:]) + bytes.fromhex(high[2:]))
    digest = keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + bytes.fromhex(PAIR_INIT_CODE_HASH))
    return to_checksum_address(digest[12:])


def test_pair_bytecode_matches_the_routers_init_code_hash() -> None:
    pair = artifacts.load(artifacts.UNISWAP_V2_PAIR)
    router = artifacts.load(artifacts.UNISWAP_V2_ROUTER02)
    assert keccak(hexstr=pair.bytecode).hex() == PAIR_INIT_CODE_HASH
    assert PAIR_INIT_CODE_HASH in router.bytecode


def test_factory_pair_is_the_pair_the_router_computes(chain: Chain) -> None:
    pair = chain.factory.functions.getPair(chain.token.address, chain.stable.address).call()
    assert pair == chain.pair.address == create2_pair(chain.factory.address, chain.token.address,
                                                      chain.stable.address)
    assert chain.factory.functions.allPairsLength().call() == 1
    # getAmountsOut reads reserves at the address the router computes: it fails on a wrong hash.
    path = [chain.stable.address, chain.token.address]
    quoted = chain.router.functions.getAmountsOut(100 * USD, path).call()
    assert quoted[0] == 100 * USD and quoted[1] > 0


def test_add_liquidity_funds_the_pair(chain: Chain) -> None:
    reserves = chain.pair.functions.getReserves().call()[:2]
    token0 = chain.pair.functions.token0().call()
    expected = (POOL_TOKENS, POOL_USD) if token0 == chain.token.address else (POOL_USD, POOL_TOKENS)
    assert tuple(reserves) == expected
    assert chain.pair.functions.balanceOf(chain.treasury).call() > 0  # liquidity tokens minted


def test_swap_exact_stable_for_tokens_pays_the_quoted_amount(chain: Chain) -> None:
    wallet, path = chain.wallet, [chain.stable.address, chain.token.address]
    send(chain.stable.functions.mint(wallet, 500 * USD), chain.treasury)
    send(chain.stable.functions.approve(chain.router.address, 500 * USD), wallet)
    (_, quoted) = chain.router.functions.getAmountsOut(500 * USD, path).call()
    deadline = chain.w3.eth.get_block("latest")["timestamp"] + 300
    receipt = send(chain.router.functions.swapExactTokensForTokens(500 * USD, quoted, path, wallet, deadline),
                   wallet)
    assert chain.token.functions.balanceOf(wallet).call() == quoted
    assert chain.stable.functions.balanceOf(wallet).call() == 0
    # 500 USD at 0.10 USD per token, less the 0.3% fee and the price impact.
    assert 4_900 * TOKEN < quoted < 4_985 * TOKEN
    assert chain.pair.events.Swap().process_receipt(receipt, errors=DISCARD)


def test_swap_below_amount_out_min_is_refused(chain: Chain) -> None:
    wallet, path = chain.wallet, [chain.stable.address, chain.token.address]
    send(chain.stable.functions.mint(wallet, USD), chain.treasury)
    send(chain.stable.functions.approve(chain.router.address, USD), wallet)
    (_, quoted) = chain.router.functions.getAmountsOut(USD, path).call()
    swap = chain.router.functions.swapExactTokensForTokens(USD, quoted + 1, path, wallet, FAR_FUTURE)
    with pytest.raises(REVERTED, match="UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT"):
        swap.call({"from": wallet})


def test_swap_after_its_deadline_is_refused(chain: Chain) -> None:
    wallet, path = chain.wallet, [chain.stable.address, chain.token.address]
    send(chain.stable.functions.mint(wallet, USD), chain.treasury)
    send(chain.stable.functions.approve(chain.router.address, USD), wallet)
    past = chain.w3.eth.get_block("latest")["timestamp"] - 1
    swap = chain.router.functions.swapExactTokensForTokens(USD, 1, path, wallet, past)
    with pytest.raises(REVERTED, match="UniswapV2Router: EXPIRED"):
        swap.call({"from": wallet})


def test_test_stable_has_6_decimals_and_a_dev_only_name(chain: Chain) -> None:
    stable = chain.stable.functions
    assert stable.decimals().call() == 6
    assert "Test" in stable.name().call() and stable.symbol().call() == "tUSD"
    assert stable.minter().call() == chain.treasury


def test_test_stable_mint_by_anyone_but_the_deployer_reverts_with_not_minter(chain: Chain, reverts) -> None:
    mint = chain.stable.functions.mint(chain.wallet, 1)
    reverts(chain.stable, "NotMinter", mint, chain.wallet, chain.wallet)
