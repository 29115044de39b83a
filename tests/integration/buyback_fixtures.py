"""Fixtures for the buy-back adapters: the real Uniswap V2 set on the in-process EVM (one
deployment per session, a snapshot reverted after each test) and transaction intents in
a fresh PostgreSQL database. Import the fixtures into a test module to use them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3 import EthereumTesterProvider

from ember.adapters.chain.dex_route import UniswapRoute
from ember.adapters.chain.intents import TransactionIntents
from ember.adapters.chain.signer import LocalKeySigner
from ember.adapters.chain.token_actions import ChainTokenActions
from ember.adapters.postgres.database import Database
from ember.domain.buyback import ReferencePrice
from tests.integration.contracts import conftest as contracts
from tests.integration.contracts.conftest import TOKEN, USD, Chain, send

# eth-tester's default accounts hold the keys 1, 2, 3, …: accounts[1] is the wallet.
WALLET_KEY = "0x" + (2).to_bytes(32, "big").hex()
WALLET_STABLE = 50_000 * USD
WALLET_TOKENS = 100_000 * TOKEN
# The pool is set up at 100_000 USD for 1_000_000 tokens: 0.10 USD per token.
REFERENCE = ReferencePrice.of(contracts.POOL_USD, contracts.POOL_TOKENS, "test-fixed")


class LockedTesterProvider(EthereumTesterProvider):
    """The in-process EVM is not thread-safe (the exchange stand-in withdraws from its own
    thread); a node serialises requests, so do we."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()

    def make_request(self, method, params):  # type: ignore[no-untyped-def]
        with self._lock:
            return super().make_request(method, params)


@dataclass(frozen=True)
class Wired:
    chain: Chain
    signer: LocalKeySigner
    intents: TransactionIntents
    route: UniswapRoute
    actions: ChainTokenActions

    @property
    def wallet(self) -> str:
        return self.signer.address

    def stable_of(self, holder: str) -> int:
        return int(self.chain.stable.functions.balanceOf(holder).call())

    def tokens_of(self, holder: str) -> int:
        return int(self.chain.token.functions.balanceOf(holder).call())


def _deploy() -> Chain:
    original = contracts.EthereumTesterProvider
    contracts.EthereumTesterProvider = LockedTesterProvider  # type: ignore[misc]
    try:
        chain = contracts.deploy_chain()
    finally:
        contracts.EthereumTesterProvider = original  # type: ignore[misc]
    send(chain.stable.functions.mint(chain.wallet, WALLET_STABLE), chain.treasury)
    send(chain.token.functions.transfer(chain.wallet, WALLET_TOKENS), chain.treasury)
    return chain


@pytest.fixture(scope="session")
def buyback_deployed() -> Chain:
    return _deploy()


@pytest.fixture
def buyback_chain(buyback_deployed: Chain) -> Iterator[Chain]:
    snapshot = buyback_deployed.w3.testing.snapshot()
    yield buyback_deployed
    buyback_deployed.w3.testing.revert(snapshot)


@pytest.fixture
def wired(buyback_chain: Chain, database_url: str) -> Iterator[Wired]:
    chain = buyback_chain
    db = Database(database_url, max_size=4)
    signer = LocalKeySigner(WALLET_KEY)
    assert signer.address == chain.wallet
    intents = TransactionIntents(db, chain.w3, signer, confirmations=0, poll_interval=0.01)
    route = UniswapRoute(chain.w3, intents, router=chain.router.address, pair=chain.pair.address,
                         stable=chain.stable.address, token=chain.token.address, timeout_s=10)
    actions = ChainTokenActions(chain.w3, intents, token=chain.token.address,
                                dividend_pool=chain.pool.address, timeout_s=10)
    yield Wired(chain, signer, intents, route, actions)
    db.close()
