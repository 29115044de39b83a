"""Buy back the token with the commission pool: guarded, capped, resumable after a crash.

```python
run = run_buybacks(store=store, routes=[dex, cex], pool_price=pool, prices=reference,
                   controls=app.kill_switch, policy=policy,
                   clock=clock, dry_run=False)
```
Each buy: the kill switch, then `plan_buy`, the reference price, the pool price check,
`amountOutMin`, a quote from every route, the best venue; then the store holds the spend
(planned) before the route is asked to buy, and marks it bought or refused after. A crash
anywhere leaves the buy-back planned: the next run asks its route again with the same id,
and the route's idempotency returns the first purchase instead of buying twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from ember.domain.buyback import (
    BuybackPolicy,
    BuyPlan,
    VenueKind,
    VenueQuote,
    check_pool_price,
    choose_venue,
    min_amount_out,
    plan_buy,
)
from ember.domain.clock import Clock
from ember.domain.errors import BuybackTooSmall, EmberError, NoVenueQuote, PoolPriceDeviates
from ember.domain.money import CURRENCY

from .buyback_ports import (
    Buyback,
    BuybackStore,
    BuyRefused,
    BuyRoute,
    Controls,
    PoolPrice,
    PriceSource,
)

logger = Logger(service="ember", child=True)

# A run stops after this many buys whatever happens: tranches are spaced by the policy,
# so a run normally makes one new buy (plus the ones it resumes).
MAX_BUYS_PER_RUN = 20


class QuoteBelowMinimum(EmberError):
    """The best venue quotes fewer tokens than amountOutMin: buying now would be refused."""

    code = "quote_below_minimum"
    status = 409


class KillSwitch:
    """The EMBER_BUYBACKS_HALTED setting, then every switch given (the operators' switch in
    the database, the SSM parameter on AWS): any one of them halts."""

    def __init__(self, halted_by_setting: bool, *switches: Controls) -> None:
        self.halted_by_setting = halted_by_setting
        self.switches = switches

    def halted(self) -> str | None:
        if self.halted_by_setting:
            return "EMBER_BUYBACKS_HALTED"
        return next((why for why in (s.halted() for s in self.switches) if why), None)


@dataclass
class BuybackRun:
    """What one run did, for logs and tests."""

    bought: list[uuid.UUID] = field(default_factory=list)
    refused: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    resumed: int = 0
    halted: str | None = None  # why the run stopped at the kill switch
    waiting: str | None = None  # why no (further) buy is due: a NoBuyReason, or plan_stale
    dry_run_plan: Buyback | None = None

    def summary(self) -> dict[str, Any]:
        return {"bought": len(self.bought), "refused": len(self.refused), "resumed": self.resumed,
                "halted": self.halted, "waiting": self.waiting,
                "dry_run_spend": self.dry_run_plan.spend if self.dry_run_plan else None}


@dataclass(frozen=True)
class Buying:
    """A run's collaborators."""

    store: BuybackStore
    routes: Sequence[BuyRoute]
    pool_price: PoolPrice
    prices: PriceSource
    controls: Controls
    policy: BuybackPolicy
    clock: Clock
    dry_run: bool = False


def run_buybacks(*, store: BuybackStore, routes: Sequence[BuyRoute], pool_price: PoolPrice,
                 prices: PriceSource, controls: Controls, policy: BuybackPolicy, clock: Clock,
                 dry_run: bool = False) -> BuybackRun:
    """What this run bought, refused and resumed; it stops at the kill switch or when no buy
    is due. An error that is not a definite refusal propagates; its buy-back stays planned."""
    buying = Buying(store, routes, pool_price, prices, controls, policy, clock, dry_run)
    run = BuybackRun()
    if not dry_run:
        for buyback in store.planned():
            if _halted(buying, run):
                return run
            run.resumed += 1
            logger.info("buyback_resumed", extra={"buyback_id": str(buyback.id)})
            _buy(buying, buyback, run)
    for _ in range(MAX_BUYS_PER_RUN):
        if _halted(buying, run) or not _buy_next(buying, run) or dry_run:
            break
    return run


def _halted(buying: Buying, run: BuybackRun) -> bool:
    run.halted = buying.controls.halted()
    if run.halted:
        logger.warning("buybacks_halted", extra={"reason": run.halted})
    return run.halted is not None


