"""The buy-back on the local stack, for end-to-end tests: Ember's contracts deployed on the
Hardhat node into the test's own deployment file (fresh deployer and wallet keys, so tests
sharing the node never share a nonce or a balance), the app wired from settings as the
functions' process would be, and the real buy_tokens and burn handlers fed MSK-shaped
batches read back from Kafka."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ember.adapters.chain.artifacts import DIVIDEND_POOL, EMBER_TOKEN, load
from ember.adapters.chain.deploy import DeployPlan, ensure_deployed
from ember.adapters.chain.deployment import Deployment
from ember.runtime.consumers import msk
from ember.runtime.consumers.local_esm import to_record
from tests.conftest import ROOT
from tests.support import bet, fund, market, open_round, read_topic

TOKEN, USD = 10**18, 10**6
# The pool holds 100,000 USDT for 1,000,000 tokens: 0.10 USDT per token, which is the
# reference price (stable minor units per token wei) the DEX guard is given.
PLAN = DeployPlan(token_supply=1_000_000_000 * TOKEN, pool_tokens=1_000_000 * TOKEN,
                  pool_stable=100_000 * USD, wallet_stable=10_000 * USD)
REFERENCE_PRICE = "1/10000000000000 dev-pool"
STAKE = 100 * USD  # each of two players; at 10% commission the round accrues 20 USDT
COMMISSION = 2 * STAKE // 10
BURN_SHARE_BPS = 5000
FUNCTIONS = (ROOT / "functions" / "buy_tokens" / "app.py", ROOT / "functions" / "burn" / "app.py")


def funded_account(w3: Web3) -> LocalAccount:
    """A fresh key holding 100 ETH on the node."""
    account = Account.from_key("0x" + secrets.token_hex(32))
    w3.provider.make_request("hardhat_setBalance", [account.address, hex(100 * 10**18)])  # type: ignore[arg-type]
    return account


@dataclass
class Deployed:
    """One deployment of the contracts, its file, and the keys that own and use it."""

    w3: Web3
    deployment: Deployment
    file: Path
    deployer: LocalAccount
    wallet: LocalAccount

    @cached_property
    def token(self) -> Any:
        return self._at(EMBER_TOKEN, self.deployment.token)

    @cached_property
    def stable(self) -> Any:
        return self._at(EMBER_TOKEN, self.deployment.stable)  # only its ERC20 part is used

    @cached_property
    def pool(self) -> Any:
        return self._at(DIVIDEND_POOL, self.deployment.dividend_pool)

    def _at(self, artifact: str, address: str) -> Any:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load(artifact).abi)

    def tokens_of(self, holder: str) -> int:
        return int(self.token.functions.balanceOf(holder).call())

    def stable_of(self, holder: str) -> int:
        return int(self.stable.functions.balanceOf(holder).call())

    def total_supply(self, block: int | str = "latest") -> int:
        return int(self.token.functions.totalSupply().call(block_identifier=block))

    def send(self, account: LocalAccount, call: Any) -> Any:
        """The mined receipt of `call` signed by `account` (not the wallet's intents)."""
        tx = call.build_transaction({"from": account.address, "chainId": self.w3.eth.chain_id,
                                     "nonce": self.w3.eth.get_transaction_count(account.address,
                                                                                "pending")})
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        assert receipt["status"] == 1, receipt
        return receipt

    def wallet_transactions(self) -> int:
        """How many transactions the technical wallet has had mined."""
        return int(self.w3.eth.get_transaction_count(self.wallet.address, "latest"))


def deploy(rpc_url: str, directory: Path) -> Deployed:
    """The contracts deployed by `ember chain deploy`'s code into `directory`/deployment.json."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    deployer, wallet = funded_account(w3), Account.from_key("0x" + secrets.token_hex(32))
    file = directory / "deployment.json"
    deployment, reused = ensure_deployed(w3, file, deployer=deployer, wallet=wallet.address,
                                         plan=PLAN)
    assert not reused
    return Deployed(w3, deployment, file, deployer, wallet)


def chain_settings(deployed: Deployed, database_url: str, stack: Any, rpc_url: str,
                   **env: object) -> Any:
    """The settings a buy_tokens or burn function would run with on this stack."""
    from ember.runtime.settings import load_settings

    return load_settings(**{
        "DATABASE_URL": database_url, "REDIS_URL": stack.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap_servers, "CHAIN_RPC_URL": rpc_url,
        "EMBER_DEPLOYMENT_FILE": str(deployed.file),
        "EMBER_WALLET_PRIVATE_KEY": "0x" + bytes(deployed.wallet.key).hex(),
        "EMBER_REFERENCE_PRICE": REFERENCE_PRICE, "EMBER_BUYBACK_THRESHOLD": USD,
        "EMBER_BURN_SHARE_BPS": BURN_SHARE_BPS,
        # The test moves the app's clock by hand: no chain block matches it.
        "EMBER_SALT_SOURCE": "local-beacon", **env})


class DeadLetterList:
    """Dead letters kept in memory: a test asserts there are none."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, Any, Any]] = []

    def send(self, topic: str, key: Any, value: Any, headers: Any) -> None:
        self.sent.append((topic, key, value, headers))


@dataclass
class Functions:
    """The deployed functions' Lambda handlers, running on the process's app."""

    buy_tokens: Any
    burn: Any
    dead_letters: DeadLetterList


def functions(monkeypatch: Any, app: Any) -> Functions:
    """The real handlers of functions/buy_tokens and functions/burn, with `app` as the
    process's application (what `current_app()` would have built from the environment)."""
    import ember.runtime.consumers as consumers
    from ember.runtime import entry
    from ember.runtime.consumers.registry import load as load_consumers
    from ember.runtime.logging import configure

    configure(app.settings.log_level)  # what current_app() does before it builds the app
    dead_letters = DeadLetterList()
    monkeypatch.setattr(entry, "_app", app)
    monkeypatch.setattr(consumers, "_dead_letters", dead_letters)
    registry = load_consumers(",".join(str(path) for path in FUNCTIONS))
    return Functions(registry.get("buy_tokens").handler, registry.get("burn").handler, dead_letters)


def use_app(monkeypatch: Any, app: Any) -> None:
    """`app` as the process's application from now on (a restarted function)."""
    from ember.runtime import entry

    monkeypatch.setattr(entry, "_app", app)


def settled_round(app: Any) -> uuid.UUID:
    """A two-sided round at 10% commission, settled by the keeper; its id."""
    from ember.services.keeper import run_keeper

    # A market of its own: its round ids (and their events' keys on the shared topics) too.
    m = market(id=f"coin-{uuid.uuid4().hex[:8]}", commission_bps=1000, max_bet=10**12)
    rid = open_round(app, m)
    for player, outcome in (("alice", 0), ("bob", 1)):
        fund(app, player, STAKE)
        bet(app, player, rid, outcome, STAKE)
    app.clock.advance(60)
    run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock)
    return rid


