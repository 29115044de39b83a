"""What the API's views share, built once per process (a Lambda container, a worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalice.app import Request

from ember.adapters.auth import Principal, principal_from_authorizer
from ember.adapters.auth.errors import AuthError
from ember.adapters.postgres.protection import PostgresProtection
from ember.adapters.postgres.read_models import ReadModels
from ember.runtime.bootstrap import Ember, build
from ember.runtime.logging import configure
from ember.runtime.settings import Settings, load_settings

from .rate_limit import RateLimiter

Authenticate = Callable[[Request], Principal]


@dataclass
class ApiContext:
    ember: Ember
    reads: ReadModels
    protection: PostgresProtection
    authenticate: Authenticate
    limiter: RateLimiter
    webhook_secret: str | None


_current: ApiContext | None = None


def current() -> ApiContext:
    """The process's API context, built from the environment on first use."""
    global _current
    if _current is None:
        settings = load_settings()
        configure(settings.log_level)
        _current = api_context(build(settings))
    return _current


def use(context: ApiContext | None) -> None:
    """Install a context (tests, the local server); None forgets it."""
    global _current
    _current = context


def api_context(ember: Ember) -> ApiContext:
    settings = ember.settings
    return ApiContext(
        ember=ember, reads=ember.reads, protection=ember.protection,
        authenticate=authenticator(settings),
        limiter=rate_limiter(ember),
        webhook_secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret
        else None,
    )


def rate_limiter(ember: Ember) -> RateLimiter:
    """The bet rate limiter on REDIS_URL, with the AUTH token EMBER_REDIS_AUTH_SECRET_ID names."""
    settings, password = ember.settings, ember.redis_password
    return RateLimiter(settings.redis_url, settings.bet_rate_limit,
                       password=password.get_secret_value() if password else None)


def authenticator(settings: Settings) -> Authenticate:
    """How a request's caller is known: the AWS authorizer's claims, or the token itself."""
    if settings.auth_mode == "authorizer":
        def from_authorizer(request: Request) -> Principal:
            principal = principal_from_authorizer(request.context)
            if principal is None:
                raise AuthError("no authorizer ran for this request")
            return principal
        return from_authorizer
    from ember.adapters.auth import TokenVerifier

    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    verifier = TokenVerifier(issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             jwks_url=settings.jwks_url if settings.auth_mode == "jwks" else None,
                             hs256_secret=secret if settings.auth_mode == "hs256" else None)
    return lambda request: verifier.verify(request.headers.get("authorization"))
