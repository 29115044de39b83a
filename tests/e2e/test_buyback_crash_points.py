"""Issue #6: a crash at every step of a buy-back and of its burn, with the function process
really killed (os._exit) and then restarted with the same MSK batch, never buys or burns
twice and loses nothing.

For each crash point: a settled round's commission.accrued is relayed to Kafka and read
back as an MSK batch; a function process (tests/e2e/buyback_crash_child.py) delivers it to
the real buy_tokens handler (and tokens.bought, read from Kafka, to the real burn handler)
and dies at the crash point; the test checks the crash left what that point should leave
(which intent is signed, sent or mined, what the store recorded); then a fresh process
redelivers both batches until the handlers report success. Then: the technical wallet sent
exactly five transactions (approve, swap, burn, approve, deposit), one per intent purpose
with nonces 0..4; the buy-back is bought once and its burn done once; the total supply fell
by exactly the burned amount and the DividendPool got exactly the dividend; the wallet paid
exactly the spend; and both ledgers reconcile to the unit.

One deployment serves the module; each case gets its own technical wallet (funded, the
DividendPool's depositor) and its own database.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ember.adapters.chain.artifacts import load
from ember.domain.burn_split import split_burn
from ember.domain.events import COMMISSION_TOPIC
from tests.conftest import ROOT
from tests.e2e.buyback_crash_child import CRASHED, DELIVERED, short_purpose
from tests.e2e.buyback_stack import (
    BURN_SHARE_BPS,
    COMMISSION,
    REFERENCE_PRICE,
    USD,
    Deployed,
    assert_ledgers_reconcile,
    batch,
    deploy,
    read_records,
    relay,
    settled_round,
)

pytestmark = pytest.mark.integration

# The technical wallet's transactions of one buy-back, in nonce order.
PURPOSES = ("buyback:approve", "buyback:swap", "burn:burn", "burn:approve", "burn:deposit")
INTENT_CASES = {
    "buyback:approve": ("before_sign", "after_send"),
    "buyback:swap": ("before_sign", "after_sign", "after_record", "after_send", "before_receipt"),
    "burn:burn": ("before_sign", "after_record", "after_send", "before_receipt"),
    "burn:approve": ("after_record",),
    "burn:deposit": ("before_sign", "after_record", "after_send", "before_receipt"),
}
STORE_CASES = ("buybacks@before_record", "buybacks@before_emit", "burns@before_record",
               "burns@before_emit")
CRASH_POINTS = [f"{purpose}@{point}" for purpose, points in INTENT_CASES.items()
                for point in points] + list(STORE_CASES)
CHILD_TIMEOUT_S = 120


# -- what a crash must leave behind ---------------------------------------------------------
def expected_at_crash(crash: str) -> dict[str, Any]:
    """What the process left at `crash`: the crashed-on intent's status (None: nothing
    recorded), how many wallet transactions are mined, and the store's rows."""
    target, point = crash.split("@")
    if target in PURPOSES:
        index = PURPOSES.index(target)
        buying = target.startswith("buyback:")
        status = {"before_sign": None, "after_sign": None, "after_record": "signed",
                  "after_send": "signed", "before_receipt": "sent"}[point]
        mined = index + (point in ("after_send", "before_receipt"))
        return {"intent": status, "mined": mined,
                "buyback": "planned" if buying else "bought",
                "burn": None if buying else "pending", "unpublished": []}
    if target == "buybacks":
        recorded = point == "before_emit"
        return {"intent": "mined", "mined": 2, "buyback": "bought" if recorded else "planned",
                "burn": None, "unpublished": ["tokens.bought"] if recorded else []}
    recorded = point == "before_emit"
    return {"intent": "mined", "mined": 5, "buyback": "bought",
            "burn": "done" if recorded else "pending",
            "unpublished": ["tokens.burned"] if recorded else []}


def left_at_crash(crash: str, sql: Any, case: Case) -> dict[str, Any]:
    target = crash.split("@")[0]
    last = {"buybacks": "buyback:swap", "burns": "burn:deposit"}.get(target, target)
    statuses = {short_purpose(r["purpose"]): r["status"] for r in sql.execute(
        "SELECT purpose, status FROM tx_intents")}
    buyback = sql.execute("SELECT status FROM buybacks").fetchone()
    burn = sql.execute("SELECT status FROM burns").fetchone()
    unpublished = [r["type"] for r in sql.execute(
        "SELECT type FROM outbox WHERE published_at IS NULL ORDER BY seq")]
    return {"intent": statuses.get(last), "mined": case.wallet_transactions(),
            "buyback": buyback and buyback["status"], "burn": burn and burn["status"],
            "unpublished": unpublished}


