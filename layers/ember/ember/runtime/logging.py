"""JSON logs through Powertools Logger, with a correlation id on every line."""

from __future__ import annotations

import logging
import uuid
from typing import IO

from aws_lambda_powertools import Logger

SERVICE = "ember"


def configure(level: str = "INFO", stream: IO[str] | None = None) -> Logger:
    """The process's root Ember logger; modules use `Logger(service="ember", child=True)`."""
    logger = Logger(service=SERVICE, level=level, stream=stream)
    # Child loggers pick their own level (INFO) at import and propagate past the root's
    # level check, so the level must also sit on the handler they write through.
    logger.registered_handler.setLevel(level)
    # Powertools keeps the first handler of a service for the whole process; a later
    # configure() (tests, a CLI command after the app was built) must still take effect.
    if stream is not None and isinstance(logger.registered_handler, logging.StreamHandler):
        logger.registered_handler.setStream(stream)
    logger.set_correlation_id(str(uuid.uuid4()))
    return logger


def new_correlation(logger: Logger, correlation_id: str | None = None) -> str:
    """Start a new unit of work's correlation id (a request, a keeper pass)."""
    cid = correlation_id or str(uuid.uuid4())
    logger.set_correlation_id(cid)
    return cid
