"""The wallet signers: a KMS key (through a stand-in speaking KMS's protocol) and a key from
Secrets Manager (moto) sign transactions the EVM accepts as coming from their address."""

from __future__ import annotations

import json
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3

from ember.adapters.chain.kms_signer import KmsSigner, N
from ember.adapters.chain.signer import LocalKeySigner, signer_from_settings
from ember.runtime.settings import load_settings
from tests.kms_standin import KmsStandIn

DB = "postgresql://unused@127.0.0.1/unused"


@pytest.fixture(scope="module")
def kms_server():
    with KmsStandIn() as server:
        yield server


@pytest.fixture
def kms_key(kms_server):
    """(key id, the private key behind it) on the stand-in."""
    key = ec.generate_private_key(ec.SECP256K1())
    return kms_server.add_key(key), key


def address_of(key: ec.EllipticCurvePrivateKey) -> str:
    """The key's Ethereum address, computed from the public point without our code."""
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return to_checksum_address(keccak(point[1:])[-20:])


def transfer(nonce: int, chain_id: int = 1, value: int = 1) -> dict:
    return {"type": 2, "chainId": chain_id, "nonce": nonce, "to": "0x" + "22" * 20, "value": value,
            "data": b"", "gas": 21000, "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9}


def test_kms_signer_address_is_the_keys_address(kms_server, kms_key):
    key_id, key = kms_key
    assert KmsSigner(kms_server.client(), key_id).address == address_of(key)


def test_kms_signatures_recover_to_the_key_and_are_low_s(kms_server, kms_key):
    key_id, key = kms_key
    signer = KmsSigner(kms_server.client(), key_id)
    for nonce in range(60):  # about half of raw ECDSA signatures have a high s
        signed = signer.sign_transaction(transfer(nonce, value=nonce + 1))
        decoded = TypedTransaction.from_bytes(HexBytes(signed.raw))
        v, r, s = decoded.vrs()
        assert v in (0, 1) and s <= N // 2
        assert Account.recover_transaction(signed.raw) == address_of(key)
        assert signed.hash == keccak(signed.raw)


def test_kms_signed_transaction_is_accepted_by_the_evm_from_the_kms_address(kms_server, kms_key):
    w3 = Web3(EthereumTesterProvider())
    signer = KmsSigner(kms_server.client(), kms_key[0])
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": signer.address, "value": 10**18})
    tx = transfer(0, chain_id=w3.eth.chain_id, value=12345)
    tx_hash = w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1
    assert w3.eth.get_transaction(tx_hash)["from"] == signer.address == address_of(kms_key[1])
    assert w3.eth.get_balance(tx["to"]) == 12345


def test_unknown_kms_key_is_an_error(kms_server):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="NotFoundException"):
        _ = KmsSigner(kms_server.client(), "no-such-key").address


def test_local_key_signer_from_secrets_manager(monkeypatch):
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    key = "0x" + secrets.token_hex(32)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="ember/wallet", SecretString=key)
        client.create_secret(Name="ember/wallet-json", SecretString=json.dumps({"private_key": key}))
        plain = LocalKeySigner.from_secret(client, "ember/wallet")
        from_json = LocalKeySigner.from_secret(client, "ember/wallet-json")
        settings = load_settings(DATABASE_URL=DB, EMBER_WALLET_SIGNER="secretsmanager",
                                 EMBER_WALLET_SECRET_ID="ember/wallet")
        chosen = signer_from_settings(settings, boto3.Session(region_name="us-east-1"))
    expected = Account.from_key(key).address
    assert plain.address == from_json.address == chosen.address == expected
    assert Account.recover_transaction(plain.sign_transaction(transfer(0)).raw) == expected


def test_the_key_never_shows_in_repr_or_str():
    key = secrets.token_hex(32)
    signer = LocalKeySigner(key)
    for shown in (repr(signer), str(signer), f"{signer}", repr([signer])):
        assert key not in shown and key[:16] not in shown
        assert signer.address in shown


def test_signer_from_settings_picks_env_and_kms(kms_server, kms_key):
    key = "0x" + secrets.token_hex(32)
    env = signer_from_settings(load_settings(DATABASE_URL=DB, EMBER_WALLET_PRIVATE_KEY=key), None)
    assert env.address == Account.from_key(key).address

    class Clients:  # what a boto3 Session offers, pointed at the stand-in
        def client(self, name):
            assert name == "kms"
            return kms_server.client()

    kms = signer_from_settings(load_settings(DATABASE_URL=DB, EMBER_WALLET_SIGNER="kms",
                                             EMBER_WALLET_KMS_KEY_ID=kms_key[0]), Clients())
    assert kms.address == address_of(kms_key[1])
