"""Opaque pagination cursors: the (time, id) of the last item, base64url-encoded."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from ember.domain.errors import InvalidRequest

MAX_LIMIT = 100


def encode(moment: datetime, item_id: uuid.UUID) -> str:
    raw = json.dumps([moment.isoformat(), str(item_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The position a cursor names; InvalidRequest (code invalid_request) if it was tampered."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, item = json.loads(raw)
        return datetime.fromisoformat(moment), uuid.UUID(item)
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise InvalidRequest("cursor is not one this API issued", parameter="cursor") from None


def page_limit(raw: str | None, default: int = 20) -> int:
    if raw is None:
        return default
    # isdigit() alone lets "²" and 5000-digit strings through, and int() raises on both.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_LIMIT):
        raise InvalidRequest(f"limit must be an integer within 1..{MAX_LIMIT}", parameter="limit")
    return int(raw)
