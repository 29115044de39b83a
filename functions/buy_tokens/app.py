"""Kafka (MSK) trigger on ember.commission, and a schedule: buy back the token with the
commission pool."""

from collections.abc import Mapping
from typing import Any

from ember.adapters.postgres.buybacks import PostgresBuybacks
from ember.domain.events import COMMISSION_TOPIC
from ember.runtime import metrics
from ember.runtime.bootstrap import Ember
from ember.runtime.consumers import kafka_handler, msk
from ember.runtime.consumers.registry import Consumer, consumers
from ember.runtime.entry import schedule_handler
from ember.services.buy_back import run_buybacks
from ember.services.outbox_relay import publish_after_commit


def commission_noted(conn, event) -> None:
    """Nothing to write with the inbox row: settlement already credited the commission pool."""


def buy_back(app: Ember) -> dict[str, object]:
    """After the batch: the buys that are due (chain and CEX work runs outside transactions)."""
    chain, store = app.chain, PostgresBuybacks(app.db)
    routes = [route for route in (chain.dex_route, chain.cex_route) if route is not None]
    run = run_buybacks(store=store, routes=routes, pool_price=chain.pool_price,
                       prices=chain.price_source,
                       controls=app.kill_switch,
                       policy=app.settings.buyback_policy, clock=app.clock,
                       dry_run=app.settings.buyback_dry_run)
    publish = publish_after_commit(outbox=app.outbox, publisher=app.publisher)
    if publish is not None:
        publish()  # tokens.bought now rather than at the relay's next sweep
    if run.bought:
        metrics.count(metrics.BUYBACKS, len(run.bought), result="bought")
    if run.refused:
        metrics.count(metrics.BUYBACKS, len(run.refused), result="refused")
    metrics.gauge(metrics.WALLET_GAS_BALANCE, chain.gas_balance())
    return run.summary()


on_commission = kafka_handler(consumer="buy_tokens", service=commission_noted, after=buy_back)
# The schedule buys a pool no settled round has topped up for the policy's max delay.
on_schedule = schedule_handler(buy_back)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """MSK batches of ember.commission (with the buys they make due), or the schedule's tick."""
    if isinstance(event, Mapping) and event.get("eventSource") in msk.EVENT_SOURCES:
        return on_commission(event, context)
    return on_schedule(event, context)


consumers.register(Consumer("buy_tokens", (COMMISSION_TOPIC,), handler))
