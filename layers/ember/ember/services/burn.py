"""Burn bought tokens: part ERC20 burn, the rest into the DividendPool, checked on chain.

```python
handler = kafka_handler(consumer="burn", service=open_burn, after=burn_pending)
```
tokens.bought opens a pending burn in the consumer's inbox transaction (`open_burn_for`);
after the batch committed, `run_burns` sends the chain work, which cannot sit in a database
transaction. Every chain call is idempotent by the buy-back id, so a run after a crash at
any step sends nothing twice and finishes what the crashed run began.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from aws_lambda_powertools import Logger

from ember.adapters.postgres.burns import open_burn
from ember.domain.clock import Clock
from ember.domain.envelope import EventEnvelope
from ember.domain.errors import EmberError

from .buyback_ports import BurnStore, ChainWrite, Controls, PendingBurn, TokenActions

logger = Logger(service="ember", child=True)


class SupplyMismatch(EmberError):
    """The burn transaction did not burn exactly the amount, or totalSupply fell by less
    than it did in that block: the burn is not marked done."""

    code = "supply_mismatch"
    status = 500


def open_burn_for(conn: psycopg.Connection, envelope: EventEnvelope, *, burn_share_bps: int,
                  now: datetime) -> PendingBurn:
    """The pending burn for one tokens.bought, opened in the inbox transaction."""
    payload = envelope.payload
    burn = open_burn(conn, uuid.UUID(payload["buyback_id"]), int(payload["tokens_received"]),
                     burn_share_bps, now)
    logger.info("burn_opened", extra={"buyback_id": str(burn.buyback_id), "burn": str(burn.burn),
                                      "dividend": str(burn.dividend)})
    return burn


@dataclass
class BurnRun:
    """What one run finished, for logs and tests."""

    finished: list[uuid.UUID] = field(default_factory=list)
    halted: str | None = None
    burned: int = 0  # base units burned by this run
    supply: int | None = None  # total supply after this run's last burn

    def summary(self) -> dict[str, Any]:
        return {"burns_finished": len(self.finished), "halted": self.halted}


def run_burns(*, store: BurnStore, actions: TokenActions, controls: Controls,
              clock: Clock) -> BurnRun:
    """The burns this run finished, oldest first; it stops at the kill switch.

    An error (chain down, SupplyMismatch) propagates and leaves that burn pending.
    """
    run = BurnRun()
    for pending in store.pending_burns():
        run.halted = controls.halted()
        if run.halted:
            logger.warning("burns_halted", extra={"reason": run.halted})
            return run
        supply = burn_one(pending, store=store, actions=actions, clock=clock)
        run.finished.append(pending.buyback_id)
        run.burned += pending.burn
        if supply is not None:
            run.supply = supply[1]
    return run


def burn_one(pending: PendingBurn, *, store: BurnStore, actions: TokenActions,
             clock: Clock) -> tuple[int, int] | None:
    """The supply before and after the burn (None when nothing was burned); burns, checks
    the supply, deposits, and marks the burn done."""
    burned: ChainWrite | None = None
    supply: tuple[int, int] | None = None
    if pending.burn > 0:
        burned = actions.burn(pending.buyback_id, pending.burn)
        supply = _check_supply(pending, burned, actions)
    deposited = (actions.deposit_dividend(pending.buyback_id, pending.dividend)
                 if pending.dividend > 0 else None)
    store.finish_burn(pending.buyback_id, burned, deposited, supply, clock.now())
    logger.info("burn_finished", extra={
        "buyback_id": str(pending.buyback_id), "burned": str(pending.burn),
        "dividend": str(pending.dividend), "burn_tx_hash": burned.tx_hash if burned else None,
        "dividend_tx_hash": deposited.tx_hash if deposited else None})
    return supply


def _check_supply(pending: PendingBurn, burned: ChainWrite,
                  actions: TokenActions) -> tuple[int, int]:
    """The supply before and after the burn's block, once the chain shows the burn.

    The burn transaction's own logs must show exactly `pending.burn` leaving the wallet for
    the zero address, and the supply must fall by at least that much in its block. It may
    fall by more: any holder can burn, and another burn in the same block is not ours to
    account for (an equality there would let anyone halt the burns with one wei per block).
    The token has no mint, so a smaller fall means the burn did not happen as logged.
    """
    before = actions.total_supply(burned.block_number - 1)
    after = actions.total_supply(burned.block_number)
    facts = {"buyback_id": str(pending.buyback_id), "burn": str(pending.burn),
             "burned_in_tx": str(burned.burned), "supply_before": str(before),
             "supply_after": str(after), "block": burned.block_number,
             "burn_tx_hash": burned.tx_hash}
    if burned.burned != pending.burn or before - after < pending.burn:
        logger.error("burn_supply_mismatch", extra=facts)
        raise SupplyMismatch(
            f"the burn transaction burned {burned.burned} and the supply fell by"
            f" {before - after}; expected {pending.burn}", buyback_id=str(pending.buyback_id),
            block=burned.block_number)
    if before - after > pending.burn:
        logger.info("burn_block_had_other_burns",
                    extra={**facts, "others_burned": str(before - after - pending.burn)})
    return before, after
