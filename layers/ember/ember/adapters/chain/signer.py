"""The technical wallet's signer: one interface, the key behind it never shown.

    signer = LocalKeySigner.from_secret(boto3.client("secretsmanager"), "ember/wallet")
    signed = signer.sign_transaction({"type": 2, "chainId": 1, "nonce": 0, ...})
    w3.eth.send_raw_transaction(signed.raw)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from eth_account import Account


@dataclass(frozen=True)
class SignedTransaction:
    raw: bytes   # the EIP-2718 envelope, ready for eth_sendRawTransaction
    hash: bytes  # keccak of `raw`: the transaction hash the chain will know it by


class Signer(Protocol):
    @property
    def address(self) -> str:
        """The checksummed address transactions are sent from."""
        ...

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        """`tx` (an EIP-1559 dict with chainId, nonce, gas and fees) signed."""
        ...


class LocalKeySigner:
    """Signs in process with a secp256k1 key held in memory (from the env or a secret)."""

    def __init__(self, private_key: str | bytes) -> None:
        self._account = Account.from_key(private_key)

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        signed = self._account.sign_transaction(tx)
        return SignedTransaction(raw=bytes(signed.raw_transaction), hash=bytes(signed.hash))

    @classmethod
    def from_secret(cls, secrets_client: Any, secret_id: str) -> LocalKeySigner:
        """The signer for the key in a Secrets Manager secret: the hex key itself, or JSON
        with a `private_key` field."""
        value = secrets_client.get_secret_value(SecretId=secret_id)["SecretString"].strip()
        if value.startswith("{"):
            value = json.loads(value)["private_key"]
        return cls(value)

    def __repr__(self) -> str:  # the key must never reach a log line or a traceback
        return f"LocalKeySigner(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a signer holding a key is not picklable")


def signer_from_settings(settings: Any, aws: Any) -> Signer:
    """The signer EMBER_WALLET_SIGNER names. `aws` is a boto3 Session, or any object with
    a `client(service_name)` method (tests pass clients pointed at moto or a stand-in)."""
    kind = settings.wallet_signer
    if kind == "env":
        if settings.wallet_private_key is None:
            raise ValueError("EMBER_WALLET_PRIVATE_KEY: is required when EMBER_WALLET_SIGNER=env")
        return LocalKeySigner(settings.wallet_private_key.get_secret_value())
    if kind == "secretsmanager":
        return LocalKeySigner.from_secret(aws.client("secretsmanager"), settings.wallet_secret_id)
    if kind == "kms":
        from .kms_signer import KmsSigner

        return KmsSigner(aws.client("kms"), settings.wallet_kms_key_id)
    raise ValueError(f"EMBER_WALLET_SIGNER: unknown signer {kind!r}")
