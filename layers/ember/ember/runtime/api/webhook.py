"""The payment provider's webhook signature: HMAC-SHA256 over `timestamp.body`.

Header `Ember-Signature: t=<unix seconds>,v1=<hex digest>`; the digest is
HMAC-SHA256(secret, f"{t}.".encode() + raw_body). A signature older or newer than five
minutes is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from ember.domain.errors import EmberError

TOLERANCE_S = 300
HEADER = "Ember-Signature"


class InvalidSignature(EmberError):
    code = "invalid_signature"
    status = 401


class SignatureExpired(EmberError):
    code = "signature_expired"
    status = 401


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a provider sends for this body at this time."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str | None, body: bytes, now: datetime) -> None:
    """Returns when the signature is valid and fresh; raises InvalidSignature or SignatureExpired."""
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    # ASCII and bounded: int() raises on "²" or 5000 digits, compare_digest on non-ASCII text.
    well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15
    if not well_formed or not given or not given.isascii():
        raise InvalidSignature(f"missing or malformed {HEADER} header")
    expected = sign(secret, int(timestamp), body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature("signature does not match the body")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_S:
        raise SignatureExpired("signature timestamp outside the 5 minute window")
