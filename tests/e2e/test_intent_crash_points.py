"""A wallet process killed at each step of sending a transaction, then restarted: every
purpose is mined exactly once, and the sender's nonces have no gap."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from eth_account import Account
from web3 import Web3

from tests.conftest import ROOT
from tests.e2e.intent_crash_child import CRASHED

PURPOSES = ("buyback:e2e:approve", "buyback:e2e:swap", "burn:e2e:burn")
# What the crash left of the last purpose: its intent's status, and the sender's mined count.
AT_CRASH = {"after_sign": None, "after_record": "signed", "after_send": "signed",
            "before_receipt": "sent"}
ON_CHAIN_AT_CRASH = {"after_sign": 2, "after_record": 2, "after_send": 3, "before_receipt": 3}


def child(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.e2e.intent_crash_child", *args], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def w3(chain_rpc_url):
    return Web3(Web3.HTTPProvider(chain_rpc_url))


@pytest.fixture
def wallet(w3):
    """A fresh funded key, so the sender's transactions on the shared chain are this test's."""
    key = "0x" + secrets.token_hex(32)
    w3.provider.make_request("hardhat_setBalance", [Account.from_key(key).address, hex(10**20)])
    return key


def sender_transactions(w3: Web3, sender: str, since: int) -> list:
    found = []
    for number in range(since, w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        found += [tx for tx in block.transactions if tx["from"] == sender]
    return found


@pytest.mark.parametrize("crash_point", ["after_sign", "after_record", "after_send", "before_receipt"])
def test_each_purpose_is_mined_once_after_a_crash(crash_point, database_url, chain_rpc_url, w3,
                                                  wallet, sql):
    sender = Account.from_key(wallet).address
    start = w3.eth.block_number
    crashed = child(database_url, chain_rpc_url, wallet, crash_point, *PURPOSES)
    assert crashed.returncode == CRASHED, crashed.stderr
    last = sql.execute("SELECT status FROM tx_intents WHERE purpose = %s", (PURPOSES[-1],)).fetchone()
    assert (last and last["status"]) == AT_CRASH[crash_point]
    assert w3.eth.get_transaction_count(sender) == ON_CHAIN_AT_CRASH[crash_point]

    restarted = child(database_url, chain_rpc_url, wallet, "recover", *PURPOSES)
    assert restarted.returncode == 0, restarted.stderr
    done = json.loads(restarted.stdout.strip().splitlines()[-1])

    sent = sender_transactions(w3, sender, since=start)
    assert sorted(bytes(tx["input"]).decode() for tx in sent) == sorted(PURPOSES)  # once each
    assert sorted(tx["nonce"] for tx in sent) == [0, 1, 2]                          # no gap
    assert w3.eth.get_transaction_count(sender) == len(PURPOSES)
    assert {"0x" + bytes(tx["hash"]).hex() for tx in sent} == {h for _, h in done.values()}
    rows = sql.execute("SELECT purpose, nonce, status FROM tx_intents ORDER BY nonce").fetchall()
    assert [(r["purpose"], r["nonce"], r["status"]) for r in rows] == [
        (p, n, "mined") for n, p in enumerate(PURPOSES)]
