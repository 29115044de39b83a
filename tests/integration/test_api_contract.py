"""The API keeps its published contract.

The OpenAPI document names exactly the routes the Chalice app has, is valid OpenAPI 3.1 and
lists every error code the app can answer with; and schemathesis, fed the document the app
serves at /v1/openapi.json, calls every operation through the HTTP adapter on a seeded test
database and checks each response: no 5xx, a documented status and content type, a body
that matches its schema.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import hypothesis
import jsonschema
import pytest
import schemathesis
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import ember
from ember.domain.errors import EmberError
from ember.domain.protection import LimitExceeded, LimitKind, Period
from ember.runtime.api import context, openapi, webhook
from ember.runtime.http import make_wsgi_app
from ember.services.cashier import request_withdrawal
from ember.services.place_bet import PlaceBet, place_bet
from tests.conftest import ROOT, WEBHOOK_SECRET
from tests.support import fund, make_token, market, open_round

pytestmark = pytest.mark.integration

API_DIR = ROOT / "functions" / "api"
EMBER_DIR = Path(ember.__file__).parent


def api_app() -> Any:
    """functions/api/app.py's Chalice app, imported as Lambda imports it."""
    if str(API_DIR) not in sys.path:
        sys.path.insert(0, str(API_DIR))
    import app as api_module

    return api_module.app


DOCUMENT = openapi.document()


# --- the document and the routes ---------------------------------------------------------

def test_the_document_names_exactly_the_routes_the_app_has():
    routes = {path: set(methods) for path, methods in api_app().routes.items()}
    documented = {path: {method.upper() for method in operations}
                  for path, operations in DOCUMENT["paths"].items()}
    assert documented == routes


def test_the_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1.")
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)


def test_the_app_serves_the_document_it_describes():
    body, status = wsgi_get(make_wsgi_app(api_app()), "/v1/openapi.json")
    assert status == 200 and json.loads(body) == json.loads(json.dumps(DOCUMENT))


