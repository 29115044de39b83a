"""Replies in `application/problem+json` for requests the adapter answers itself."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

PROBLEM_JSON = "application/problem+json"

# Fixed titles rather than `HTTPStatus.phrase`, which changes between Python versions
# (413 is "Request Entity Too Large" in 3.11, "Content Too Large" in 3.13).
_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


@dataclass
class Reply:
    """An HTTP response ready for WSGI: status, header pairs and the whole body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)


class Rejected(Exception):
    """A request the adapter refuses before the app sees it (bad input, too large)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def problem(
    status: int,
    code: str,
    *,
    detail: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    """A problem+json reply with the stable `code` clients switch on."""
    document: dict[str, object] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
    }
    if detail is not None:
        document["detail"] = detail
    body = json.dumps(document, separators=(",", ":")).encode()
    return Reply(status, [("Content-Type", PROBLEM_JSON), *(headers or [])], body)


def rejected(error: Rejected) -> Reply:
    """The problem reply for a refused request; its detail names the rule, never the data."""
    return problem(error.status, error.code, detail=error.detail)


def not_found() -> Reply:
    """404: no route has this path."""
    return problem(404, "not_found")


def method_not_allowed(allowed: list[str]) -> Reply:
    """405: the path exists, the method doesn't; `Allow` lists the ones that do."""
    return problem(405, "method_not_allowed", headers=[("Allow", ", ".join(allowed))])


def internal_error() -> Reply:
    """500 that says nothing about the failure: the log has the traceback."""
    return problem(500, "internal_error")
