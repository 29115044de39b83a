"""RS256 tokens checked against a JWKS document served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ember.adapters.auth import AuthError, AuthUnavailable, TokenVerifier
from ember.adapters.auth import jwks as jwks_module

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"
AUDIENCE = "ember-app-client"


class SigningKey:
    """An RSA key pair with its key id, as the issuer holds it."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, object]:
        public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, **overrides: object) -> str:
        claims: dict[str, object] = {
            "sub": "player-9",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 300,
            "cognito:groups": ["player"],
            **overrides,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


class JwksServer:
    """A JWKS endpoint whose key set, status and body tests can change while it runs."""

    def __init__(self) -> None:
        self.keys: list[dict[str, object]] = []
        self.status = 200
        self.body: bytes | None = None  # overrides the key set when set
        self.requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        # A short poll keeps shutdown() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                endpoint.requests += 1
                body = endpoint.body or json.dumps({"keys": endpoint.keys}).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def first_key() -> SigningKey:
    return SigningKey("key-1")


@pytest.fixture
def server(first_key: SigningKey) -> Iterator[JwksServer]:
    endpoint = JwksServer()
    endpoint.keys = [first_key.jwk()]
    yield endpoint
    endpoint.stop()


@pytest.fixture
def verifier(server: JwksServer) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=server.url)


@pytest.fixture
def later(monkeypatch):
    """Moves the JWKS refresh cooldown's clock forward, as if `seconds` had passed."""
    offset = [0.0]
    clock = SimpleNamespace(monotonic=lambda: time.monotonic() + offset[0])
    monkeypatch.setattr(jwks_module, "time", clock)

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256_token(secret: bytes, header: dict[str, object], claims: dict[str, object]) -> str:
    """A token HMAC-signed by hand: PyJWT itself refuses a PEM key as an HMAC secret."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def refusal(verifier: TokenVerifier, raw: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(f"Bearer {raw}")
    assert caught.value.status == 401
    return caught.value.detail


def test_rs256_token_with_a_published_kid_is_accepted(verifier, first_key):
    principal = verifier.verify(f"Bearer {first_key.token()}")
    assert principal.subject == "player-9" and principal.roles == frozenset({"player"})


def test_key_set_is_cached_between_requests(verifier, server, first_key):
    for _ in range(5):
        verifier.verify(f"Bearer {first_key.token()}")
    assert server.requests == 1


def test_cognito_access_token_is_accepted_on_client_id(verifier, first_key):
    raw = first_key.token(aud=None, token_use="access", client_id=AUDIENCE)
    assert verifier.verify(f"Bearer {raw}").subject == "player-9"


def test_unknown_kid_is_refused_and_refetched_at_most_once_per_cooldown(verifier, server):
    stranger = SigningKey("key-unknown")
    for _ in range(10):
        assert refusal(verifier, stranger.token()) == "token signed with an unknown key id"
    # The first lookup fetches; made-up key ids within the cooldown fetch nothing more.
    assert server.requests == 1


def test_token_without_kid_is_refused(verifier, first_key):
    raw = jwt.encode(
        {"sub": "p", "iss": ISSUER, "aud": AUDIENCE, "exp": time.time() + 60},
        first_key.private,
        algorithm="RS256",
    )
    assert refusal(verifier, raw) == "token has no key id"


def test_token_signed_by_another_key_under_a_published_kid_is_refused(verifier):
    impostor = SigningKey("key-1")
    assert refusal(verifier, impostor.token()) == "token has a bad signature"


def test_hs256_token_signed_with_the_public_key_pem_is_refused(verifier, server, first_key):
    claims = jwt.decode(first_key.token(), options={"verify_signature": False})
    for pem in (first_key.public_pem(), first_key.public_pem().strip()):
        forged = hs256_token(pem, {"alg": "HS256", "typ": "JWT", "kid": first_key.kid}, claims)
        assert refusal(verifier, forged) == "token algorithm not allowed"
    # Refused on its header alone: a forged token costs no JWKS request.
    assert server.requests == 0


def test_hmac_signature_under_an_rs256_header_is_refused(verifier, first_key):
    claims = jwt.decode(first_key.token(), options={"verify_signature": False})
    forged = hs256_token(first_key.public_pem(), {"alg": "RS256", "kid": first_key.kid}, claims)
    assert refusal(verifier, forged) == "token has a bad signature"


def test_unsigned_token_is_refused(verifier, first_key):
    claims = jwt.decode(first_key.token(), options={"verify_signature": False})
    header = b64url(json.dumps({"alg": "none", "kid": first_key.kid}).encode())
    unsigned = f"{header}.{b64url(json.dumps(claims).encode())}."
    assert refusal(verifier, unsigned) == "token algorithm not allowed"


def test_rotated_key_verifies_after_the_refetch(verifier, server, first_key, later):
    verifier.verify(f"Bearer {first_key.token()}")
    second_key = SigningKey("key-2")
    server.keys = [first_key.jwk(), second_key.jwk()]

    # Within the cooldown of the first fetch the new kid is not looked up yet...
    assert refusal(verifier, second_key.token()) == "token signed with an unknown key id"
    assert server.requests == 1

    # ...once it has passed, the unknown kid triggers one refetch and verifies.
    later(jwks_module.REFRESH_COOLDOWN_S + 1)
    assert verifier.verify(f"Bearer {second_key.token()}").subject == "player-9"
    assert verifier.verify(f"Bearer {first_key.token()}").subject == "player-9"
    assert server.requests == 2


def test_withdrawn_key_stops_verifying_when_the_cache_expires(server, first_key):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=server.url, jwks_cache_s=1)
    verifier.verify(f"Bearer {first_key.token()}")
    server.keys = [SigningKey("key-2").jwk()]
    time.sleep(1.2)
    assert refusal(verifier, first_key.token()) == "token signed with an unknown key id"


def test_unreachable_jwks_is_unavailable_not_unauthorized(first_key):
    endpoint = JwksServer()
    url = endpoint.url
    endpoint.stop()  # nothing listens on the port any more
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)
    with pytest.raises(AuthUnavailable) as caught:
        verifier.verify(f"Bearer {first_key.token()}")
    assert caught.value.status == 503 and caught.value.code == "auth_unavailable"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"message": "internal"}'),
        (200, b"<html>not json</html>"),
        (200, b'["not", "an", "object"]'),
        (200, b'{"keys": []}'),
        (200, b'{"keys": [{"kty": "RSA", "use": "enc", "kid": "k", "n": "AQAB", "e": "AQAB"}]}'),
    ],
)
def test_broken_jwks_document_is_unavailable(server, verifier, first_key, status, body):
    server.status, server.body = status, body
    with pytest.raises(AuthUnavailable):
        verifier.verify(f"Bearer {first_key.token()}")