def test_every_error_code_the_app_can_emit_is_in_the_problem_enum():
    listed = set(DOCUMENT["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    emitted = error_class_codes() | literal_problem_codes()
    assert emitted - listed == set()
    # The scan itself must see the codes it is there to find.
    assert {"unauthorized", "round_closed", "invalid_json", "not_found", "payload_too_large",
            "internal_error", "webhook_not_configured", "loss_limit_exceeded"} <= emitted


def error_class_codes() -> set[str]:
    """The code of every EmberError the API's code paths can raise.

    Every module the API can reach (domain, services, auth and postgres adapters, the API
    views, the HTTP adapter) is imported first, lazily imported ones included, so their
    error classes exist; LimitExceeded's code depends on the limit, so each kind is built.
    """
    packages = tuple(f"ember.{p}" for p in ("domain", "services", "adapters.auth",
                                             "adapters.postgres", "runtime.api", "runtime.http"))
    for package in packages:
        import_all(package)
    api_app()
    codes = set()
    # Only errors defined where the API's code lives: other tests in this process may have
    # loaded consumers' or chain errors the API can never answer with.
    for error in subclasses(EmberError):
        if not error.__module__.startswith(packages) or error.__module__ in CONSUMER_ONLY:
            continue
        if error is LimitExceeded:
            codes |= {LimitExceeded(kind, Period.DAY, 0, 1).code for kind in LimitKind}
        else:
            codes.add(error.code)
    return codes


# Services only the Kafka consumers run (buy-back, burn): their errors end up in the
# buy-back records and logs, never in an API response.
CONSUMER_ONLY = {"ember.services.buy_back", "ember.services.burn", "ember.services.buyback_ports"}


def import_all(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        importlib.import_module(module.name)


def subclasses(cls: type[EmberError]) -> set[type[EmberError]]:
    found: set[type[EmberError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *subclasses(sub)}
    return {cls, *found}


# Calls that answer a problem with a code written out in the call: the views' helper, the
# HTTP adapter's replies and its refusals.
_PROBLEM_CALLS = {"problem_response": 1, "problem": 1, "Rejected": 1}


def literal_problem_codes() -> set[str]:
    """Codes passed as string literals to the problem helpers in the API and HTTP adapter."""
    codes = set()
    for source in [*(EMBER_DIR / "runtime" / "api").glob("*.py"),
                   *(EMBER_DIR / "runtime" / "http").glob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = _PROBLEM_CALLS.get(name or "")
            if position is None or len(node.args) <= position:
                continue
            code = node.args[position]
            if isinstance(code, ast.Attribute) and code.attr == "code":
                continue  # forwards an error's own code: the classes and Rejected(...) calls
            assert isinstance(code, ast.Constant) and isinstance(code.value, str), (
                f"{source.name}:{node.lineno}: a problem code must be a literal to be listed")
            codes.add(code.value)
    return codes


def wsgi_get(wsgi_app: Any, path: str) -> tuple[bytes, int]:
    """(body, status) of GET `path`, the WSGI app called directly."""
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    setup_testing_defaults(environ)
    started: list[str] = []
    body = b"".join(wsgi_app(environ, lambda status, headers, *_: started.append(status)))
    return body, int(started[0].split()[0])


# --- every operation, fuzzed ---------------------------------------------------------------

WSGI_APP = make_wsgi_app(api_app())
schema = schemathesis.openapi.from_wsgi(
    "/v1/openapi.json", WSGI_APP,
    config=schemathesis.Config.from_dict({
        "seed": 20300101,  # the same cases on every run; change it to explore others
        "generation": {"max-examples": 40, "database": "none"},
    }))

PROBLEM_VALIDATOR = jsonschema.Draft202012Validator(DOCUMENT["components"]["schemas"]["Problem"])
PLAYER = "fuzz-player"
OUTCOMES = 3
CHECKS: list[Any] = [not_a_server_error, status_code_conformance, content_type_conformance,
                     response_schema_conformance, response_headers_conformance]


@dataclass
class Seeded:
    """Ids of real rows the fuzzer may use in place of the ones it generates."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    signed_at: int = 0


# The fuzzer draws path parameters before the test's fixtures exist, so the seeded ids reach
# its strategies through this holder, filled by the `seeded` fixture of each test.
SEEDED = Seeded()


@schema.hook
def flatmap_path_parameters(ctx: schemathesis.HookContext,
                            path_parameters: dict[str, Any] | None) -> st.SearchStrategy:
    """Each id either as generated or one that exists: both the 404 and the real answer."""
    if not path_parameters:
        return st.just(path_parameters)
    choices = {name: st.sampled_from([value, *SEEDED.ids.get(name, [])])
               for name, value in path_parameters.items()}
    return st.fixed_dictionaries(choices)


@schema.hook
def flatmap_query(ctx: schemathesis.HookContext, query: dict[str, Any] | None) -> st.SearchStrategy:
    """A market filter either as generated or the seeded market's id."""
    if not query or "market" not in query:
        return st.just(query)
    return st.sampled_from([query, {**query, "market": SEEDED.ids["market"][0]}])


@schema.hook
def flatmap_body(ctx: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    """A bet's outcome either as generated or one the seeded round has, so bets are taken too."""
    if ctx.operation is None or ctx.operation.path != "/v1/rounds/{round_id}/bets" \
            or not isinstance(body, dict) or "outcome" not in body:
        return st.just(body)
    return st.one_of(st.just(body), st.integers(0, OUTCOMES - 1).map(
        lambda outcome: {**body, "outcome": outcome}))


@schema.hook
def flatmap_headers(ctx: schemathesis.HookContext, headers: dict[str, Any] | None) -> st.SearchStrategy:
    """An Idempotency-Key either as generated or fresh: generated ones repeat ("-", "0") and a
    repeat with other parameters is a 409, so few bets would be taken otherwise."""
    if not headers or "Idempotency-Key" not in headers:
        return st.just(headers)
    return st.one_of(st.just(headers), st.uuids().map(
        lambda key: {**headers, "Idempotency-Key": str(key)}))


@schemathesis.check
def refusals_are_problems(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                          case: schemathesis.Case) -> None:
    """Every 4xx/5xx is application/problem+json with a listed code and its own status.

    Schemathesis' own conformance checks skip its request-shape probes (an undeclared method
    or media type); the contract says every refusal is a problem, so this one does not.
    """
    if response.status_code < 400:
        return
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == "application/problem+json", (
        f"{response.status_code} answered as {media_type!r}: {response.content[:200]!r}")
    problem = json.loads(response.content)
    errors = [e.message for e in PROBLEM_VALIDATOR.iter_errors(problem)]
    assert not errors, f"{response.status_code} problem does not match Problem: {errors}"
    assert problem["status"] == response.status_code, problem


@pytest.fixture
def seeded(ember) -> Iterator[Seeded]:
    """A market with an open round, a funded player with a bet and a pending withdrawal, and
    the API context wired to this test's database."""
    m = market("fuzz-flip", outcomes=OUTCOMES, min_bet=1, max_bet=10**9)
    round_id = open_round(ember, m)
    fund(ember, PLAYER, 10**12)
    placed = place_bet(PlaceBet(PLAYER, round_id, 1, 1000, "seed-bet"), bets=ember.bets,
                       clock=ember.clock)
    pending = request_withdrawal(uuid.uuid4(), PLAYER, 500, ledger=ember.ledger)
    SEEDED.ids = {"round_id": [str(round_id)], "bet_id": [str(placed.bet.id)],
                  "withdrawal_id": [str(pending.id)], "market": [m.id]}
    SEEDED.signed_at = int(ember.clock.now().timestamp())
    context.use(context.api_context(ember))
    yield SEEDED
    context.use(None)
    SEEDED.ids = {}


def bearer_for(path: str) -> str:
    """A valid token with the role the path needs: operator, finance, or player."""
    role = next((r for r in ("operator", "finance") if path.startswith(f"/v1/{r}/")), "player")
    return make_token(PLAYER, roles=(role,))


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case: schemathesis.Case, seeded: Seeded):
    headers: dict[str, str] = {}
    body: dict[str, Any] = {}
    if case.operation.definition.raw.get("security"):
        headers["Authorization"] = bearer_for(case.operation.path)
    if (case.method, case.operation.path) == ("POST", "/v1/deposits"):
        # The provider signs the exact bytes it sends: send those bytes, signed.
        raw = wire_body(case)
        headers[webhook.HEADER] = webhook.sign(WEBHOOK_SECRET, seeded.signed_at, raw)
        body = {"data": raw}
    case.call_and_validate(headers=headers, checks=[*CHECKS, refusals_are_problems], **body)


def wire_body(case: schemathesis.Case) -> bytes:
    """The request body as the transport would send it."""
    sent = case.as_transport_kwargs()
    if "json" in sent:
        return json.dumps(sent["json"]).encode()
    data = sent.get("data", b"")
    return data.encode() if isinstance(data, str) else bytes(data)

