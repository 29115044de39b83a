"""JSON logs through Powertools Logger, ECS field names, a correlation id on every line.

One line per event, ready for Elasticsearch (ECS) and CloudWatch Logs Insights alike:
```json
{"@timestamp": "2030-01-01T12:00:00.123+00:00", "log.level": "info", "message": "bet_placed",
 "service.name": "ember", "labels.correlation_id": "5f0c…", "ecs.version": "8.11.0",
 "log.origin.function": "create_bet", "log.origin.file.line": 42,
 "ember": {"round_id": "…", "amount": 100}}
```
The event's own fields (`extra=`) sit under `ember`, so none collides with an ECS field
(`error`, `event`, `service`…); a logged exception fills `error.type`, `error.message` and
`error.stack_trace`; on Lambda the X-Ray trace id is `trace.id` and the invocation `faas.*`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from typing import IO, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "ember"
ECS_VERSION = "8.11.0"

# Powertools' own keys -> their ECS names; anything else a line carries is the event's own.
_ECS_NAMES = {
    "timestamp": "@timestamp",
    "level": "log.level",
    "message": "message",
    "service": "service.name",
    "correlation_id": "labels.correlation_id",
    "xray_trace_id": "trace.id",
    "exception": "error.stack_trace",
    "exception_name": "error.type",
    "exception_notes": "error.notes",
    "function_name": "faas.name",
    "function_arn": "faas.id",
    "function_request_id": "faas.execution",
    "function_memory_size": "faas.memory_mb",
    "cold_start": "faas.coldstart",
    "sampling_rate": "labels.sampling_rate",
}


class EcsFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, renamed to Elastic Common Schema fields."""

    def __init__(self, **options: Any) -> None:
        super().__init__(utc=True, use_rfc3339=True, serialize_stacktrace=False, **options)
        self._formatting = threading.local()  # the record serialize() is writing, per thread

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003 - logging's name
        self._formatting.record = record
        try:
            return super().format(record)
        finally:
            self._formatting.record = None

    def serialize(self, log: Mapping[str, Any]) -> str:  # type: ignore[override]
        """The ECS line for Powertools' structured log `log`."""
        line: dict[str, Any] = {}
        event_fields: dict[str, Any] = {}
        for key, value in log.items():
            if key == "location":
                line.update(_origin(value))
            elif key in _ECS_NAMES:
                line[_ECS_NAMES[key]] = value
            else:
                event_fields[key] = value
        line["log.level"] = str(line.get("log.level", "")).lower()
        line["ecs.version"] = ECS_VERSION
        record = getattr(self._formatting, "record", None)
        if record is not None and record.exc_info and record.exc_info[1] is not None:
            line["error.message"] = str(record.exc_info[1])
        if event_fields:
            line["ember"] = event_fields
        return self.json_serializer(line)


def _origin(location: Any) -> dict[str, Any]:
    # Powertools' location is "function:line".
    function, _, line = str(location).rpartition(":")
    origin: dict[str, Any] = {"log.origin.function": function or str(location)}
    if line.isdigit():
        origin["log.origin.file.line"] = int(line)
    return origin


def configure(level: str = "INFO", stream: IO[str] | None = None) -> Logger:
    """The process's root Ember logger; modules use `Logger(service="ember", child=True)`."""
    logger = Logger(service=SERVICE, level=level, stream=stream, logger_formatter=EcsFormatter())
    handler = logger.registered_handler
    # Child loggers pick their own level (INFO) at import and propagate past the root's
    # level check, so the level must also sit on the handler they write through.
    handler.setLevel(level)
    # Powertools keeps the first handler of a service for the whole process and configures
    # it once; a later configure() (tests, a CLI command after the app was built) must still
    # take effect, the ECS formatter included.
    if not isinstance(handler.formatter, EcsFormatter):
        handler.setFormatter(EcsFormatter())
    if stream is not None and isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)
    logger.set_correlation_id(str(uuid.uuid4()))
    return logger


def new_correlation(logger: Logger, correlation_id: str | None = None) -> str:
    """Start a new unit of work's correlation id (a request, a keeper pass)."""
    cid = correlation_id or str(uuid.uuid4())
    logger.set_correlation_id(cid)
    return cid
