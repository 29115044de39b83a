"""RS256 public keys of the token issuer, fetched from its JWKS URL and cached."""

from __future__ import annotations

import threading
import time

from aws_lambda_powertools import Logger
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWKClientError, PyJWKSetError

from .errors import AuthError, AuthUnavailable

logger = Logger(service="ember", child=True)

# A request waits on this fetch; API Gateway gives up on the whole request at 29 s.
FETCH_TIMEOUT_S = 5.0
# Tokens with made-up key ids must not turn into one JWKS request each.
REFRESH_COOLDOWN_S = 30.0


class JwksKeys:
    """The issuer's signing keys by key id: cached, refetched for an unseen id at most
    once per REFRESH_COOLDOWN_S."""

    def __init__(self, url: str, *, cache_s: int) -> None:
        try:
            # cache_keys=False: PyJWT's per-key cache never expires, so a key the issuer
            # withdrew would stay trusted; the key-set cache below does expire.
            self._client = PyJWKClient(
                url, cache_keys=False, cache_jwk_set=True, lifespan=cache_s, timeout=FETCH_TIMEOUT_S
            )
        except PyJWKClientError as exc:
            raise ValueError(f"jwks_url: {exc}") from None
        self._url = url
        self._lock = threading.Lock()
        self._fetched_at: float | None = None

    def signing_key(self, kid: str) -> PyJWK:
        """The key with id `kid`; AuthError if the issuer has none, AuthUnavailable if the
        key set cannot be fetched."""
        key = _match(self._keys(refresh=False), kid)
        if key is None and self._may_refresh():
            key = _match(self._keys(refresh=True), kid)
        if key is None:
            raise AuthError("token signed with an unknown key id")
        return key

    def _may_refresh(self) -> bool:
        """True, at most once per cooldown, when an unseen key id justifies a refetch."""
        with self._lock:
            now = time.monotonic()
            if self._fetched_at is not None and now - self._fetched_at < REFRESH_COOLDOWN_S:
                return False
            # Stamped before fetching, so a failing endpoint is not retried per request.
            self._fetched_at = now
            return True

    def _keys(self, *, refresh: bool) -> list[PyJWK]:
        """The signing keys (cached unless `refresh`); AuthUnavailable when unreachable."""
        try:
            keys = self._client.get_signing_keys(refresh=refresh)
        except (PyJWKClientError, PyJWKSetError, ValueError) as exc:
            # Unreachable, not JSON, or no usable key: the issuer's side or ours, never the
            # caller's, so 503 and not 401.
            logger.warning(
                "jwks_unavailable", extra={"jwks_url": self._url, "reason": type(exc).__name__}
            )
            raise AuthUnavailable("token keys are unavailable; retry later") from exc
        with self._lock:
            if self._fetched_at is None:
                # The first fetch starts the cooldown too: the set it got is fresh.
                self._fetched_at = time.monotonic()
        return keys


def _match(keys: list[PyJWK], kid: str) -> PyJWK | None:
    """The key whose id is `kid`, if any."""
    return next((key for key in keys if key.key_id == kid), None)
