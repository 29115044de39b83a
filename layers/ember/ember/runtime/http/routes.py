"""Which Chalice route a request path names, picked the way API Gateway picks a resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .problems import Rejected


@dataclass(frozen=True)
class RouteMatch:
    """The route a path matched: its pattern, decoded path parameters and its views."""

    resource: str  # the pattern as registered, e.g. "/v1/rounds/{round_id}"
    path_parameters: dict[str, str] | None  # None when the pattern has none, as API Gateway
    views: Mapping[str, Any]  # HTTP method -> Chalice RouteEntry


@dataclass(frozen=True)
class _Pattern:
    resource: str
    parts: tuple[str, ...]
    views: Mapping[str, Any]

    @property
    def rank(self) -> tuple[bool, ...]:
        # API Gateway prefers a literal segment to a parameter at the same position, so
        # /v1/rounds/current wins over /v1/rounds/{round_id}.
        return tuple(not _is_parameter(part) for part in self.parts)

    def bind(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for part, segment in zip(self.parts, segments, strict=True):
            if _is_parameter(part):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


class RouteTable:
    """The app's routes, as they were when the table was built."""

    def __init__(self, routes: Mapping[str, Mapping[str, Any]]) -> None:
        patterns = [_Pattern(path, _split(path), views) for path, views in routes.items()]
        self._by_length: dict[int, list[_Pattern]] = {}
        for pattern in sorted(patterns, key=lambda p: p.rank, reverse=True):
            self._by_length.setdefault(len(pattern.parts), []).append(pattern)

    def match(self, raw_path: str) -> RouteMatch | None:
        """The route for a still percent-encoded path, or None when no route has it."""
        segments = tuple(_decode(segment) for segment in _split(raw_path))
        for pattern in self._by_length.get(len(segments), []):
            params = pattern.bind(segments)
            if params is not None:
                return RouteMatch(pattern.resource, params or None, pattern.views)
        return None


def _split(path: str) -> tuple[str, ...]:
    # API Gateway ignores one trailing slash; the root has no segments at all.
    path = path.removeprefix("/").removesuffix("/")
    return tuple(path.split("/")) if path else ()


def _decode(segment: str) -> str:
    # Split first, decode second: an encoded slash (%2F) stays inside its parameter.
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise Rejected(400, "bad_request", "path is not valid UTF-8 once decoded") from None


def _is_parameter(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")
