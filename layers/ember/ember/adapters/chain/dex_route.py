"""The DEX route of the buy-back: the real Uniswap V2 router, through transaction intents.

    route = UniswapRoute.from_deployment(w3, intents, deployment)
    route.quote(25_000_000)                          # token wei after the pool's 0.3% fee
    stable, token = route.reserves()                 # for the domain's check_pool_price
    purchase = route.buy(buyback_id, 25_000_000, min_tokens_out=min_amount_out(...))

A buy is an exact approval of the spend (`buyback:<id>:approve`, skipped when the
allowance already covers it) and one swapExactTokensForTokens (`buyback:<id>:swap`) whose
amountOutMin is the caller's guard. What the wallet received is read from the token's
Transfer event in the swap's receipt, so a repeated call reads the same number again.
"""

from __future__ import annotations

import uuid
from typing import Any

from eth_utils import to_checksum_address

from ember.services.buyback_ports import BuyRefused, Purchase

from .artifacts import UNISWAP_V2_PAIR, UNISWAP_V2_ROUTER02, load
from .deployment import Deployment
from .errors import TransactionReverted
from .intents import TransactionIntents
from .receipts import Receipt
from .token_actions import tokens_received, tx_hash_hex

# The router's require() reasons that mean "not at this price / not in time": nothing moved.
REFUSALS = ("INSUFFICIENT_OUTPUT_AMOUNT", "EXPIRED")
# A swap's gas depends on the block it is mined in: the pair's first swap in a later second
# than its last update also writes its two price accumulators (UniswapV2Pair._update), 2 x
# 22,100 gas when they are written for the first time (the first swap after the liquidity).
# An estimate made within the second of that update skips the writes (measured on Hardhat:
# 114,406 gas against 159,668), more than the intents' 20% margin covers.
SWAP_EXTRA_GAS = 50_000
_ERC20_ABI = [
    {"type": "function", "name": name, "stateMutability": mutability, "inputs": inputs,
     "outputs": [{"name": "", "type": output}]}
    for name, mutability, inputs, output in (
        ("allowance", "view", [{"name": "owner", "type": "address"},
                               {"name": "spender", "type": "address"}], "uint256"),
        ("approve", "nonpayable", [{"name": "spender", "type": "address"},
                                   {"name": "amount", "type": "uint256"}], "bool"),
    )
]