# -- the processes --------------------------------------------------------------------------
class Zygote:
    """tests/e2e/buyback_crash_child.py --serve: forks one fresh function process per run,
    with its imports already done (a cold start costs 3-5 s; the cases need 40)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.buyback_crash_child", "--serve"], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, case_file: Path, log: Path) -> int:
        """The exit code of a fresh process that ran `case_file`."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(f"{case_file}\t{log}\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], CHILD_TIMEOUT_S)
        assert ready, f"no answer in {CHILD_TIMEOUT_S}s; see {log}"
        line = self.process.stdout.readline()
        assert line, f"the zygote died (exit {self.process.poll()}); see {log}"
        return int(json.loads(line)["exit"])

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    started = Zygote()
    yield started
    started.close()


@pytest.fixture(scope="module")
def deployed(chain_rpc_url: str, tmp_path_factory) -> Deployed:
    return deploy(chain_rpc_url, tmp_path_factory.mktemp("buyback-crash"))


@dataclasses.dataclass
class Case:
    """One crash case's technical wallet, deployment file, settings and files."""

    deployed: Deployed
    wallet: Any
    directory: Path
    env: dict[str, str]

    def wallet_transactions(self) -> int:
        return int(self.deployed.w3.eth.get_transaction_count(self.wallet.address, "latest"))

    def run(self, zygote: Zygote, name: str, steps: list[str], crash: str | None) -> int:
        file = self.directory / f"{name}.json"
        file.write_text(json.dumps({"env": self.env, "dir": str(self.directory),
                                    "steps": steps, "crash": crash}))
        return zygote.run(file, self.directory / f"{name}.log")

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text()[-6000:] if path.exists() else ""


@pytest.fixture
def case(deployed: Deployed, database_url: str, stack, chain_rpc_url: str, tmp_path) -> Case:
    """A fresh technical wallet on the shared deployment: ETH for gas, stable, and the
    DividendPool's depositor; its own deployment file naming it."""
    wallet = Account.from_key("0x" + secrets.token_hex(32))
    w3 = deployed.w3
    w3.provider.make_request("hardhat_setBalance", [wallet.address, hex(10**19)])  # type: ignore[arg-type]
    stable = w3.eth.contract(address=deployed.stable.address, abi=load("TestStable").abi)
    deployed.send(deployed.deployer, stable.functions.mint(wallet.address, 100 * USD))
    deployed.send(deployed.deployer, deployed.pool.functions.setDepositor(wallet.address, True))
    file = tmp_path / "deployment.json"
    dataclasses.replace(deployed.deployment, wallet=wallet.address).save(file)
    env = {"DATABASE_URL": database_url, "REDIS_URL": stack.redis_url,
           "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap_servers, "CHAIN_RPC_URL": chain_rpc_url,
           "EMBER_DEPLOYMENT_FILE": str(file),
           "EMBER_WALLET_SIGNER": "env", "EMBER_WALLET_PRIVATE_KEY": "0x" + bytes(wallet.key).hex(),
           "EMBER_REFERENCE_PRICE": REFERENCE_PRICE, "EMBER_BUYBACK_THRESHOLD": str(USD),
           "EMBER_BURN_SHARE_BPS": str(BURN_SHARE_BPS), "EMBER_SALT_SOURCE": "local-beacon",
           # Hardhat mines each transaction at once; a confirmation would wait for the next
           # 1 s interval block, five times a case, and changes nothing of what is tested.
           "EMBER_CHAIN_CONFIRMATIONS": "0",
           # Every case buys on the one shared pool, 20 USDT each: after 20 cases the price is
           # ~0.8% above the reference, past the default 1% slippage with the 0.3% pool fee.
           "EMBER_BUYBACK_MAX_SLIPPAGE_BPS": "300"}
    return Case(deployed, wallet, tmp_path, env)


def accrue_commission(case: Case, clock) -> None:
    """A round settled with COMMISSION, relayed; its commission.accrued, as read from Kafka,
    written as the MSK batch the buy_tokens function gets (again after a crash)."""
    from ember.runtime.bootstrap import build
    from ember.runtime.settings import load_settings

    app = build(load_settings(**case.env), clock=clock)
    try:
        round_id = settled_round(app)
        assert relay(app) >= 1
    finally:
        app.close()
    records = read_records(case.env["KAFKA_BOOTSTRAP_SERVERS"], COMMISSION_TOPIC, str(round_id))
    (case.directory / "commission.json").write_text(json.dumps(batch(records)))


