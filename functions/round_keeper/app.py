"""Scheduled: open upcoming rounds, lock them, and resolve those due (EventBridge, PingSource)."""

from ember.runtime import metrics
from ember.runtime.bootstrap import Ember
from ember.runtime.entry import schedule_handler
from ember.services.keeper import run_keeper
from ember.services.outbox_relay import publish_after_commit


def keep_rounds(app: Ember) -> dict[str, int]:
    """Counts of the rounds this pass created, opened, locked and resolved."""
    run = run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock,
                     ahead=app.settings.rounds_ahead,
                     after_commit=publish_after_commit(outbox=app.outbox, publisher=app.publisher))
    for resolved, seconds in zip(run.resolved, run.settle_seconds, strict=True):
        metrics.count(metrics.ROUNDS_SETTLED, status=str(resolved.status))
        metrics.observe(metrics.SETTLEMENT_LATENCY, seconds)
        if resolved.commission:
            metrics.count(metrics.COMMISSION_ACCRUED, resolved.commission)
    return {"rounds_created": run.created, "rounds_opened": run.opened,
            "rounds_locked": run.locked, "rounds_resolved": len(run.resolved)}


handler = schedule_handler(keep_rounds)
