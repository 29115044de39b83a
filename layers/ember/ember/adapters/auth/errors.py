"""Errors of authentication (who is calling) and authorisation (may they do this)."""

from __future__ import annotations

from ember.domain.errors import EmberError


class AuthError(EmberError):
    """The caller is not authenticated: no token, or a token we do not accept."""

    code = "unauthorized"
    status = 401


class Forbidden(EmberError):
    """The caller is authenticated but lacks the role the operation needs."""

    code = "forbidden"
    status = 403


class AuthUnavailable(EmberError):
    """Tokens cannot be checked right now (the key set is unreachable): our fault, retryable."""

    code = "auth_unavailable"
    status = 503


AUTH_ERRORS: tuple[type[EmberError], ...] = (AuthError, Forbidden, AuthUnavailable)