# -- the test -------------------------------------------------------------------------------
@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_a_crash_then_a_restart_buys_once_burns_once_and_loses_nothing(crash, case, zygote, sql,
                                                                       clock):
    deployed = case.deployed
    pool = deployed.deployment.dividend_pool
    supply_before, pool_before = deployed.total_supply(), deployed.tokens_of(pool)
    stable_before = deployed.stable_of(case.wallet.address)
    accrue_commission(case, clock)

    burning = crash.startswith(("burn:", "burns@"))
    crashed = case.run(zygote, "crashed", ["buy_tokens", "burn"] if burning else ["buy_tokens"],
                       crash)
    assert crashed == CRASHED, case.log("crashed")
    assert left_at_crash(crash, sql, case) == expected_at_crash(crash)

    restarted = case.run(zygote, "restarted", ["buy_tokens", "burn"], None)
    assert restarted == 0, case.log("restarted")
    result = json.loads((case.directory / "result.json").read_text())
    assert result["dead_letters"] == 0
    assert all(responses[-1] == DELIVERED for responses in result["responses"].values()), result

    # One transaction per purpose on chain, nothing signed twice, no nonce gap.
    intents = sql.execute("SELECT purpose, nonce, status, tx_hash FROM tx_intents ORDER BY nonce"
                          ).fetchall()
    assert [(short_purpose(r["purpose"]), r["nonce"], r["status"]) for r in intents] == [
        (purpose, nonce, "mined") for nonce, purpose in enumerate(PURPOSES)]
    assert case.wallet_transactions() == len(PURPOSES)
    for row in intents:
        sent = deployed.w3.eth.get_transaction(bytes(row["tx_hash"]))
        assert (sent["from"], sent["nonce"]) == (case.wallet.address, row["nonce"])
        assert deployed.w3.eth.get_transaction_receipt(bytes(row["tx_hash"]))["status"] == 1

    # Bought once, burned once.
    (buyback,) = sql.execute("SELECT * FROM buybacks").fetchall()
    (burn,) = sql.execute("SELECT * FROM burns").fetchall()
    tokens = int(buyback["tokens_received"])
    split = split_burn(tokens, BURN_SHARE_BPS)
    assert (buyback["status"], buyback["venue"], int(buyback["spent"])) == ("bought", "dex", COMMISSION)
    assert (burn["status"], int(burn["burned"]), int(burn["dividend"])) == (
        "done", split.burn, split.dividend)
    by_purpose = {short_purpose(r["purpose"]): "0x" + bytes(r["tx_hash"]).hex() for r in intents}
    assert list(buyback["tx_hashes"]) == [by_purpose["buyback:swap"]]
    assert (burn["burn_tx_hash"], burn["dividend_tx_hash"]) == (
        by_purpose["burn:burn"], by_purpose["burn:deposit"])
    inbox = sql.execute("SELECT consumer, event_type, outcome FROM inbox ORDER BY consumer"
                        ).fetchall()
    assert [tuple(r.values()) for r in inbox] == [("burn", "tokens.bought", "processed"),
                                                 ("buy_tokens", "commission.accrued", "processed")]
    events = sql.execute("SELECT type, published_at IS NOT NULL AS published FROM outbox"
                         " WHERE topic IN ('ember.buybacks', 'ember.burns') ORDER BY seq").fetchall()
    assert [tuple(r.values()) for r in events] == [("tokens.bought", True), ("tokens.burned", True)]

    # The chain moved exactly that: supply, the pool's dividend, the wallet's stable.
    block = burn["burn_block"]
    assert deployed.total_supply(block - 1) - deployed.total_supply(block) == split.burn
    assert supply_before - deployed.total_supply() == split.burn
    assert deployed.tokens_of(pool) - pool_before == split.dividend
    assert deployed.tokens_of(case.wallet.address) == 0
    assert stable_before - deployed.stable_of(case.wallet.address) == COMMISSION

    # And the ledgers reconcile to the unit.
    assert assert_ledgers_reconcile(sql) == {
        "accrued": COMMISSION, "commission": 0, "buybacks:in_flight": 0,
        "buybacks:spent": COMMISSION, "bought": tokens, "tokens:burned": split.burn,
        "tokens:dividend_pool": split.dividend, "tokens:wallet": 0}
