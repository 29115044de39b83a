"""Entry adapters: a scheduled event (EventBridge, Knative PingSource) runs one job.

```python
# functions/round_keeper/app.py
handler = schedule_handler(keep_rounds)   # keep_rounds(app) -> {"rounds_created": 2, ...}
```
The adapter owns the process's wired application, the correlation id and the logging; the
job owns the decision and returns a small summary of what it did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics
from .bootstrap import Ember, build
from .logging import SERVICE, configure, new_correlation
from .settings import load_settings

Job = Callable[[Ember], Mapping[str, Any]]
LambdaHandler = Callable[[Any, Any], dict[str, Any]]

logger = Logger(service=SERVICE, child=True)

# One per process: a warm Lambda container reuses the pool across invocations.
_app: Ember | None = None


def current_app() -> Ember:
    """The process's wired application, built from the environment on first use."""
    global _app
    if _app is None:
        settings = load_settings()
        configure(settings.log_level)  # first: child loggers write through it
        _app = build(settings)
    return _app


def close_app() -> None:
    """Closes the process's application; the next invocation builds a new one."""
    global _app
    if _app is not None:
        _app.close()
        _app = None


def schedule_handler(job: Job) -> LambdaHandler:
    """A Lambda handler `(event, context) -> dict` that runs `job` once per scheduled event."""
    name = getattr(job, "__name__", "job")

    def handler(event: Any, context: Any) -> dict[str, Any]:
        app = current_app()
        correlation_id = new_correlation(logger, _event_id(event))
        started = time.monotonic()
        try:
            summary = dict(job(app))
        except Exception:
            logger.exception("schedule_job_failed", extra={"job": name})
            metrics.count(metrics.ERRORS, source="schedule")
            raise  # the scheduler records the failure and retries
        # Nested: summary keys such as "created" would clash with LogRecord attributes.
        logger.info("schedule_job_done", extra={
            "job": name, "duration_ms": round((time.monotonic() - started) * 1000),
            "result": summary})
        return {"job": name, "correlation_id": correlation_id, "result": summary}

    return handler


def _event_id(event: Any) -> str | None:
    """The scheduler's id for this event (EventBridge `id`), to correlate logs with it."""
    if isinstance(event, Mapping) and isinstance(event.get("id"), str) and event["id"]:
        return event["id"]
    return None
