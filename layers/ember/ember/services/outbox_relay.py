"""Use case: publish the outbox's events to the broker, oldest first, at least once.

```python
run = relay_outbox(outbox=app.outbox, publisher=app.publisher)   # the scheduled sweep
hook = publish_after_commit(outbox=app.outbox, publisher=app.publisher)
run_keeper(..., after_commit=hook)                                # a writer's own rows, at once
```
Writers publish right after their commit; the scheduled sweep publishes what they missed
(a crash between commit and publish, a broker outage). Consumers dedupe on the event id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from .ports import Outbox, Publisher, PublishFailed

logger = Logger(service="ember", child=True)

BATCH_SIZE = 500
MAX_BATCHES = 40  # a scheduled sweep stops after 20,000 events; the next one goes on
# A writer's hook publishes its own few rows (and whatever is ready with them); a backlog
# is the scheduled sweep's job, so the writer is never held up for long.
AFTER_COMMIT_BATCHES = 4


@dataclass
class RelayRun:
    published: int = 0
    batches: int = 0
    skipped: bool = False  # another relay was sweeping: it publishes what this one would have
    error: str | None = None  # why publishing stopped; the rows stay for the next sweep


def relay_outbox(*, outbox: Outbox, publisher: Publisher, batch_size: int = BATCH_SIZE,
                 max_batches: int = MAX_BATCHES) -> RelayRun:
    """What this sweep published: events and batches, and the publishing error that stopped it.

    Batch after batch until the outbox is empty, `max_batches` is reached, another relay
    holds the sweep, or the broker fails (reported, not raised). Database errors raise.
    """
    run = RelayRun()
    while run.batches < max_batches:
        try:
            published = outbox.publish_next(batch_size, publisher.publish)
        except PublishFailed as error:
            run.error = str(error)
            logger.warning("outbox_relay_failed", extra={"events_published": run.published,
                                                         "error": run.error})
            break
        if published is None:
            run.skipped = True
            break
        if published == 0:  # not "< batch_size": rows committed meanwhile go out in this sweep
            break
        run.batches += 1
        run.published += published
    logger.info("outbox_relayed", extra={"events_published": run.published, "batches": run.batches,
                                         "skipped": run.skipped, "failed": run.error is not None})
    return run


def publish_after_commit(*, outbox: Outbox, publisher: Publisher | None,
                         max_batches: int = AFTER_COMMIT_BATCHES) -> Callable[[], None] | None:
    """A hook for a writer to call once its transaction committed: a short sweep that never
    raises; None when there is no publisher (Kafka not configured)."""
    if publisher is None:
        return None

    def sweep() -> None:
        try:
            relay_outbox(outbox=outbox, publisher=publisher, max_batches=max_batches)
        except Exception:  # the change is committed; the scheduled sweep publishes it later
            logger.exception("publish_after_commit_failed")

    return sweep
