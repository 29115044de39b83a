"""HttpRequest from a WSGI environ: the path as sent, headers, and a bounded body."""

from __future__ import annotations

from typing import IO
from urllib.parse import quote, unquote, urlsplit
from wsgiref.types import WSGIEnvironment

from .events import HttpRequest
from .problems import Rejected

# Characters RFC 3986 allows unencoded in a path segment, plus "/" between segments.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_READ_CHUNK = 64 * 1024


def read_request(environ: WSGIEnvironment, raw_path: str, max_body_bytes: int) -> HttpRequest:
    """The request in `environ`; raises Rejected when its body is unreadable or too large."""
    return HttpRequest(
        method=environ["REQUEST_METHOD"].upper(),
        raw_path=raw_path,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers(environ),
        body=read_body(environ, max_body_bytes),
        source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
        protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.1",
    )


def raw_path(environ: WSGIEnvironment) -> str:
    """The request path still percent-encoded, so an encoded "/" stays inside its segment."""
    try:
        # PEP 3333: PATH_INFO holds the decoded bytes, one latin-1 character per byte.
        decoded = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise Rejected(400, "bad_request", "path is not valid UTF-8 once decoded") from None
    # waitress (and gunicorn) also pass the request line's target undecoded; trust it only
    # when it decodes to PATH_INFO, so a URL prefix or a rewrite never routes differently.
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if target:
        sent = urlsplit(target).path
        if unquote(sent, errors="replace") == decoded:
            return sent
    return quote(decoded, safe=_PATH_SAFE)


def headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """Request headers as (Name, value); WSGI lost the sent casing, so names are Title-Cased."""
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            key = key[5:]
        elif key not in ("CONTENT_TYPE", "CONTENT_LENGTH") or not value:
            # A server may put empty CONTENT_TYPE/CONTENT_LENGTH in; nobody sent those.
            continue
        name = "-".join(word.capitalize() for word in key.split("_"))
        pairs.append((name, _text(value)))
    return pairs


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The whole request body, at most `limit` bytes; raises Rejected otherwise."""
    stream = environ.get("wsgi.input")
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not declared.isdigit():
            raise Rejected(400, "bad_request", "Content-Length is not a byte count")
        length = int(declared)
        if length > limit:
            raise Rejected(413, "payload_too_large", f"request body is over {limit} bytes")
        body = _read(stream, length)
        if len(body) < length:
            raise Rejected(400, "bad_request", "request body ended before Content-Length")
        return body
    if environ.get("wsgi.input_terminated"):
        # A chunked body the server already framed: read to its end, one byte past the limit.
        body = _read(stream, limit + 1)
        if len(body) > limit:
            raise Rejected(413, "payload_too_large", f"request body is over {limit} bytes")
        return body
    return b""  # PEP 3333: without a length, the app must not read


def _read(stream: IO[bytes] | None, size: int) -> bytes:
    if stream is None or size == 0:
        return b""
    chunks: list[bytes] = []
    remaining = size
    try:
        while remaining > 0:
            chunk = stream.read(min(remaining, _READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except (OSError, ValueError):
        # A client that hung up or sent a broken chunk: its request, its 400.
        raise Rejected(400, "bad_request", "request body could not be read") from None
    return b"".join(chunks)


def _text(value: str) -> str:
    # Header values arrive as latin-1 per PEP 3333; most clients actually sent UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value
