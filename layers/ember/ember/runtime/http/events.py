"""API Gateway REST proxy events (payload format 1.0) and a Lambda-like context."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .problems import Rejected
from .routes import RouteMatch

# A query string with more pairs than this is refused rather than parsed: no API route
# needs it, and parsing an unbounded number of fields is an easy way to burn CPU.
MAX_QUERY_FIELDS = 1000

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class HttpRequest:
    """One plain HTTP request, as the adapter read it off the wire."""

    method: str
    raw_path: str  # still percent-encoded, as API Gateway's REST `path` is
    query_string: str  # still percent-encoded, without the "?"
    headers: list[tuple[str, str]]  # in the order sent; a repeated header appears twice
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class LambdaContext:
    """What Chalice and Powertools read from Lambda's context object, for one request."""

    aws_request_id: str
    function_name: str
    deadline: float  # time.monotonic() when the invocation would time out
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""  # no Lambda, no ARN: empty rather than a made-up one
    memory_limit_in_mb: int = 0
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before this request's deadline, never negative."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def rest_event(
    request: HttpRequest,
    route: RouteMatch,
    *,
    request_id: str,
    received_at: float,
    stage: str,
    binary_types: Iterable[str],
) -> dict[str, Any]:
    """The REST proxy event API Gateway would hand the Lambda for `request` on `route`."""
    single_query, multi_query = query_parameters(request.query_string)
    content_type = _header(request.headers, "content-type")
    body, is_base64 = event_body(request.body, content_type, binary_types)
    user_agent = _header(request.headers, "user-agent")
    return {
        "resource": route.resource,
        "path": request.raw_path,
        "httpMethod": request.method,
        # The last value of a repeated header, as API Gateway's single-value view has it.
        "headers": dict(request.headers),
        "multiValueHeaders": _group(request.headers),
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": route.path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.resource,  # what Chalice routes on, not the top-level one
            "httpMethod": request.method,
            "path": request.raw_path,
            "stage": stage,
            "requestId": request_id,
            "requestTime": _request_time(received_at),
            "requestTimeEpoch": int(received_at * 1000),
            "protocol": request.protocol,
            "domainName": _header(request.headers, "host"),
            "identity": {"sourceIp": request.source_ip, "userAgent": user_agent},
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def query_parameters(
    query_string: str,
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Single-value (last one wins) and multi-value query parameters, decoded; None if none."""
    try:
        # "+" means a space here, as API Gateway decodes it; "?a" gives a = "".
        pairs = parse_qsl(
            query_string, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS
        )
    except UnicodeDecodeError:
        detail = "query string is not valid UTF-8 once decoded"
        raise Rejected(400, "bad_request", detail) from None
    except ValueError:
        detail = f"query string has over {MAX_QUERY_FIELDS} fields"
        raise Rejected(400, "bad_request", detail) from None
    if not pairs:
        return None, None
    return dict(pairs), _group(pairs)


def event_body(
    body: bytes, content_type: str | None, binary_types: Iterable[str]
) -> tuple[str | None, bool]:
    """The event's `body` and `isBase64Encoded` for raw request bytes."""
    if not body:
        return None, False
    # API Gateway base64-encodes the media types the API declares binary (Chalice declares
    # app.api.binary_types); anything else that isn't UTF-8 is encoded too, or bytes would
    # be lost on the way to the app.
    if not is_binary(content_type or "", binary_types):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def is_binary(content_type: str, binary_types: Iterable[str]) -> bool:
    """Whether a Content-Type (or Accept) header names one of `binary_types`, as Chalice matches."""
    declared = {t.lower() for t in binary_types}
    named = {part.strip() for part in re.split("[,;]", content_type.lower())}
    return "*/*" in declared or "*/*" in named or bool(declared & named)


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for n, v in headers if n.lower() == name), None)


def _request_time(epoch: float) -> str:
    # API Gateway's CLF time, e.g. "09/Apr/2015:12:34:56 +0000"; month names spelled out
    # here because strftime's %b follows the process locale.
    moment = datetime.fromtimestamp(epoch, UTC)
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"
