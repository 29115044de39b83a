"""A signer whose secp256k1 key stays in AWS KMS (key spec ECC_SECG_P256K1).

KMS returns a DER ECDSA signature over the digest it is given, with no recovery id and
any s; Ethereum wants low s (EIP-2) and the y parity. We normalise s, then find the parity
by recovering the public key from each candidate and keeping the one with our address.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from eth_account.typed_transactions import TypedTransaction
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from .signer import SignedTransaction

# The order of secp256k1's group.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def address_of_der_public_key(der: bytes) -> str:
    """The checksummed address of a DER SubjectPublicKeyInfo secp256k1 key."""
    point = load_der_public_key(der).public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return to_checksum_address(keccak(point[1:])[-20:])


def low_s(s: int) -> int:
    """`s` or its twin `n - s`, whichever is in the lower half (EIP-2)."""
    return N - s if s > N // 2 else s


def recovery_id(digest: bytes, r: int, s: int, address: str) -> int:
    """The y parity (0 or 1) under which (r, s) over `digest` recovers `address`."""
    for v in (0, 1):
        try:
            recovered = keys.Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
        except Exception:  # noqa: S112 - an invalid candidate is just not ours
            continue
        if recovered.to_checksum_address() == address:
            return v
    raise ValueError("the KMS signature recovers to neither parity of the key's address")


class KmsSigner:
    """Signs EIP-1559 transactions with `Sign(MessageType=DIGEST)` on a KMS key."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self.kms = kms_client
        self.key_id = key_id

    @cached_property
    def address(self) -> str:  # type: ignore[override]
        der = self.kms.get_public_key(KeyId=self.key_id)["PublicKey"]
        return address_of_der_public_key(der)

    def sign_digest(self, digest: bytes) -> tuple[int, int, int]:
        """(v, r, s) over a 32-byte digest, s low, v the y parity."""
        answer = self.kms.sign(KeyId=self.key_id, Message=digest, MessageType="DIGEST",
                               SigningAlgorithm="ECDSA_SHA_256")
        r, s = decode_dss_signature(answer["Signature"])
        s = low_s(s)
        return recovery_id(digest, r, s, self.address), r, s

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        unsigned = TypedTransaction.from_dict({**tx, "type": 2})
        v, r, s = self.sign_digest(unsigned.hash())
        signed = TypedTransaction.from_dict({**unsigned.as_dict(), "v": v, "r": r, "s": s})
        raw = signed.encode()
        return SignedTransaction(raw=raw, hash=keccak(raw))

    def __repr__(self) -> str:
        return f"KmsSigner(key_id={self.key_id})"
