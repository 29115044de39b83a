"""Knative event sinks: KafkaSource and PingSource CloudEvents into the same Lambda handlers.

```python
sinks = EventSinks(consumers={"burn": burn.handler}, default=round_keeper.handler)
wsgi_app = make_wsgi_app(chalice_app_or_None, sinks=sinks)
```
- `POST /kafka/<consumer>`: a KafkaSource record for that consumer's handler;
- `POST /schedule/<name>`: a PingSource tick for that schedule handler;
- a CloudEvent POSTed to any other path goes to `default` (`EMBER_HANDLER`).

A Kafka record is answered 200 once handled (processed, a duplicate, or dead-lettered by the
consumer framework) and 500 while the handler reports it in `batchItemFailures`, so
KafkaSource delivers it again; the framework counts the attempts and dead-letters it at
`EMBER_CONSUMER_MAX_ATTEMPTS`, so give KafkaSource at least that many deliveries
(`delivery.retry` >= attempts - 1) and its own deadLetterSink for what still fails.

Serve sinks on cluster-local Knative Services only: whoever can POST here can feed a consumer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from ..logging import SERVICE
from . import cloudevents
from .cloudevents import CloudEvent
from .problems import Rejected, Reply, problem

LambdaHandler = Callable[[Any, Any], Any]

logger = Logger(service=SERVICE, child=True)

_PREFIXES = {"kafka": cloudevents.KAFKA_EVENT, "schedule": cloudevents.PING_EVENT}


@dataclass(frozen=True)
class EventSinks:
    """The handlers CloudEvents are delivered to."""

    consumers: Mapping[str, LambdaHandler] = field(default_factory=dict)
    schedules: Mapping[str, LambdaHandler] = field(default_factory=dict)
    default: LambdaHandler | None = None

    def handler_for(self, path: str, event: CloudEvent) -> LambdaHandler:
        """The handler `event` at `path` goes to; Rejected when there is none."""
        kind, _, name = path.strip("/").partition("/")
        if kind in _PREFIXES and name:
            if event.type != _PREFIXES[kind]:
                raise Rejected(400, "unsupported_event", f"{path} takes {_PREFIXES[kind]} events")
            handlers = self.consumers if kind == "kafka" else self.schedules
            if name not in handlers:
                raise Rejected(404, "not_found", f"no {kind} handler {name!r}")
            return handlers[name]
        if self.default is None:
            raise Rejected(404, "not_found", "no handler for CloudEvents at this path")
        return self.default

    def claims(self, path: str, has_cloud_event: bool) -> bool:
        """Whether a POST to `path` is an event delivery rather than an API request."""
        return has_cloud_event or path.strip("/").partition("/")[0] in _PREFIXES


def deliver(sinks: EventSinks, path: str, headers: list[tuple[str, str]], body: bytes,
            invoke: Callable[[LambdaHandler, dict[str, Any]], Any]) -> Reply:
    """The reply to one CloudEvent delivery; `invoke(handler, event)` runs the handler."""
    event = cloudevents.read(headers, body)
    if event is None:
        raise Rejected(400, "bad_request", "not a CloudEvent (ce-specversion and ce-type)")
    handler = sinks.handler_for(path, event)
    if event.type == cloudevents.KAFKA_EVENT:
        response = invoke(handler, cloudevents.msk_event(event))
        failures = (response or {}).get("batchItemFailures") if isinstance(response, Mapping) else None
        if failures:
            logger.warning("kafka_event_not_done", extra={
                "ce_source": event.attributes.get("source"),
                "ce_subject": event.attributes.get("subject")})
            return problem(500, "record_failed", detail="delivered again until its attempts are used")
        return _json(200, response or {"batchItemFailures": []})
    if event.type == cloudevents.PING_EVENT:
        return _json(200, invoke(handler, cloudevents.scheduled_event(event)))
    raise Rejected(400, "unsupported_event", f"event type {event.type!r} has no handler here")


def from_settings(consumer_modules: str, handler: str) -> EventSinks:
    """The sinks for `EMBER_CONSUMER_MODULES` (registered consumers) and `EMBER_HANDLER`."""
    from ..consumers import registry

    consumers = registry.load(consumer_modules) if consumer_modules else registry.consumers
    return EventSinks(consumers={name: consumers.get(name).handler for name in consumers},
                      default=load_handler(handler) if handler else None)


def load_handler(spec: str) -> LambdaHandler:
    """The handler `spec` names: `functions/burn/app.py` or `package.module`, with an optional
    `:attribute` (default `handler`), as Lambda's handler setting names one."""
    import importlib
    import importlib.util
    import sys

    target, _, attribute = spec.partition(":")
    if target.endswith(".py"):
        path = Path(target).resolve()
        name = f"ember_function_{path.parent.name}"  # as the consumer registry imports it
        module = sys.modules.get(name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ImportError(f"cannot import handler module {path}")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    handler: LambdaHandler = getattr(module, attribute or "handler")
    return handler


def _json(status: int, document: Any) -> Reply:
    body = json.dumps(document, separators=(",", ":"), default=str).encode()
    return Reply(status, [("Content-Type", "application/json")], body)
