"""Kafka consumers: a Lambda handler for an MSK trigger, from a consumer name and an effect.

```python
# functions/burn/handler.py
from ember.runtime.consumers import kafka_handler
from ember.services.burn import burn_bought_tokens   # (conn, event: EventEnvelope) -> None

handler = kafka_handler(consumer="burn", service=burn_bought_tokens)
```
The adapter owns event parsing, schema validation, the inbox (exactly-once effects),
partial batch failures, dead letters and logging; the service owns the decision and runs in
the same transaction as the inbox row. Locally, `local_esm` delivers the same batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from ember.adapters.postgres.database import Database
from ember.runtime.settings import SettingsError

from ..bootstrap import Ember
from ..entry import current_app
from ..logging import SERVICE, new_correlation
from .batch import After, Effect, Outcome, process_batch
from .dead_letters import DeadLetters
from .registry import Consumer, Registry

LambdaHandler = Callable[[Any, Any], dict[str, Any]]

logger = Logger(service=SERVICE, child=True)

__all__ = ["After", "Consumer", "DeadLetters", "Effect", "LambdaHandler", "Outcome", "Registry",
           "batch_handler", "kafka_handler", "process_batch"]

# One per process, like the app: a warm Lambda container reuses the producer.
_dead_letters: DeadLetters | None = None


def kafka_handler(consumer: str, service: Effect,
                  after: Callable[[Ember], object] | None = None) -> LambdaHandler:
    """A Lambda handler `(event, context) -> {"batchItemFailures": [...]}` for an MSK trigger,
    wired to the process's application (built from the environment on first use).

    `after(app)`, when given, runs once the batch's records are handled, outside their
    transactions (see `process_batch`); when it raises, the batch is delivered again.
    """

    def handler(event: Any, context: Any) -> dict[str, Any]:
        app = current_app()  # configures logging first
        new_correlation(logger, getattr(context, "aws_request_id", None))
        return process_batch(event, consumer=consumer, effect=service, db=app.db,
                             dead_letters=_process_dead_letters(app),
                             max_attempts=app.settings.consumer_max_attempts,
                             after=(lambda: after(app)) if after is not None else None)

    handler.__name__ = f"{consumer}_handler"
    return handler


def batch_handler(consumer: str, service: Effect, *, db: Database, dead_letters: DeadLetters,
                  max_attempts: int = 3, after: After | None = None) -> LambdaHandler:
    """The same handler with its collaborators given (tests, the local stack)."""

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return process_batch(event, consumer=consumer, effect=service, db=db,
                             dead_letters=dead_letters, max_attempts=max_attempts, after=after)

    handler.__name__ = f"{consumer}_handler"
    return handler


def _process_dead_letters(app: Ember) -> DeadLetters:
    global _dead_letters
    if _dead_letters is None:
        from ember.adapters.kafka.config import client_config
        from ember.adapters.kafka.dead_letters import KafkaDeadLetters

        settings = app.settings
        if not settings.kafka_bootstrap_servers:
            raise SettingsError("invalid setting KAFKA_BOOTSTRAP_SERVERS: is required by Kafka consumers")
        _dead_letters = KafkaDeadLetters(client_config(
            settings.kafka_bootstrap_servers, settings.kafka_security, settings.aws_region))
    return _dead_letters
