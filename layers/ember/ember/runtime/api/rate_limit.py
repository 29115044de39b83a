"""Per-player rate limits in Redis (the `limits` library); open when Redis is down.

A bet must never fail because a cache is unavailable: when Redis cannot be reached the
request is allowed, a warning is logged and `unavailable` is counted.
"""

from __future__ import annotations

import math
import time

from aws_lambda_powertools import Logger

from ember.domain.errors import EmberError

logger = Logger(service="ember", child=True)


class RateLimited(EmberError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests; retry later", retry_after=retry_after)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, redis_url: str | None, rate: str, *, password: str | None = None) -> None:
        """`password`: the Redis AUTH token when it is not in the URL (EMBER_REDIS_AUTH_SECRET_ID)."""
        from limits import parse
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        self.item = parse(rate)
        self.unavailable = 0
        self.limiter = None
        if redis_url:
            auth = {"password": password} if password else {}
            storage = storage_from_string(redis_url, socket_timeout=0.2,
                                          socket_connect_timeout=0.2, **auth)
            self.limiter = FixedWindowRateLimiter(storage)

    def check(self, scope: str, player_id: str) -> None:
        """Returns when the player may go on; RateLimited (429, Retry-After) otherwise."""
        if self.limiter is None:
            return
        try:
            allowed = self.limiter.hit(self.item, scope, player_id)
            if allowed:
                return
            reset_at = self.limiter.get_window_stats(self.item, scope, player_id).reset_time
        except Exception as error:  # any storage failure: fail open, never fail the bet
            self.unavailable += 1
            logger.warning("rate_limit_unavailable", extra={"error": type(error).__name__,
                                                            "unavailable_total": self.unavailable})
            return
        raise RateLimited(max(1, math.ceil(reset_at - time.time())))
