"""Players' bearer tokens checked by the API itself (Knative, local, or AWS without an
authorizer in front): signature, expiry, issuer, audience, subject, roles."""

from __future__ import annotations

import re
from typing import Any

import jwt
from jwt import PyJWK
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from .authorizer import COGNITO_GROUPS
from .errors import AuthError
from .jwks import JwksKeys
from .principal import Principal, principal_from_claims
from .verified_tokens import VerifiedTokens

MIN_HS256_SECRET_BYTES = 32
# Far above any real token (Cognito's are a few KiB); stops parsing megabytes per request.
MAX_TOKEN_CHARS = 16_384
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# Our own words for PyJWT's errors: theirs may quote parts of the token.
_DETAILS: tuple[tuple[type[PyJWTError], str], ...] = (
    (ExpiredSignatureError, "token expired"),
    (ImmatureSignatureError, "token not valid yet"),
    (InvalidAudienceError, "token has the wrong audience"),
    (InvalidIssuerError, "token has the wrong issuer"),
    (InvalidSignatureError, "token has a bad signature"),
    (InvalidAlgorithmError, "token algorithm not allowed"),
    (DecodeError, "malformed token"),
)


class TokenVerifier:
    """Turns an Authorization header into a Principal, with the algorithm pinned by how
    it is built: `jwks_url` means RS256 only, `hs256_secret` (local use) HS256 only."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        hs256_secret: str | None = None,
        groups_claim: str = COGNITO_GROUPS,
        leeway_s: int = 30,
        jwks_cache_s: int = 300,
        verified: VerifiedTokens | None = None,
    ) -> None:
        if (jwks_url is None) == (hs256_secret is None):
            raise ValueError("give exactly one of jwks_url (RS256) or hs256_secret (HS256)")
        _require_text(issuer=issuer, audience=audience, groups_claim=groups_claim)
        if leeway_s < 0 or jwks_cache_s <= 0:
            raise ValueError("leeway_s must be >= 0 and jwks_cache_s > 0")
        self._issuer = issuer
        self._audience = audience
        self._groups_claim = groups_claim
        self._leeway_s = leeway_s
        self._keys: bytes | JwksKeys
        if hs256_secret is not None:
            self._algorithm, self._keys = "HS256", _hs256_secret(hs256_secret)
        else:
            self._algorithm, self._keys = "RS256", JwksKeys(str(jwks_url), cache_s=jwks_cache_s)
        self._verified = verified or VerifiedTokens()

    def verify(self, authorization_header: str | None) -> Principal:
        """The caller named by a valid `Bearer <token>` header; AuthError otherwise,
        AuthUnavailable (503) when the issuer's keys cannot be fetched."""
        token = _bearer_token(authorization_header)
        known = self._verified.get(token)
        if known is not None:
            return known
        header = _unverified_header(token)
        if header.get("alg") != self._algorithm:
            # Checked before any key lookup, so a forged header costs no JWKS fetch.
            raise AuthError("token algorithm not allowed")
        claims = self._decode(token, self._key_for(header))
        self._check_audience(claims)
        principal = principal_from_claims(claims, groups_claim=self._groups_claim)
        self._verified.put(token, principal, claims["exp"])
        return principal

    def _key_for(self, header: dict[str, Any]) -> bytes | PyJWK:
        """The key that must have signed a token with this header."""
        if isinstance(self._keys, bytes):
            return self._keys
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token has no key id")
        return self._keys.signing_key(kid)

    def _decode(self, token: str, key: bytes | PyJWK) -> dict[str, Any]:
        """The token's claims once signature, exp, iss and sub are checked."""
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                issuer=self._issuer,
                leeway=self._leeway_s,
                # The audience is checked afterwards: Cognito access tokens carry
                # client_id instead of aud.
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim} claim") from None
        except PyJWTError as exc:
            raise AuthError(_detail(exc)) from None

    def _check_audience(self, claims: dict[str, Any]) -> None:
        """Returns when the token was issued for us; AuthError otherwise."""
        if "aud" in claims:
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            if self._audience in audiences:
                return
        elif claims.get("token_use") == "access" and claims.get("client_id") == self._audience:
            return
        raise AuthError("token has the wrong audience")


def _bearer_token(authorization_header: str | None) -> str:
    """The token of a `Bearer <token>` header; AuthError for anything else."""
    if authorization_header is None or not authorization_header.strip():
        raise AuthError("no bearer token")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError("authorization header must be 'Bearer <token>'")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS or not _COMPACT_JWS.fullmatch(token):
        raise AuthError("malformed token")
    return token


def _unverified_header(token: str) -> dict[str, Any]:
    """The token's JOSE header, only to choose a key: nothing in it is trusted yet."""
    try:
        return jwt.get_unverified_header(token)
    except PyJWTError:
        raise AuthError("malformed token") from None


def _detail(exc: PyJWTError) -> str:
    """Our wording for why PyJWT refused a token."""
    return next((text for kind, text in _DETAILS if isinstance(exc, kind)), "invalid token")


def _hs256_secret(secret: str) -> bytes:
    """The HS256 key; ValueError when shorter than RFC 7518's 256 bits."""
    key = secret.encode()
    if len(key) < MIN_HS256_SECRET_BYTES:
        raise ValueError(f"hs256_secret must be at least {MIN_HS256_SECRET_BYTES} bytes")
    return key


def _require_text(**settings: str) -> None:
    """Returns when every setting is a non-empty string; ValueError naming the first bad one."""
    for name, value in settings.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string")
