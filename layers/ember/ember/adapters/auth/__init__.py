"""Who is calling the API: bearer tokens verified here, or claims API Gateway verified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .authorizer import principal_from_authorizer
from .errors import AUTH_ERRORS, AuthError, AuthUnavailable, Forbidden
from .principal import ROLES, Principal, roles_from_groups

if TYPE_CHECKING:
    from .jwt_verifier import TokenVerifier

__all__ = [
    "AUTH_ERRORS",
    "ROLES",
    "AuthError",
    "AuthUnavailable",
    "Forbidden",
    "Principal",
    "TokenVerifier",
    "principal_from_authorizer",
    "roles_from_groups",
]


def __getattr__(name: str) -> object:
    """TokenVerifier, imported on first use: PyJWT and cryptography cost ~0.2 s of cold
    start that a Lambda behind API Gateway's authorizer never needs."""
    if name == "TokenVerifier":
        from .jwt_verifier import TokenVerifier

        return TokenVerifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
