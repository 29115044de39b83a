"""How bought tokens are shared: a part is burned, the rest goes to the dividend pool.

burn = floor(tokens * burn_share_bps / 10000) and dividend = tokens - burn, so every wei
bought is either burned or deposited; the rounding wei goes to the stakers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .markets import BPS_DENOMINATOR


@dataclass(frozen=True)
class BurnSplit:
    burn: int  # token wei sent to ERC20 burn
    dividend: int  # token wei deposited into the DividendPool

    @property
    def tokens(self) -> int:
        return self.burn + self.dividend


def split_burn(tokens: int, burn_share_bps: int) -> BurnSplit:
    """The burn and dividend parts of `tokens` wei; they always add up to `tokens`."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise ValueError(f"tokens must be a non-negative integer of token wei, got {tokens!r}")
    if (isinstance(burn_share_bps, bool) or not isinstance(burn_share_bps, int)
            or not 0 <= burn_share_bps <= BPS_DENOMINATOR):
        raise ValueError(f"burn_share_bps must be an integer within 0..{BPS_DENOMINATOR}, "
                         f"got {burn_share_bps!r}")
    burn = tokens * burn_share_bps // BPS_DENOMINATOR
    return BurnSplit(burn=burn, dividend=tokens - burn)
