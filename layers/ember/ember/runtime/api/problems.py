"""Errors as RFC 9457 `application/problem+json`, with Ember's stable `code`."""

from __future__ import annotations

from chalice import Response

from ember.domain.errors import EmberError

from .json import dumps

PROBLEM = "application/problem+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
           415: "Unsupported Media Type", 422: "Unprocessable Content", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


def problem_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
                     **extra: object) -> Response:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status,
            "code": code, "detail": detail, **extra}
    return Response(body=dumps(body), status_code=status,
                    headers={"Content-Type": PROBLEM, **(headers or {})})


def from_error(error: EmberError) -> Response:
    """The problem response for a refused request; context values are safe to show."""
    headers = {"WWW-Authenticate": 'Bearer realm="ember"'} if error.status == 401 else {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    extra = {k: v for k, v in error.context.items() if isinstance(v, str | int | float | bool)}
    return problem_response(error.status, error.code, error.detail, headers, **extra)
