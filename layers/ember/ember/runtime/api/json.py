"""JSON in and out: datetimes as ISO 8601, UUIDs as strings, bodies parsed strictly."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from ember.domain.errors import EmberError

MAX_BODY = 64 * 1024


class InvalidJson(EmberError):
    code = "invalid_json"
    status = 400


class UnsupportedMediaType(EmberError):
    code = "unsupported_media_type"
    status = 415


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: object) -> str:
    return json.dumps(body, default=_default, separators=(",", ":"), sort_keys=True)


def parse_object(raw: bytes | None, content_type: str | None) -> dict[str, Any]:
    """The request body as a JSON object; InvalidJson (400) or 415 otherwise."""
    if content_type and not content_type.split(";")[0].strip().lower().endswith("json"):
        raise UnsupportedMediaType("send application/json")
    if not raw:
        raise InvalidJson("a JSON object body is required")
    if len(raw) > MAX_BODY:
        raise InvalidJson(f"body larger than {MAX_BODY} bytes")
    try:
        # Floats stay exact text → Decimal, so "amount": 1.0 is refused rather than rounded.
        body = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting exhausts the stack
        raise InvalidJson("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidJson("body must be a JSON object")
    return body
