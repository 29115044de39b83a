"""The CEX route of the buy-back: market-buy on the exchange, withdraw to the technical wallet.

    route = CexRoute(venue, w3, token=deployment.token, wallet=signer.address)
    route.quote(25_000_000)          # token wei reaching the wallet, after trading and withdrawal fees
    purchase = route.buy(buyback_id, 25_000_000, min_tokens_out)

The buy-back id is both the client order id and the withdrawal id, so a retry finds the
order and the withdrawal placed the first time instead of placing new ones. The Purchase
counts what the chain shows arriving: the token's Transfer to the wallet in the
withdrawal's transaction, never the exchange's own figure.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from eth_utils import to_checksum_address

from ember.adapters.chain.artifacts import EMBER_TOKEN, load
from ember.adapters.chain.receipts import final_receipt
from ember.adapters.chain.token_actions import tokens_received
from ember.services.buyback_ports import BuyRefused, Purchase

from .ccxt_venue import CexVenue
from .errors import ExchangeUnavailable, OrderRejected, WithdrawalRejected
from .units import floor_units


class CexRoute:
    """BuyRoute (ember.services.buyback_ports) through one CexVenue and the chain it withdraws to."""

    kind = "cex"

    def __init__(self, venue: CexVenue, w3: Any, *, token: str, wallet: str, confirmations: int = 1,
                 fill_timeout_s: float = 60.0, withdraw_timeout_s: float = 300.0,
                 arrival_timeout_s: float = 120.0, poll_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.venue, self.w3 = venue, w3
        self.token, self.wallet = to_checksum_address(token), to_checksum_address(wallet)
        self.confirmations = confirmations
        self.fill_timeout_s, self.withdraw_timeout_s = fill_timeout_s, withdraw_timeout_s
        self.arrival_timeout_s, self.poll_s, self.sleep = arrival_timeout_s, poll_s, sleep

    @property
    def venue_name(self) -> str:
        return str(self.venue.exchange.id)

    def quote(self, spend: int) -> int:
        """Token wei the wallet would receive for `spend` (0 when the book cannot take it all)."""
        if spend <= 0:
            return 0
        quote = self.venue.quote_buy(spend)
        return quote.base_received if quote.complete else 0

    def buy(self, buyback_id: uuid.UUID, spend: int, min_tokens_out: int) -> Purchase:
        """The tokens that arrived in the wallet; the same Purchase when called again.

        BuyRefused, with nothing bought, when the book would give less than
        `min_tokens_out` or the exchange rejects the order. A market order has no limit
        price: the check is made on the book just before the order, and the Purchase
        reports what actually arrived.
        """
        if not isinstance(min_tokens_out, int) or min_tokens_out <= 0:
            raise ValueError(f"min_tokens_out must be a positive integer, got {min_tokens_out!r}")
        client_id = str(buyback_id)
        if self.venue.find_order(client_id) is None:
            self._place(client_id, spend, min_tokens_out)
        fill = self.venue.wait_filled(client_id, timeout_s=self.fill_timeout_s)
        if fill.base_received == 0:
            raise BuyRefused("the order filled nothing", venue=self.venue_name,
                             reason="not_filled", client_order_id=client_id)
        self.venue.withdraw(self.venue.base, fill.base_received, self.wallet, withdraw_id=client_id)
        withdrawal = self.venue.wait_withdrawn(client_id, timeout_s=self.withdraw_timeout_s)
        assert withdrawal.tx_id is not None  # wait_withdrawn returns only completed withdrawals
        received = tokens_received(self._arrival(withdrawal.tx_id)["logs"], self.token, self.wallet)
        return Purchase(tokens_received=received, tx_hashes=(withdrawal.tx_id,),
                        client_order_id=client_id, stable_spent=min(fill.quote_spent, spend))

    def _place(self, client_id: str, spend: int, min_tokens_out: int) -> None:
        quote = self.venue.quote_buy(spend)
        if not quote.complete or quote.base_received < min_tokens_out:
            raise BuyRefused("the book gives less than the guard's minimum", venue=self.venue_name,
                             reason="insufficient_output", quoted=quote.base_received,
                             min_tokens_out=min_tokens_out, client_order_id=client_id)
        try:
            self.venue.market_buy(spend, client_order_id=client_id)
        except OrderRejected as rejected:
            raise BuyRefused(f"the exchange rejected the order: {rejected.reason}",
                             venue=self.venue_name, reason=rejected.reason,
                             client_order_id=client_id) from rejected

    def _arrival(self, tx_id: str) -> Any:
        """The withdrawal transaction's final receipt; WithdrawalRejected if it reverted."""
        tx_hash = bytes.fromhex(tx_id.removeprefix("0x"))
        deadline = time.monotonic() + self.arrival_timeout_s
        while (receipt := final_receipt(self.w3, tx_hash, self.confirmations)) is None:
            if time.monotonic() >= deadline:
                raise ExchangeUnavailable("withdrawal not final on chain in time", tx_id=tx_id)
            self.sleep(self.poll_s)
        if receipt["status"] != 1:
            raise WithdrawalRejected("the withdrawal reverted on chain", reason="reverted", tx_id=tx_id)
        return receipt


class HotWalletWithdrawals:
    """A stand-in exchange's `on_withdraw` for dev chains: sends the token from the exchange's
    hot wallet (an account funded at setup) and answers the transaction hash."""

    def __init__(self, w3: Any, token: str, account: Any, *, asset: str = "EMBR",
                 decimals: int = 18, timeout_s: float = 60.0) -> None:
        self.w3, self.account, self.asset = w3, account, asset
        self.decimals, self.timeout_s = decimals, timeout_s
        self.token = w3.eth.contract(address=to_checksum_address(token), abi=load(EMBER_TOKEN).abi)
        self._lock = threading.Lock()  # one nonce at a time

    def __call__(self, asset: str, address: str, amount: Decimal, withdrawal_id: str) -> str:
        if asset != self.asset:
            raise RuntimeError(f"the hot wallet holds {self.asset}, not {asset}")
        with self._lock:
            transfer = self.token.functions.transfer(to_checksum_address(address),
                                                     floor_units(amount, self.decimals))
            tx = transfer.build_transaction({
                "from": self.account.address,
                "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending")})
            tx_hash = self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout_s)
        if receipt["status"] != 1:
            raise RuntimeError("execution reverted")
        return "0x" + bytes(tx_hash).hex()
