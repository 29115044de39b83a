"""The burn report's reads from the chain: total supply at a block, the block of a moment,
burns and DividendPool deposits in a block range (eth_getLogs).

```python
reads = ChainReportReads.from_deployment(w3, deployment)    # the wallet: deployment.wallet
figures = reads.period_figures(start, end)    # ChainFigures between the blocks of start and end
figures.burns, figures.other_burns            # the technical wallet's burns, everyone else's
```
A period [start, end) runs from the end of the last block before `start` to the end of the
last block before `end`; both blocks are stated in the report with the supply at each.

Any holder can burn the token. The burns are read once, every Transfer to 0x0 of the token,
and split by the indexed sender (topic 1): the technical wallet's are the ledger's, the
others are shown as information. One query rather than one filtered on the wallet and one
for the rest: the supply check needs every burn anyway, so the split costs no extra
eth_getLogs call (and nodes cap their ranges, which are asked in chunks).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak, to_checksum_address

from ember.domain.burn_report import ChainFigures, TokenEvent

from .artifacts import EMBER_TOKEN, load
from .deployment import Deployment
from .token_actions import TRANSFER_TOPIC

DEPOSITED_TOPIC = keccak(text="Deposited(address,uint256,uint256,uint256,uint256)")
ZERO_TOPIC = b"\x00" * 32
LOG_CHUNK_BLOCKS = 10_000  # nodes cap eth_getLogs ranges; ask in chunks


class ChainReportReads:
    def __init__(self, w3: Any, *, token: str, dividend_pool: str, wallet: str,
                 first_block: int = 0, log_chunk: int = LOG_CHUNK_BLOCKS) -> None:
        self.w3, self.first_block, self.log_chunk = w3, first_block, log_chunk
        self.token_address = to_checksum_address(token)
        self.pool_address = to_checksum_address(dividend_pool)
        self.wallet = to_checksum_address(wallet)  # the technical wallet: whose burns are Ember's
        self.token = w3.eth.contract(address=self.token_address, abi=load(EMBER_TOKEN).abi)

    @classmethod
    def from_deployment(cls, w3: Any, deployment: Deployment, **options: Any) -> ChainReportReads:
        """The reads of `deployment`'s token and pool; the wallet is the deployment's own
        (the signer's address when it was deployed) unless `wallet=` says otherwise."""
        options.setdefault("wallet", deployment.wallet)
        return cls(w3, token=deployment.token, dividend_pool=deployment.dividend_pool,
                   first_block=deployment.block, **options)

    def latest_block(self) -> int:
        return int(self.w3.eth.block_number)

    def timestamp(self, block: int) -> datetime:
        return datetime.fromtimestamp(int(self.w3.eth.get_block(block)["timestamp"]), UTC)

    def block_at_or_after(self, moment: datetime, latest: int | None = None) -> int | None:
        """The first block whose timestamp is at or after `moment` (binary search); None when
        no block that late exists yet."""
        target = int(moment.timestamp())
        high = self.latest_block() if latest is None else latest
        if self._block_time(high) < target:
            return None
        low = 0
        while low < high:
            middle = (low + high) // 2
            if self._block_time(middle) < target:
                low = middle + 1
            else:
                high = middle
        return low

    def total_supply(self, block: int) -> int:
        """The token's totalSupply at the end of `block`."""
        return int(self.token.functions.totalSupply().call(block_identifier=block))

    def token_created(self, not_before: int, latest: int) -> int:
        """The first block at or after `not_before` where the token's code exists."""
        if self._has_code(not_before):
            return not_before
        low, high = not_before, latest
        while low < high:
            middle = (low + high) // 2
            if self._has_code(middle):
                high = middle
            else:
                low = middle + 1
        return low

    def burns(self, from_block: int, to_block: int) -> list[TokenEvent]:
        """The token's Transfer events to the zero address in [from_block, to_block], by
        anyone, in chain order; each with its sender (whose tokens were burned)."""
        logs = self._logs(self.token_address, [TRANSFER_TOPIC, None, ZERO_TOPIC],
                          from_block, to_block)
        return [_event(log, word=0, sender=_topic_address(log["topics"][1])) for log in logs]

    def split_burns(self, burns: list[TokenEvent]) -> tuple[list[TokenEvent], list[TokenEvent]]:
        """(the technical wallet's burns, every other holder's), each in chain order."""
        wallet = self.wallet.lower()
        ours = [e for e in burns if (e.sender or "").lower() == wallet]
        return ours, [e for e in burns if (e.sender or "").lower() != wallet]

    def deposits(self, from_block: int, to_block: int) -> list[TokenEvent]:
        """The DividendPool's Deposited events in [from_block, to_block]: the deposited amount."""
        logs = self._logs(self.pool_address, [DEPOSITED_TOPIC], from_block, to_block)
        return [_event(log, word=0) for log in logs]

    def period_figures(self, start: datetime, end: datetime) -> ChainFigures:
        """Supply at the end of the last block before `start` and before `end` (the latest
        block while `end` is still to come), and the burns and deposits between them."""
        latest = self.latest_block()
        created = self.token_created(min(self.first_block, latest), latest)
        start_block = self._last_before(start, latest, floor=created)
        end_block = max(self._last_before(end, latest, floor=created), start_block)
        burns = self.burns(start_block + 1, end_block)
        times = {b: self.timestamp(b) for b in {start_block, end_block, *(e.block for e in burns)}}
        wallets, others = self.split_burns([replace(e, timestamp=times[e.block]) for e in burns])
        return ChainFigures(
            start_block=start_block, end_block=end_block,
            supply_start=self.total_supply(start_block), supply_end=self.total_supply(end_block),
            minted=self.total_supply(created), burns=tuple(wallets),
            deposits=tuple(self.deposits(start_block + 1, end_block)),
            start_time=times[start_block], end_time=times[end_block],
            other_burns=tuple(others), wallet=self.wallet)

    def _last_before(self, moment: datetime, latest: int, floor: int) -> int:
        first = self.block_at_or_after(moment, latest)
        block = latest if first is None else first - 1
        return max(block, floor)

    def _block_time(self, block: int) -> int:
        return int(self.w3.eth.get_block(block)["timestamp"])

    def _has_code(self, block: int) -> bool:
        return len(self.w3.eth.get_code(self.token_address, block_identifier=block)) > 0

    def _logs(self, address: str, topics: list[Any], from_block: int,
              to_block: int) -> list[Any]:
        found: list[Any] = []
        hex_topics = [None if t is None else "0x" + bytes(t).hex() for t in topics]
        for low in range(from_block, to_block + 1, self.log_chunk):
            high = min(low + self.log_chunk - 1, to_block)
            found += self.w3.eth.get_logs({"address": address, "topics": hex_topics,
                                           "fromBlock": low, "toBlock": high})
        return sorted(found, key=lambda log: (log["blockNumber"], log["logIndex"]))


def _event(log: Any, word: int, sender: str | None = None) -> TokenEvent:
    data = _bytes(log["data"])
    amount = int.from_bytes(data[32 * word:32 * (word + 1)], "big")
    tx_hash = log["transactionHash"]
    text = tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex()
    return TokenEvent(text if text.startswith("0x") else "0x" + text, int(log["blockNumber"]),
                      amount, sender=sender, log_index=int(log["logIndex"]))


def _topic_address(topic: Any) -> str:
    """The address in an indexed address topic (its last 20 bytes), checksummed."""
    return to_checksum_address(_bytes(topic)[-20:])


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)
