"""Tokens already verified by this process, kept until they expire.

A player sends the same bearer token with every request for its lifetime; verifying its
signature and claims once per process and then looking it up is what API Gateway's
authorizer cache does too. Keyed by the whole token string, so only that exact token hits;
an entry lives until the token's `exp` (no leeway on a hit) and at most `ttl_s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .principal import Principal


class VerifiedTokens:
    def __init__(self, *, max_entries: int = 10_000, ttl_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        if max_entries < 1 or ttl_s <= 0:
            raise ValueError("max_entries must be >= 1 and ttl_s > 0")
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        """The principal of `token` if it was verified here and has not expired since."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, until = entry
        if self._clock() >= until:
            self._entries.pop(token, None)
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        """Remembers a token just verified, until `expires_at` (its exp claim) or the TTL."""
        now = self._clock()
        until = min(float(expires_at), now + self._ttl_s)
        if until <= now:
            return
        if len(self._entries) >= self._max_entries:
            # Dicts keep insertion order: the oldest entry goes first.
            self._entries.pop(next(iter(self._entries)))
        self._entries[token] = (principal, until)
