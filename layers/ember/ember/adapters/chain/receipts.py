"""Receipts of the technical wallet's transactions, counted final after N blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.exceptions import TransactionNotFound


@dataclass(frozen=True)
class Receipt:
    purpose: str
    tx_hash: bytes
    block_number: int
    gas_used: int
    succeeded: bool
    logs: tuple[Any, ...] = ()  # web3's decoded-later log entries, for events of the tx


def final_receipt(w3: Any, tx_hash: bytes, confirmations: int) -> Any | None:
    """The node's receipt once `confirmations` blocks sit on top of its block; else None."""
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None
    if receipt is None or receipt.get("blockNumber") is None:
        return None
    if w3.eth.block_number - receipt["blockNumber"] < confirmations:
        return None
    return receipt


def is_known(w3: Any, tx_hash: bytes) -> bool:
    """Whether the node has the transaction, pending or mined."""
    try:
        return w3.eth.get_transaction(tx_hash) is not None
    except TransactionNotFound:
        return False