def _buy_next(buying: Buying, run: BuybackRun) -> bool:
    """True when a buy was made and another may follow (the policy decides whether it is due)."""
    now = buying.clock.now()
    state = buying.store.pool_state(now)
    plan = plan_buy(state.balance, state.last_buy_at, state.spent_today, now, buying.policy)
    if not isinstance(plan, BuyPlan):
        run.waiting = plan.reason.value
        logger.info("buyback_not_due", extra={"reason": run.waiting, "pool": state.balance})
        return False
    reference = buying.prices.reference()
    buyback = Buyback(uuid.uuid4(), None, plan.amount, CURRENCY, reference, None, now)
    try:
        minimum = min_amount_out(plan.amount, reference, buying.policy.max_slippage_bps)
        buyback = Buyback(buyback.id, None, plan.amount, CURRENCY, reference, minimum, now)
        check_pool_price(*buying.pool_price.reserves(), reference,
                         buying.policy.max_pool_deviation_bps)
        best = choose_venue(_quotes(buying.routes, plan.amount))
        buyback = Buyback(buyback.id, best.kind.value, plan.amount, CURRENCY, reference, minimum,
                          now)
        if best.tokens_out < minimum:
            raise QuoteBelowMinimum(f"best quote {best.tokens_out} is below the minimum {minimum}",
                                    venue=best.venue)
    except (BuybackTooSmall, PoolPriceDeviates, NoVenueQuote, QuoteBelowMinimum) as refusal:
        return _refuse_unplanned(buying, buyback, refusal, run)
    fields = {"buyback_id": str(buyback.id), "venue": buyback.venue, "spend": plan.amount,
              "min_tokens_out": minimum, "quoted": best.tokens_out, "trigger": plan.trigger.value,
              "limited_by": plan.limited_by.value, "reference_source": reference.source}
    if buying.dry_run:
        run.dry_run_plan = buyback
        logger.info("buyback_dry_run", extra=fields)
        return False
    if not buying.store.plan(buyback, buying.policy):
        run.waiting = "plan_stale"  # another runner planned from the same pool meanwhile
        logger.info("buyback_plan_stale", extra=fields)
        return False
    logger.info("buyback_planned", extra=fields)
    return _buy(buying, buyback, run)


def _quotes(routes: Sequence[BuyRoute], spend: int) -> list[VenueQuote]:
    """Every route's quote; a route that cannot quote now quotes nothing."""
    quotes = []
    for route in routes:
        try:
            tokens = route.quote(spend)
        except Exception as error:  # one venue down must not stop buying on the other
            logger.warning("buyback_quote_failed", extra={"venue": route.kind, "error": repr(error)})
            tokens = 0
        quotes.append(VenueQuote(route.kind, VenueKind(route.kind), spend, tokens))
    return quotes


def _refuse_unplanned(buying: Buying, buyback: Buyback, refusal: EmberError,
                      run: BuybackRun) -> bool:
    fields = {"buyback_id": str(buyback.id), "code": refusal.code, "detail": refusal.detail,
              "spend": buyback.spend}
    logger.warning("buyback_refused", extra=fields)
    if buying.dry_run:
        return False
    buying.store.record_refused(buyback, refusal.code, refusal.detail)
    run.refused.append((buyback.id, refusal.code))
    return False


def _buy(buying: Buying, buyback: Buyback, run: BuybackRun) -> bool:
    """True when the route bought; False when it refused (the hold is released)."""
    route = next((r for r in buying.routes if r.kind == buyback.venue), None)
    if route is None:  # e.g. the CEX route switched off after this buy was planned on it
        raise RuntimeError(f"no {buyback.venue} route for planned buy-back {buyback.id}")
    assert buyback.min_tokens_out is not None  # a planned buy-back always has its minimum
    try:
        purchase = route.buy(buyback.id, buyback.spend, buyback.min_tokens_out)
    except BuyRefused as refusal:
        buying.store.mark_refused(buyback.id, refusal.code, refusal.detail, buying.clock.now())
        run.refused.append((buyback.id, refusal.code))
        logger.warning("buyback_refused", extra={"buyback_id": str(buyback.id),
                                                 "code": refusal.code, "detail": refusal.detail})
        return False
    buying.store.mark_bought(buyback.id, purchase, buying.clock.now())
    run.bought.append(buyback.id)
    logger.info("buyback_bought", extra={"buyback_id": str(buyback.id), "venue": buyback.venue,
                                         "spend": buyback.spend,
                                         "tokens_received": str(purchase.tokens_received)})
    return True
