"""A revert reads the same on the in-process EVM and on a JSON-RPC node (Hardhat): the
decoded custom error of the contract's ABI, `Error(string)`, `Panic(uint256)` or nothing."""

from __future__ import annotations

import secrets

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector as selector
from web3 import EthereumTesterProvider, Web3

from ember.adapters.chain import artifacts
from ember.adapters.chain.errors import TransactionReverted
from ember.adapters.chain.intents import TransactionIntents
from ember.adapters.chain.reverts import RevertDecoder
from ember.adapters.chain.signer import LocalKeySigner
from ember.adapters.postgres.database import Database

TOKEN = artifacts.load(artifacts.EMBER_TOKEN)
# revert(0, calldatasize) after copying the calldata: reverts with whatever it is called with.
ECHO_REVERTER = bytes.fromhex("366000600037366000fd")
RECEIVER = "0x" + "55" * 20


@pytest.fixture
def db(database_url):
    database = Database(database_url, max_size=4)
    yield database
    database.close()


@pytest.fixture
def key() -> str:
    """One fresh wallet key on both chains, so the errors' address arguments agree too."""
    return "0x" + secrets.token_hex(32)


def in_process_chain(key: str) -> Web3:
    w3 = Web3(EthereumTesterProvider())
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": Account.from_key(key).address,
                             "value": 10**20})
    return w3


def hardhat_chain(url: str, key: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url))
    w3.provider.make_request("hardhat_setBalance", [Account.from_key(key).address, hex(10**20)])
    return w3


def reverts_seen(w3: Web3, db: Database, key: str, tag: str) -> list[tuple[str, tuple]]:
    """The decoded reverts of the same calls on chain `w3`, in order."""
    decoder = RevertDecoder([TOKEN.abi])
    intents = TransactionIntents(db, w3, LocalKeySigner(key), confirmations=0, decoder=decoder,
                                 poll_interval=0.05)
    wallet = Account.from_key(key).address
    contract = w3.eth.contract(abi=TOKEN.abi, bytecode=TOKEN.bytecode)
    deploy = contract.constructor(wallet, 1000).build_transaction({"from": wallet, "gas": 3_000_000})
    intents.submit(f"{tag}:deploy", {"data": deploy["data"]})
    token = w3.eth.contract(address=w3.eth.get_transaction_receipt(
        intents.get(f"{tag}:deploy").tx_hash)["contractAddress"], abi=TOKEN.abi)
    intents.submit(f"{tag}:deploy-echo", {"data": _creation(ECHO_REVERTER)})
    echo = w3.eth.get_transaction_receipt(intents.get(f"{tag}:deploy-echo").tx_hash)["contractAddress"]
    too_much = token.encode_abi("transfer", [RECEIVER, 1001])
    seen = []
    # 1. refused at submit: gas estimation reverts, no nonce is spent
    with pytest.raises(TransactionReverted) as refused:
        intents.submit(f"{tag}:transfer", {"to": token.address, "data": too_much})
    seen.append(refused.value.signature)
    # 2. a plain eth_call, the exception web3 raises decoded
    with pytest.raises(Exception) as called:
        token.functions.transfer(RECEIVER, 1001).call({"from": wallet})
    seen.append(decoder.from_exception(called.value).signature)
    # 3. sent with a fixed gas limit, mined, reverted: the reason replayed from its block
    intents.submit(f"{tag}:mined-revert", {"to": token.address, "data": too_much, "gas": 100_000})
    with pytest.raises(TransactionReverted) as mined:
        intents.wait(f"{tag}:mined-revert", timeout=20)
    seen.append(mined.value.signature)
    # 4. the standard errors and an empty revert, through the echoing contract
    for n, data in enumerate([selector("Error(string)") + encode(["string"], ["nope"]),
                              selector("Panic(uint256)") + encode(["uint256"], [0x11]), b""]):
        with pytest.raises(TransactionReverted) as echoed:
            intents.submit(f"{tag}:echo:{n}", {"to": echo, "data": data})
        seen.append(echoed.value.signature)
    return seen


def _creation(runtime: bytes) -> bytes:
    """Init code that deploys `runtime` as it is (CODECOPY + RETURN)."""
    return bytes.fromhex(f"60{len(runtime):02x}600c60003960{len(runtime):02x}6000f3") + runtime


def test_same_revert_same_typed_error_on_both_backends(db, key, chain_rpc_url):
    wallet = Account.from_key(key).address
    balance = ("ERC20InsufficientBalance", (wallet, 1000, 1001))
    expected = [balance, balance, balance, ("Error", ("nope",)), ("Panic", (0x11,)), ("", ())]
    in_process = reverts_seen(in_process_chain(key), db, key, "tester")
    on_node = reverts_seen(hardhat_chain(chain_rpc_url, key), db, key, "hardhat")
    assert in_process == on_node == expected


def test_unknown_custom_error_keeps_its_raw_data():
    data = selector("Mystery(uint256)") + encode(["uint256"], [7])
    reverted = RevertDecoder([TOKEN.abi]).decode(data)
    assert (reverted.error, reverted.error_args, reverted.data) == ("", (), data)
    assert reverted.code == "transaction_reverted"