def relay(app: Any) -> int:
    """Publishes the outbox to Kafka as the relay function does; how many events went."""
    from ember.services.outbox_relay import relay_outbox

    run = relay_outbox(outbox=app.outbox, publisher=app.publisher)
    assert run.error is None and not run.skipped, run
    return run.published


def read_records(bootstrap: str, topic: str, key: str, expected: int = 1,
                 timeout_s: float = 20.0) -> list[msk.KafkaRecord]:
    """The records of `topic` keyed `key`, from the start, once at least `expected` arrived."""
    found = [to_record(r) for r in read_topic(bootstrap, topic, expected, timeout_s,
                                              keep=lambda record: record.key == key.encode())]
    assert len(found) >= expected, f"{len(found)} of {expected} records keyed {key} on {topic}"
    return found


def batch(records: list[msk.KafkaRecord]) -> dict[str, Any]:
    return msk.batch_event(records)


def envelope(record: msk.KafkaRecord) -> dict[str, Any]:
    """The event a record carries, checked against its JSON Schema."""
    from ember.adapters import schemas

    assert record.value is not None
    document = json.loads(record.value)
    schemas.validate(document)
    return dict(document)


def assert_ledgers_reconcile(sql: Any) -> dict[str, int]:
    """Every stable unit accrued as commission is spent, in flight or still in the pool; every
    token bought is burned, in the dividend pool or still in the wallet. The balances."""
    accrued = sum(int(row["payload"]["amount"]) for row in sql.execute(
        "SELECT payload FROM outbox WHERE type = 'commission.accrued'"))
    stable = {row["id"]: int(row["balance"]) for row in sql.execute(
        "SELECT id, balance FROM account_balances"
        " WHERE id IN ('commission', 'buybacks:in_flight', 'buybacks:spent')")}
    assert accrued == stable["commission"] + stable["buybacks:in_flight"] + stable["buybacks:spent"]
    bought = int(sql.execute("SELECT coalesce(sum(amount), 0) AS n FROM token_transfers"
                             " WHERE kind = 'bought'").fetchone()["n"])
    tokens = {row["account"]: int(row["balance"]) for row in sql.execute(
        "SELECT account, balance FROM token_balances")}
    assert bought == sum(tokens.get(a, 0) for a in ("burned", "dividend_pool", "wallet"))
    assert tokens.get("market", 0) == -bought
    return {"accrued": accrued, **stable, "bought": bought,
            **{f"tokens:{a}": tokens.get(a, 0) for a in ("burned", "dividend_pool", "wallet")}}
