"""The burn report's wallet: the deployment's, checked against a key in the environment; and
burns read once and told apart by their indexed sender."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account

from ember.adapters.chain.report_reads import ZERO_TOPIC, ChainReportReads
from ember.adapters.chain.token_actions import TRANSFER_TOPIC
from ember.runtime.report_wiring import report_wallet
from ember.runtime.settings import SettingsError, load_settings

DB = "postgresql://postgres@127.0.0.1/ember"
KEY = "0x" + "4c" * 32
WALLET = Account.from_key(KEY).address
TREASURY = "0x" + "d1" * 20
TOKEN = "0x" + "70" * 20


@pytest.fixture(autouse=True)
def no_wallet_in_the_environment(monkeypatch):
    for name in ("EMBER_WALLET_PRIVATE_KEY", "EMBER_WALLET_SIGNER"):
        monkeypatch.delenv(name, raising=False)


def test_the_wallet_is_the_deployments_and_needs_no_key():
    assert report_wallet(load_settings(DATABASE_URL=DB), WALLET) == WALLET


def test_a_key_in_the_environment_must_be_the_deployments_wallet():
    settings = load_settings(DATABASE_URL=DB, EMBER_WALLET_PRIVATE_KEY=KEY)
    assert report_wallet(settings, WALLET.lower()) == WALLET.lower()

    with pytest.raises(SettingsError, match="EMBER_WALLET_PRIVATE_KEY") as raised:
        report_wallet(settings, TREASURY)
    assert KEY.removeprefix("0x") not in str(raised.value)


def log(sender: str, amount: int, block: int, index: int) -> dict[str, Any]:
    return {"address": TOKEN, "blockNumber": block, "logIndex": index,
            "transactionHash": bytes([block % 256, index]) * 16,
            "topics": [TRANSFER_TOPIC, bytes(12) + bytes.fromhex(sender[2:]), ZERO_TOPIC],
            "data": amount.to_bytes(32, "big")}


class FakeEth:
    """eth_getLogs over three burns (two in block 12), answered by block range; the filters
    asked are kept."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []
        self.logs = [log(WALLET, 800, 12, 3), log(TREASURY, 5, 12, 1), log(TREASURY, 7, 15, 0)]

    def contract(self, **_: Any) -> Any:
        return SimpleNamespace()

    def get_logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        self.filters.append(query)
        low, high = query["fromBlock"], query["toBlock"]
        return [entry for entry in self.logs if low <= entry["blockNumber"] <= high]


def test_burns_are_read_once_and_split_by_their_sender():
    eth = FakeEth()
    reads = ChainReportReads(SimpleNamespace(eth=eth), token=TOKEN, dividend_pool=TOKEN,
                             wallet=WALLET.lower())

    burns = reads.burns(10, 20)
    ours, others = reads.split_burns(burns)

    assert [(e.block, e.log_index, e.amount) for e in burns] == [(12, 1, 5), (12, 3, 800), (15, 0, 7)]
    assert [(e.sender, e.amount) for e in ours] == [(WALLET, 800)]
    assert [(e.sender.lower() if e.sender else None, e.amount) for e in others] == [
        (TREASURY, 5), (TREASURY, 7)]
    # One query for every burn: any sender (topic 1 open), to the zero address.
    assert [q["topics"] for q in eth.filters] == [
        ["0x" + TRANSFER_TOPIC.hex(), None, "0x" + ZERO_TOPIC.hex()]]
