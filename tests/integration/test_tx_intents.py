"""Transaction intents on the in-process EVM and PostgreSQL: one purpose, one signature,
consecutive nonces, even under concurrent submits."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from ember.adapters.chain.errors import TransactionReverted
from ember.adapters.chain.intents import TransactionIntents
from ember.adapters.chain.signer import LocalKeySigner
from ember.adapters.postgres.database import Database


class LockedTesterProvider(EthereumTesterProvider):
    """The in-process EVM is not thread-safe; a node serialises requests, so do we."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()

    def make_request(self, method, params):
        with self._lock:
            return super().make_request(method, params)


class CountingSigner(LocalKeySigner):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.signed = 0

    def sign_transaction(self, tx):
        self.signed += 1
        return super().sign_transaction(tx)


@pytest.fixture
def db(database_url):
    database = Database(database_url, max_size=12)
    yield database
    database.close()


@pytest.fixture
def w3():
    return Web3(LockedTesterProvider())


@pytest.fixture
def signer(w3):
    wallet = CountingSigner("0x" + secrets.token_hex(32))
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": wallet.address, "value": 10**20})
    return wallet


@pytest.fixture
def intents(db, w3, signer):
    return TransactionIntents(db, w3, signer, confirmations=0, poll_interval=0.01)


def pay(amount: int = 1) -> dict:
    return {"to": "0x" + "33" * 20, "value": amount}


def test_second_submit_of_a_purpose_returns_the_same_hash_and_signs_nothing(intents, signer, sql):
    first = intents.submit("buyback:1:swap", pay(5))
    again = intents.submit("buyback:1:swap", pay(999))  # other fields: still the first intent
    assert again.tx_hash == first.tx_hash and again.nonce == first.nonce == 0
    assert signer.signed == 1
    receipt = intents.wait("buyback:1:swap", timeout=10)
    assert receipt.succeeded and receipt.tx_hash == first.tx_hash
    assert intents.submit("buyback:1:swap", pay(5)).status == "mined"
    assert signer.signed == 1
    row = sql.execute("SELECT status, block_number, gas_used FROM tx_intents").fetchone()
    assert row == {"status": "mined", "block_number": receipt.block_number, "gas_used": 21000}


def test_nonces_are_consecutive_across_purposes(intents, w3, signer):
    for n in range(5):
        intents.submit(f"p:{n}", pay(n + 1))
    assert [intents.get(f"p:{n}").nonce for n in range(5)] == [0, 1, 2, 3, 4]
    for n in range(5):
        assert intents.wait(f"p:{n}", timeout=10).succeeded
    assert w3.eth.get_transaction_count(signer.address) == 5


def test_nonce_starts_at_the_chains_pending_nonce_for_a_used_wallet(db, w3, signer):
    key = "0x" + secrets.token_hex(32)
    other = Account.from_key(key)
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": other.address, "value": 10**18})
    for nonce in range(3):  # sent outside the intents, e.g. by an operator
        tx = {"type": 2, "chainId": w3.eth.chain_id, "nonce": nonce, "to": "0x" + "44" * 20, "value": 1,
              "gas": 21000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
        w3.eth.send_raw_transaction(other.sign_transaction(tx).raw_transaction)
    intents = TransactionIntents(db, w3, LocalKeySigner(key), confirmations=0)
    assert intents.submit("after-manual", pay()).nonce == 3


def test_concurrent_submits_of_different_purposes_get_distinct_consecutive_nonces(intents, w3, signer):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: intents.submit(f"c:{n}", pay(n + 1)), range(24)))
    assert sorted(i.nonce for i in results) == list(range(24))
    assert signer.signed == 24
    for n in range(24):
        intents.wait(f"c:{n}", timeout=10)
    assert w3.eth.get_transaction_count(signer.address) == 24


def test_concurrent_submits_of_the_same_purpose_make_one_transaction(intents, w3, signer, sql):
    barrier = threading.Barrier(8)

    def submit(_):
        barrier.wait()
        return intents.submit("same", pay(7))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(submit, range(8)))
    assert len({i.tx_hash for i in results}) == 1
    assert signer.signed == 1
    intents.wait("same", timeout=10)
    assert w3.eth.get_transaction_count(signer.address) == 1
    assert sql.execute("SELECT count(*) AS n FROM tx_intents").fetchone()["n"] == 1


def test_recover_rebroadcasts_recorded_but_unsent_intents_in_nonce_order(db, w3, signer, sql):
    class Crash(Exception):
        pass

    def crash(point):
        if point == "after_record":
            raise Crash(point)

    crashing = TransactionIntents(db, w3, signer, confirmations=0, crash_at=crash)
    for n in range(3):
        with pytest.raises(Crash):
            crashing.submit(f"r:{n}", pay(n + 1))
    assert w3.eth.get_transaction_count(signer.address, "pending") == 0
    statuses = sql.execute("SELECT status FROM tx_intents ORDER BY nonce").fetchall()
    assert [r["status"] for r in statuses] == ["signed"] * 3
    restarted = TransactionIntents(db, w3, signer, confirmations=0)
    assert [i.nonce for i in restarted.recover()] == [0, 1, 2]
    assert [restarted.wait(f"r:{n}", timeout=10).succeeded for n in range(3)] == [True] * 3
    assert signer.signed == 3


def test_a_reverting_call_is_refused_before_a_nonce_is_spent(intents, w3, signer, sql):
    # A contract whose code is `revert(0, 0)`, deployed from init code that returns it.
    init = bytes.fromhex("6005600c60003960056000f3" "60006000fd")
    deployed = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": init}))["contractAddress"]
    with pytest.raises(TransactionReverted) as caught:
        intents.submit("will-revert", {"to": deployed, "data": b"\x01"})
    assert caught.value.error == "" and caught.value.purpose == "will-revert"
    assert sql.execute("SELECT count(*) AS n FROM tx_intents").fetchone()["n"] == 0
    assert intents.submit("fine", pay()).nonce == 0


def test_the_database_refuses_to_change_a_signed_intent(intents, sql):
    import psycopg

    intents.submit("fixed", pay())
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        sql.execute("UPDATE tx_intents SET raw_tx = '\\x02aa' WHERE purpose = 'fixed'")
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        sql.execute("DELETE FROM tx_intents")
    with pytest.raises(psycopg.errors.CheckViolation):
        sql.execute("UPDATE tx_intents SET status = 'mined' WHERE purpose = 'fixed'")  # no receipt
