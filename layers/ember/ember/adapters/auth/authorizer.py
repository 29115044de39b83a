"""The caller as API Gateway's authorizer already verified them (AWS only)."""

from __future__ import annotations

from collections.abc import Mapping

from .principal import Principal, principal_from_claims

COGNITO_GROUPS = "cognito:groups"


def principal_from_authorizer(
    request_context: Mapping[str, object], *, groups_claim: str = COGNITO_GROUPS
) -> Principal | None:
    """The Principal from the authorizer's claims, or None when no authorizer ran.

    Trust this only behind API Gateway: elsewhere whoever builds the event builds the
    request context too. Claims without a subject raise AuthError rather than return
    None, so a misconfigured authorizer cannot pass for "no authorizer, check the token".
    """
    claims = _authorizer_claims(request_context)
    if claims is None:
        return None
    return principal_from_claims(claims, groups_claim=groups_claim)


def _authorizer_claims(request_context: Mapping[str, object]) -> dict[str, object] | None:
    """The verified claims a Cognito (REST API) or JWT (HTTP API) authorizer left, if any."""
    authorizer = request_context.get("authorizer")
    if not isinstance(authorizer, Mapping):
        return None
    claims = authorizer.get("claims")  # REST API, Cognito user-pool authorizer
    if claims is None and isinstance(authorizer.get("jwt"), Mapping):
        claims = authorizer["jwt"].get("claims")  # HTTP API, JWT authorizer
    if not isinstance(claims, Mapping) or not claims:
        return None
    return dict(claims)