class UniswapRoute:
    """BuyRoute and PoolPrice (ember.services.buyback_ports) on one Uniswap V2 pair."""

    kind = "dex"
    venue = "uniswap-v2"

    def __init__(self, w3: Any, intents: TransactionIntents, *, router: str, pair: str,
                 stable: str, token: str, deadline_s: int = 300, timeout_s: float = 120.0) -> None:
        self.w3, self.intents = w3, intents
        self.deadline_s, self.timeout_s = deadline_s, timeout_s
        self.stable, self.token = to_checksum_address(stable), to_checksum_address(token)
        self.router = w3.eth.contract(address=to_checksum_address(router),
                                      abi=load(UNISWAP_V2_ROUTER02).abi)
        self.pair = w3.eth.contract(address=to_checksum_address(pair), abi=load(UNISWAP_V2_PAIR).abi)
        self.stable_erc20 = w3.eth.contract(address=self.stable, abi=_ERC20_ABI)
        self._stable_is_token0: bool | None = None

    @classmethod
    def from_deployment(cls, w3: Any, intents: TransactionIntents, deployment: Deployment,
                        **options: Any) -> UniswapRoute:
        return cls(w3, intents, router=deployment.router, pair=deployment.pair,
                   stable=deployment.stable, token=deployment.token, **options)

    @property
    def wallet(self) -> str:
        return to_checksum_address(self.intents.signer.address)

    @property
    def path(self) -> list[str]:
        return [self.stable, self.token]

    # -- prices ---------------------------------------------------------------------------
    def quote(self, spend: int) -> int:
        """Token wei the router would give for `spend` now, after the pool fee (0: no liquidity)."""
        if spend <= 0 or min(self.reserves()) == 0:
            return 0
        return int(self.router.functions.getAmountsOut(spend, self.path).call()[-1])

    def reserves(self) -> tuple[int, int]:
        """The pair's (stable, token) reserves now."""
        reserve0, reserve1, _ = self.pair.functions.getReserves().call()
        if self._stable_is_token0 is None:
            self._stable_is_token0 = self.pair.functions.token0().call().lower() == self.stable.lower()
        return (int(reserve0), int(reserve1)) if self._stable_is_token0 else (int(reserve1), int(reserve0))

    # -- buying ---------------------------------------------------------------------------
    def buy(self, buyback_id: uuid.UUID, spend: int, min_tokens_out: int) -> Purchase:
        """The tokens the swap brought the wallet; the same Purchase when called again.

        BuyRefused when the router refuses the price (INSUFFICIENT_OUTPUT_AMOUNT) or the
        deadline passed (EXPIRED): no token and no stable moved.
        """
        if not isinstance(spend, int) or spend <= 0:
            raise ValueError(f"spend must be a positive integer, got {spend!r}")
        # amountOutMin 0 accepts any price: a sandwich would take the whole spend.
        if not isinstance(min_tokens_out, int) or min_tokens_out <= 0:
            raise ValueError(f"min_tokens_out must be a positive integer, got {min_tokens_out!r}")
        swap = f"buyback:{buyback_id}:swap"
        try:
            if self.intents.get(swap) is None:
                self._approve(buyback_id, spend)
                deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + self.deadline_s
                data = self.router.encode_abi("swapExactTokensForTokens", args=[
                    spend, min_tokens_out, self.path, self.wallet, deadline])
                self.intents.submit(swap, {"to": self.router.address, "data": data},
                                    extra_gas=SWAP_EXTRA_GAS)
            else:
                self.intents.submit(swap, {})  # re-broadcasts the stored bytes if unfinished
            receipt = self.intents.wait(swap, timeout=self.timeout_s)
        except TransactionReverted as reverted:
            intent = self.intents.get(swap)
            refused = _refusal(reverted, buyback_id, mined=intent is not None and intent.status == "reverted")
            if refused is None:
                raise
            raise refused from reverted
        return self._purchase(receipt)

    def _approve(self, buyback_id: uuid.UUID, spend: int) -> None:
        """Allows the router exactly `spend` (never an unlimited allowance)."""
        purpose = f"buyback:{buyback_id}:approve"
        if self.intents.get(purpose) is None:
            allowance = self.stable_erc20.functions.allowance(self.wallet, self.router.address).call()
            if int(allowance) >= spend:
                return
            data = self.stable_erc20.encode_abi("approve", args=[self.router.address, spend])
            self.intents.submit(purpose, {"to": self.stable, "data": data})
        self.intents.submit(purpose, {})
        self.intents.wait(purpose, timeout=self.timeout_s)

    def _purchase(self, receipt: Receipt) -> Purchase:
        received = tokens_received(receipt.logs, self.token, self.wallet)
        return Purchase(tokens_received=received, tx_hashes=(tx_hash_hex(receipt),))


def _refusal(reverted: TransactionReverted, buyback_id: uuid.UUID, mined: bool) -> BuyRefused | None:
    """BuyRefused when the router refused the price or the time, or the signed swap reverted
    on chain (it can never succeed as signed); None for a revert found while estimating for
    another reason (say the wallet lacks stable), which a later run may get past."""
    reason = str(reverted.error_args[0]) if reverted.error == "Error" and reverted.error_args else ""
    if not reason.endswith(REFUSALS) and not mined:
        return None
    code = reason.rsplit(" ", 1)[-1].lower() if reason.endswith(REFUSALS) else "reverted"
    return BuyRefused(f"the router refused the swap: {reason or reverted.detail}",
                      venue=UniswapRoute.venue, reason=code, buyback_id=str(buyback_id),
                      tx_hash=reverted.tx_hash)
