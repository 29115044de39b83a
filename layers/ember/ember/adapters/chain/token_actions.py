"""The technical wallet's token moves after a buy-back: burn, and deposit into the DividendPool.

    actions = ChainTokenActions.from_deployment(w3, intents, deployment)
    burned = actions.burn(buyback_id, 9_000 * 10**18)   # ChainWrite(tx_hash, block, burned)
    supply_drop = actions.total_supply(burned.block_number - 1) - actions.total_supply(burned.block_number)

Each move is a transaction intent named after the buy-back (`burn:<id>:burn`,
`burn:<id>:approve`, `burn:<id>:deposit`), so calling again after a crash re-broadcasts the
transaction signed the first time and never signs a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from eth_utils import keccak, to_checksum_address

from ember.services.buyback_ports import ChainWrite

from .artifacts import DIVIDEND_POOL, EMBER_TOKEN, load
from .deployment import Deployment
from .intents import TransactionIntents
from .receipts import Receipt

TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")


ZERO_ADDRESS = "0x" + "00" * 20


def tokens_received(logs: Iterable[Any], token: str, recipient: str,
                    sender: str | None = None) -> int:
    """The sum of `token`'s Transfer events to `recipient` (from `sender`, when given) in a
    receipt's logs, exactly."""
    token, recipient = token.lower(), recipient.lower()
    total = 0
    for log in logs:
        topics = [bytes(t) for t in log["topics"]]
        if (str(log["address"]).lower() == token and len(topics) == 3 and topics[0] == TRANSFER_TOPIC
                and "0x" + topics[2][-20:].hex() == recipient
                and (sender is None or "0x" + topics[1][-20:].hex() == sender.lower())):
            total += int.from_bytes(bytes(log["data"]), "big")
    return total


def tx_hash_hex(receipt: Receipt) -> str:
    return "0x" + receipt.tx_hash.hex()


class ChainTokenActions:
    """TokenActions (ember.services.buyback_ports) over web3 and transaction intents."""

    def __init__(self, w3: Any, intents: TransactionIntents, *, token: str, dividend_pool: str,
                 timeout_s: float = 120.0) -> None:
        self.w3, self.intents, self.timeout_s = w3, intents, timeout_s
        self.token = w3.eth.contract(address=to_checksum_address(token), abi=load(EMBER_TOKEN).abi)
        self.pool = w3.eth.contract(address=to_checksum_address(dividend_pool),
                                    abi=load(DIVIDEND_POOL).abi)

    @classmethod
    def from_deployment(cls, w3: Any, intents: TransactionIntents, deployment: Deployment,
                        **options: Any) -> ChainTokenActions:
        return cls(w3, intents, token=deployment.token, dividend_pool=deployment.dividend_pool,
                   **options)

    @property
    def wallet(self) -> str:
        return to_checksum_address(self.intents.signer.address)

    def burn(self, buyback_id: uuid.UUID, amount: int) -> ChainWrite:
        """The mined ERC20 burn of `amount` wei from the wallet, with what its own logs show
        burned; once per buy-back."""
        _require_positive(amount, "amount")
        receipt = self._send(f"burn:{buyback_id}:burn", self.token, "burn", amount)
        burned = tokens_received(receipt.logs, self.token.address, ZERO_ADDRESS,
                                 sender=self.wallet)
        return ChainWrite(tx_hash_hex(receipt), receipt.block_number, burned=burned)

    def deposit_dividend(self, buyback_id: uuid.UUID, amount: int) -> ChainWrite:
        """The mined DividendPool.deposit of `amount` wei, approved exactly; once per buy-back."""
        _require_positive(amount, "amount")
        deposit = f"burn:{buyback_id}:deposit"
        if self.intents.get(deposit) is None:
            approve = f"burn:{buyback_id}:approve"
            if self.intents.get(approve) is not None or self._allowance() < amount:
                self._send(approve, self.token, "approve", self.pool.address, amount)
        receipt = self._send(deposit, self.pool, "deposit", amount)
        return ChainWrite(tx_hash_hex(receipt), receipt.block_number)

    def total_supply(self, block_number: int) -> int:
        """The token's totalSupply at the end of `block_number`."""
        return int(self.token.functions.totalSupply().call(block_identifier=block_number))

    def _allowance(self) -> int:
        return int(self.token.functions.allowance(self.wallet, self.pool.address).call())

    def _send(self, purpose: str, contract: Any, function: str, *args: Any) -> Receipt:
        data = contract.encode_abi(function, args=list(args))
        self.intents.submit(purpose, {"to": contract.address, "data": data})
        return self.intents.wait(purpose, timeout=self.timeout_s)


def _require_positive(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
