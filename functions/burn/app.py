"""Kafka (MSK) trigger on ember.buybacks: burn the bought tokens and pay the dividend pool."""

from ember.adapters.postgres.burns import PostgresBurns
from ember.domain.events import BUYBACKS_TOPIC
from ember.runtime import metrics
from ember.runtime.bootstrap import Ember
from ember.runtime.consumers import kafka_handler
from ember.runtime.consumers.registry import Consumer, consumers
from ember.runtime.entry import current_app
from ember.services.burn import open_burn_for, run_burns
from ember.services.outbox_relay import publish_after_commit


def open_burn(conn, event) -> None:
    """In the inbox transaction: the pending burn of one tokens.bought, split by the setting."""
    app = current_app()
    open_burn_for(conn, event, burn_share_bps=app.settings.burn_share_bps, now=app.clock.now())


def burn_pending(app: Ember) -> dict[str, object]:
    """After the batch: every pending burn, sent to the chain and checked against its supply."""
    run = run_burns(store=PostgresBurns(app.db), actions=app.chain.token_actions,
                    controls=app.kill_switch,
                    clock=app.clock)
    publish = publish_after_commit(outbox=app.outbox, publisher=app.publisher)
    if publish is not None:
        publish()  # tokens.burned now rather than at the relay's next sweep
    if run.burned:
        metrics.count(metrics.TOKENS_BURNED, run.burned)
    if run.supply is not None:
        metrics.gauge(metrics.TOKEN_SUPPLY, run.supply)
    metrics.gauge(metrics.WALLET_GAS_BALANCE, app.chain.gas_balance())
    return run.summary()


handler = kafka_handler(consumer="burn", service=open_burn, after=burn_pending)
consumers.register(Consumer("burn", (BUYBACKS_TOPIC,), handler))
