"""HTTP replies from the dicts a Lambda proxy integration returns."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from .problems import Reply, internal_error

# The body Chalice itself returns (outside debug mode) when a view raised something other
# than a ChaliceViewError: it caught the exception and logged it, so we only reshape it.
_CHALICE_INTERNAL_ERROR = {
    "Code": "InternalServerError",
    "Message": "An internal server error occurred.",
}

# Headers a WSGI app may not set (PEP 3333; waitress refuses them) and the length, which
# is computed from the body we actually send, as API Gateway does.
_SERVER_OWNED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


class MalformedResponse(Exception):
    """The app returned something API Gateway would not accept as a proxy response."""


def from_lambda_response(response: Any) -> Reply:
    """The reply for a proxy response dict; raises MalformedResponse for anything else."""
    if not isinstance(response, Mapping):
        raise MalformedResponse(f"response is a {type(response).__name__}, not a dict")
    status = response.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode is not an HTTP status")
    reply = Reply(status, _headers(response), _body(response))
    if _is_chalice_internal_error(reply):
        return internal_error()
    if reply.header("content-type") is None:
        # API Gateway's default for a proxy response that names no type.
        reply.headers.append(("Content-Type", "application/json"))
    return reply


def _headers(response: Mapping[str, Any]) -> list[tuple[str, str]]:
    single = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedResponse("headers are not a mapping")
    # As API Gateway merges the two: a name in multiValueHeaders takes its values from there.
    multi_names = {str(name).lower() for name in multi}
    pairs = [(str(n), v) for n, v in single.items() if str(n).lower() not in multi_names]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("a multiValueHeaders entry is not a list")
        pairs.extend((str(name), value) for value in values)
    return [_checked(name, value) for name, value in pairs if name.lower() not in _SERVER_OWNED]


def _checked(name: str, value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        text = "true" if value else "false"  # as it reaches API Gateway, through JSON
    else:
        text = value if isinstance(value, str) else str(value)
    if any(c in name + text for c in "\r\n\0") or not name:
        raise MalformedResponse(f"header {name!r} would split the response")
    try:
        (name + text).encode("latin-1")
    except UnicodeEncodeError:
        raise MalformedResponse(f"header {name!r} is not latin-1") from None
    return name, text


def _body(response: Mapping[str, Any]) -> bytes:
    body = response.get("body")
    if body is None:
        return b""
    if not isinstance(body, str | bytes):
        raise MalformedResponse("body is not a string")
    if response.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResponse("body is not valid base64") from None
    return body.encode("utf-8") if isinstance(body, str) else body


def _is_chalice_internal_error(reply: Reply) -> bool:
    if reply.status != 500:
        return False
    # In debug mode Chalice answers with the traceback itself; it never leaves the process.
    if reply.body.startswith(b"Traceback (most recent call last)"):
        return True
    try:
        return bool(json.loads(reply.body) == _CHALICE_INTERNAL_ERROR)
    except ValueError:
        return False
