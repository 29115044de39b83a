"""Bearer tokens in HS256 (local) mode, roles from groups, and API Gateway's claims."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ember.adapters.auth import (
    ROLES,
    AuthError,
    Forbidden,
    Principal,
    TokenVerifier,
    principal_from_authorizer,
    roles_from_groups,
)

SECRET = "local-dev-secret-that-is-32-bytes-or-more"
ISSUER = "https://issuer.example/local"
AUDIENCE = "ember-api"


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, hs256_secret=SECRET)


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": "player-7",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 300,
        "cognito:groups": ["player", "finance"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, object], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def token(**overrides: object) -> str:
    return signed(claims(**overrides))


def bearer(raw: str) -> str:
    return f"Bearer {raw}"


def b64url(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def refusal(verifier: TokenVerifier, header: str | None) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(header)
    assert caught.value.status == 401 and caught.value.code == "unauthorized"
    return caught.value.detail


def test_valid_token_gives_the_subject_and_its_known_roles(verifier):
    principal = verifier.verify(bearer(token()))
    assert principal == Principal(subject="player-7", roles=frozenset({"player", "finance"}))


def test_bearer_scheme_is_case_insensitive_and_whitespace_tolerant(verifier):
    assert verifier.verify(f"  bearer   {token()}  ").subject == "player-7"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_is_refused(verifier, header):
    assert refusal(verifier, header) == "no bearer token"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc.def.ghi", "Bearer"])
def test_other_schemes_are_refused(verifier, header):
    detail = refusal(verifier, header)
    assert detail in {"authorization header must be 'Bearer <token>'", "malformed token"}


@pytest.mark.parametrize(
    "raw",
    [
        "garbage",
        "a.b",
        "a.b.c.d",
        "a b.c.d",
        "x" * 20_000,
        "e30.e30.!!",
        f"{b64url({'alg': 'HS256'})}.%%%.sig",
    ],
)
def test_garbage_tokens_are_malformed(verifier, raw):
    assert refusal(verifier, bearer(raw)) == "malformed token"


def test_undecodable_segments_are_malformed(verifier):
    assert refusal(verifier, bearer("bm90IGpzb24.e30.c2ln")) == "malformed token"


def test_expired_token_is_refused(verifier):
    assert refusal(verifier, bearer(token(exp=int(time.time()) - 120))) == "token expired"


def test_expiry_within_leeway_is_accepted(verifier):
    assert verifier.verify(bearer(token(exp=int(time.time()) - 5))).subject == "player-7"


def test_token_without_exp_is_refused(verifier):
    assert refusal(verifier, bearer(token(exp=None))) == "token lacks the exp claim"


def test_wrong_audience_is_refused(verifier):
    assert refusal(verifier, bearer(token(aud="someone-else"))) == "token has the wrong audience"


def test_missing_audience_is_refused(verifier):
    assert refusal(verifier, bearer(token(aud=None))) == "token has the wrong audience"


def test_audience_list_containing_ours_is_accepted(verifier):
    assert verifier.verify(bearer(token(aud=["other", AUDIENCE]))).subject == "player-7"


def test_cognito_access_token_matches_on_client_id(verifier):
    raw = token(aud=None, token_use="access", client_id=AUDIENCE)
    assert verifier.verify(bearer(raw)).subject == "player-7"


def test_client_id_counts_only_for_access_tokens(verifier):
    raw = token(aud=None, token_use="id", client_id=AUDIENCE)
    assert refusal(verifier, bearer(raw)) == "token has the wrong audience"


def test_client_id_does_not_override_a_wrong_aud(verifier):
    raw = token(aud="other", token_use="access", client_id=AUDIENCE)
    assert refusal(verifier, bearer(raw)) == "token has the wrong audience"


def test_wrong_issuer_is_refused(verifier):
    raw = token(iss="https://evil.example")
    assert refusal(verifier, bearer(raw)) == "token has the wrong issuer"


def test_missing_subject_is_refused(verifier):
    assert refusal(verifier, bearer(token(sub=None))) == "token lacks the sub claim"


@pytest.mark.parametrize("sub", ["", "   "])
def test_empty_subject_is_refused(verifier, sub):
    assert refusal(verifier, bearer(token(sub=sub))) == "token has no subject"


def test_other_secret_is_a_bad_signature(verifier):
    raw = signed(claims(), secret="another-secret-also-at-least-32-bytes!!")
    assert refusal(verifier, bearer(raw)) == "token has a bad signature"


def test_tampered_payload_is_a_bad_signature(verifier):
    header, _, signature = token().split(".")
    forged = f"{header}.{b64url(claims(sub='admin'))}.{signature}"
    assert refusal(verifier, bearer(forged)) == "token has a bad signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_token_is_refused(verifier, alg):
    unsigned = f"{b64url({'alg': alg, 'typ': 'JWT'})}.{b64url(claims())}."
    assert refusal(verifier, bearer(unsigned)) == "token algorithm not allowed"


def test_rs256_token_is_refused_by_an_hs256_verifier(verifier):
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw = jwt.encode(claims(), private_key, algorithm="RS256")
    assert refusal(verifier, bearer(raw)) == "token algorithm not allowed"


def test_hs512_token_is_refused_by_an_hs256_verifier(verifier):
    raw = jwt.encode(claims(), SECRET * 2, algorithm="HS512")
    assert refusal(verifier, bearer(raw)) == "token algorithm not allowed"


def test_token_issued_in_the_future_is_refused(verifier):
    assert refusal(verifier, bearer(token(iat=int(time.time()) + 3600))) == "token not valid yet"


def test_refusals_never_contain_the_token(verifier):
    cases = [
        token(exp=int(time.time()) - 120),
        token(aud="x"),
        token(iss="x"),
        token(sub=None),
        signed(claims(), secret="another-secret-also-at-least-32-bytes!!"),
        "garbage-token-text",
        f"{b64url({'alg': 'none'})}.{b64url(claims())}.",
    ]
    for raw in cases:
        with pytest.raises(AuthError) as caught:
            verifier.verify(bearer(raw))
        error = caught.value
        shown = " ".join([str(error), error.detail, repr(error.context), repr(error)])
        for part in [raw, *[p for p in raw.split(".") if len(p) > 8]]:
            assert part not in shown
        # Nothing from PyJWT rides along to a traceback either.
        assert error.__cause__ is None
        assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        (["player", "finance"], {"player", "finance"}),
        ("player,finance", {"player", "finance"}),
        ("player finance", {"player", "finance"}),
        ("[player finance]", {"player", "finance"}),
        ("[operator]", {"operator"}),
        (" player , operator ", {"player", "operator"}),
        (["player", "admins", 7, None], {"player"}),
        ("admins,Player", set()),
        ("", set()),
        ([], set()),
        (None, set()),
        ({"player": True}, set()),
    ],
)
def test_groups_claim_variants(groups, roles):
    assert roles_from_groups(groups) == frozenset(roles)


def test_token_without_known_groups_has_no_roles(verifier):
    principal = verifier.verify(bearer(signed(claims(**{"cognito:groups": ["admins"]}))))
    assert principal.roles == frozenset()
    with pytest.raises(Forbidden):
        principal.require("player")


def test_groups_claim_name_is_configurable():
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, hs256_secret=SECRET, groups_claim="groups"
    )
    raw = signed(claims(**{"groups": "operator", "cognito:groups": ["player"]}))
    assert verifier.verify(bearer(raw)).roles == frozenset({"operator"})


def test_require_passes_with_the_role_and_forbids_without():
    principal = Principal(subject="p", roles=frozenset({"player"}))
    principal.require("player")
    with pytest.raises(Forbidden) as caught:
        principal.require("finance")
    assert caught.value.status == 403 and caught.value.code == "forbidden"


def test_require_of_an_unknown_role_is_a_programming_error():
    with pytest.raises(ValueError):
        Principal(subject="p", roles=ROLES).require("admin")


def rest_context(claims: dict[str, object]) -> dict[str, object]:
    return {"requestId": "r-1", "authorizer": {"claims": claims}}


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        ("player,finance", {"player", "finance"}),
        ("[player finance]", {"player", "finance"}),
        ("player", {"player"}),
        (None, set()),
    ],
)
def test_authorizer_claims_become_a_principal(groups, roles):
    authorizer_claims: dict[str, object] = {"sub": "abc-123", "token_use": "id"}
    if groups is not None:
        authorizer_claims["cognito:groups"] = groups
    principal = principal_from_authorizer(rest_context(authorizer_claims))
    assert principal == Principal(subject="abc-123", roles=frozenset(roles))


def test_http_api_jwt_authorizer_claims_become_a_principal():
    context = {
        "authorizer": {
            "jwt": {"claims": {"sub": "abc", "cognito:groups": "[operator]"}, "scopes": None}
        }
    }
    assert principal_from_authorizer(context) == Principal("abc", frozenset({"operator"}))


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"authorizer": None},
        {"authorizer": {}},
        {"authorizer": {"claims": {}}},
        {"authorizer": {"principalId": "lambda-authorizer-user"}},
        {"authorizer": "not a mapping"},
    ],
)
def test_no_authorizer_claims_gives_none(context):
    assert principal_from_authorizer(context) is None


def test_authorizer_claims_without_subject_are_refused():
    with pytest.raises(AuthError):
        principal_from_authorizer(rest_context({"cognito:groups": "player"}))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"hs256_secret": SECRET, "jwks_url": "https://issuer.example/jwks.json"},
        {"hs256_secret": "too-short"},
        {"hs256_secret": SECRET, "leeway_s": -1},
        {"jwks_url": "file:///etc/passwd"},
    ],
)
def test_bad_configuration_fails_at_construction(kwargs):
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE, **kwargs)


@pytest.mark.parametrize("setting", ["issuer", "audience"])
def test_empty_issuer_or_audience_fails_at_construction(setting):
    kwargs: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "hs256_secret": SECRET,
        setting: "",
    }
    with pytest.raises(ValueError, match=setting):
        TokenVerifier(**kwargs)


def test_a_subject_that_cannot_be_a_player_id_is_refused():
    from ember.adapters.auth import AuthError
    from ember.adapters.auth.principal import principal_from_claims

    for bad in ("a\x00b", "x" * 129, "player:alice", "tab\there"):
        try:
            principal_from_claims({"sub": bad}, groups_claim="cognito:groups")
        except AuthError:
            continue
        raise AssertionError(f"accepted {bad!r}")


# --- verified-token cache: a token is verified once per process, never past its expiry ---

class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_is_refused_once_it_expires():
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, hs256_secret=SECRET, leeway_s=0)
    expires = int(time.time()) + 1
    raw = token(exp=expires)
    assert verifier.verify(bearer(raw)).subject == "player-7"
    assert verifier.verify(bearer(raw)).subject == "player-7"  # now from the cache
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    assert "expired" in refusal(verifier, bearer(raw))


def test_the_cache_only_answers_for_the_exact_token(verifier):
    good = token()
    verifier.verify(bearer(good))
    head, body, signature = good.split(".")
    forged = ".".join((head, b64url(claims(sub="player-8")), signature))
    assert "bad signature" in refusal(verifier, bearer(forged))


def test_cache_entries_live_at_most_the_ttl():
    from ember.adapters.auth.verified_tokens import VerifiedTokens

    clock = _Clock()
    cache = VerifiedTokens(ttl_s=10, clock=clock, max_entries=2)
    principal = Principal(subject="p1", roles=frozenset({"player"}))
    cache.put("t1", principal, expires_at=clock.now + 3600)
    assert cache.get("t1") == principal
    clock.now += 10
    assert cache.get("t1") is None
    for name in ("a", "b", "c"):  # bounded: the oldest goes first
        cache.put(name, principal, expires_at=clock.now + 60)
    assert cache.get("a") is None and cache.get("c") == principal
