"""Fixtures for the contract tests: one in-process EVM per session with Ember's contracts
and a Uniswap V2 EmberToken/TestStable pair deployed once; every test runs in a snapshot
that is reverted after it, so tests never see each other's transactions."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError

from ember.adapters.chain import artifacts

TOKEN = 10**18  # one EmberToken, 18 decimals
USD = 10**6  # one TestStable, 6 decimals
SUPPLY = 1_000_000_000 * TOKEN
STAKE_UNIT = 10**12  # token units per DividendPool share
POOL_TOKENS = 1_000_000 * TOKEN  # EmberToken side of the Uniswap pair at set-up
POOL_USD = 100_000 * USD  # TestStable side: 0.10 USD per token
FAR_FUTURE = 2**40  # a deadline no test reaches
TEST_ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass(frozen=True)
class Chain:
    """The deployed set and who is who: `treasury` owns everything, `wallet` is the depositor."""

    w3: Web3
    tester: EthereumTester  # the in-process chain behind w3: snapshots
    treasury: str
    wallet: str
    stakers: tuple[str, ...]
    token: Contract
    pool: Contract
    stable: Contract
    weth: Contract
    factory: Contract
    router: Contract
    pair: Contract


def send(fn: Any, sender: str, gas: int = 1_000_000) -> Any:
    """The receipt of `fn` sent by `sender`; fails the test unless it succeeded.

    An explicit gas limit skips eth_estimateGas, which would run every transaction twice.
    """
    w3 = fn.w3
    receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": gas}))
    assert receipt["status"] == 1, receipt
    return receipt


def deploy(w3: Web3, sender: str, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> Contract:
    """The contract deployed by `sender` from `abi` and `bytecode` with constructor `args`."""
    receipt = send(w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args), sender, gas=8_000_000)
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)


def deploy_artifact(w3: Web3, sender: str, name: str, *args: Any) -> Contract:
    built = artifacts.load(name)
    return deploy(w3, sender, built.abi, built.bytecode, *args)


def test_artifact(name: str) -> tuple[list[dict[str, Any]], str]:
    """ABI and bytecode of a test-only contract (contracts/test, built to ./artifacts)."""
    built = json.loads((TEST_ARTIFACTS / f"{name}.json").read_text())
    return built["abi"], built["bytecode"]


test_artifact.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def deploy_chain() -> Chain:
    """A fresh in-process EVM with the whole set deployed and the token/stable pair funded."""
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    accounts = list(w3.eth.accounts)
    treasury, wallet, stakers = accounts[0], accounts[1], accounts[2:8]
    token = deploy_artifact(w3, treasury, artifacts.EMBER_TOKEN, treasury, SUPPLY)
    pool = deploy_artifact(w3, treasury, artifacts.DIVIDEND_POOL, token.address, STAKE_UNIT, treasury)
    send(pool.functions.setDepositor(wallet, True), treasury)
    stable = deploy_artifact(w3, treasury, artifacts.TEST_STABLE)
    weth = deploy_artifact(w3, treasury, artifacts.WETH9)
    factory = deploy_artifact(w3, treasury, artifacts.UNISWAP_V2_FACTORY, treasury)
    router = deploy_artifact(w3, treasury, artifacts.UNISWAP_V2_ROUTER02, factory.address, weth.address)
    send(stable.functions.mint(treasury, POOL_USD), treasury)
    send(token.functions.approve(router.address, POOL_TOKENS), treasury)
    send(stable.functions.approve(router.address, POOL_USD), treasury)
    send(router.functions.addLiquidity(token.address, stable.address, POOL_TOKENS, POOL_USD,
                                       POOL_TOKENS, POOL_USD, treasury, FAR_FUTURE), treasury,
         gas=8_000_000)  # creates the pair
    pair_abi = artifacts.load(artifacts.UNISWAP_V2_PAIR).abi
    pair = w3.eth.contract(address=factory.functions.getPair(token.address, stable.address).call(),
                           abi=pair_abi)
    return Chain(w3=w3, tester=provider.ethereum_tester, treasury=treasury, wallet=wallet,
                 stakers=tuple(stakers), token=token, pool=pool,
                 stable=stable, weth=weth, factory=factory, router=router, pair=pair)


@pytest.fixture(scope="session")
def deployed() -> Chain:
    return deploy_chain()


@pytest.fixture
def chain(deployed: Chain) -> Iterator[Chain]:
    """The deployed set, as it was after deployment; reverted after the test."""
    snapshot = deployed.tester.take_snapshot()
    yield deployed
    deployed.tester.revert_to_snapshot(snapshot)


@pytest.fixture
def w3(chain: Chain) -> Web3:
    return chain.w3


@pytest.fixture
def accounts(chain: Chain) -> list[str]:
    return list(chain.w3.eth.accounts)


def selector(contract: Contract, error: str) -> str:
    """The 0x-prefixed 4-byte selector of custom error `error` from the contract's ABI."""
    (entry,) = [e for e in contract.abi if e["type"] == "error" and e["name"] == error]
    signature = f"{error}({','.join(i['type'] for i in entry['inputs'])})"
    return "0x" + keccak(text=signature)[:4].hex()


def revert_data(run: Callable[[], Any]) -> str:
    """The 0x-hex revert data of `run()`, which must revert.

    web3 raises ContractCustomError with the data for a call; for contract creation the
    eth-tester provider raises TransactionFailed with the data's bytes repr in its message.
    """
    try:
        run()
    except ContractCustomError as error:
        assert isinstance(error.data, str), error
        return error.data
    except TransactionFailed as error:
        raw = ast.literal_eval(str(error.args[0]).removeprefix("execution reverted: "))
        assert isinstance(raw, bytes), error
        return "0x" + raw.hex()
    raise AssertionError("did not revert")


@pytest.fixture
def reverts() -> Callable[..., None]:
    """`reverts(contract, "Error", fn, sender, *args)`: `fn` from `sender` reverts with that
    custom error of `contract`'s ABI, and, if `args` are given, those ABI-encoded arguments."""

    def check(contract: Contract, error: str, fn: Any, sender: str, *args: Any) -> None:
        # eth_call runs the same code as the transaction would; a constructor can only be estimated.
        run = fn.call if hasattr(fn, "call") else fn.estimate_gas
        data = revert_data(lambda: run({"from": sender}))
        assert data[:10] == selector(contract, error), (error, data)
        if args:
            (entry,) = [e for e in contract.abi if e["type"] == "error" and e["name"] == error]
            decoded = contract.w3.codec.decode([i["type"] for i in entry["inputs"]], bytes.fromhex(data[10:]))
            assert _plain(decoded) == _plain(args), (error, decoded, args)

    return check


def _plain(values: Any) -> list[Any]:
    """Values comparable across checksummed and lower-case addresses."""
    return [v.lower() if isinstance(v, str) else v for v in values]
