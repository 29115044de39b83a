"""Per-player bet rate limits: a 429 with Retry-After past the limit, and bets that still go
through when Redis, which only holds the counters, is unreachable."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from chalice.test import Client

from ember.runtime.api import context
from ember.runtime.bootstrap import Ember, build
from ember.runtime.settings import load_settings
from tests.conftest import JWT_SECRET, ROOT, WEBHOOK_SECRET
from tests.support import fund, make_token, market, open_round

NOTHING_LISTENING = "redis://127.0.0.1:1/0"


@pytest.fixture
def api_with(database_url, clock, stack) -> Iterator:
    """api_with(**settings) -> (ember, client): the `ember` and `api` fixtures, other settings."""
    sys.path.insert(0, str(ROOT / "functions" / "api"))
    import app as api_module  # functions/api/app.py, as Lambda imports it

    with ExitStack() as cleanup:
        def make(**settings: object) -> tuple[Ember, Client]:
            ember = build(load_settings(**{
                "DATABASE_URL": database_url, "REDIS_URL": stack.redis_url,
                "EMBER_AUTH_MODE": "hs256", "EMBER_JWT_SECRET": JWT_SECRET,
                "EMBER_WEBHOOK_SECRET": WEBHOOK_SECRET, **settings}), clock=clock)
            cleanup.callback(ember.close)
            context.use(context.api_context(ember))
            cleanup.callback(context.use, None)
            return ember, cleanup.enter_context(Client(api_module.app))
        yield make


def bet(api, rid, player: str, amount: int = 10):
    return api.http.post(f"/v1/rounds/{rid}/bets", body=json.dumps(
        {"outcome": 0, "amount": amount}), headers={
        "Authorization": make_token(player), "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4())})


def test_the_fourth_bet_in_a_minute_is_429_with_retry_after(api_with, sql):
    ember, api = api_with(EMBER_BET_RATE_LIMIT="3/minute")
    rid = open_round(ember, market())
    # Counters live in the shared Redis for a minute: fresh names, so no run sees another's.
    alice, bob = f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
    fund(ember, alice, 1000)
    fund(ember, bob, 1000)
    for _ in range(3):
        assert bet(api, rid, alice).status_code == 201

    refused = bet(api, rid, alice)
    assert refused.status_code == 429, refused.body
    assert refused.headers["Content-Type"] == "application/problem+json"
    body = json.loads(refused.body)
    assert body["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert body["retry_after"] == int(refused.headers["Retry-After"])
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 3
    assert ember.ledger.balance(alice) == 970

    assert bet(api, rid, bob).status_code == 201  # the limit is per player


def test_bets_still_pass_when_redis_is_unreachable(api_with, sql):
    ember, api = api_with(REDIS_URL=NOTHING_LISTENING, EMBER_BET_RATE_LIMIT="1/minute")
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    for _ in range(3):  # over the limit, yet nothing can count it: fail open
        response = bet(api, rid, "alice")
        assert response.status_code == 201, response.body
    assert ember.ledger.balance("alice") == 970
    health = api.http.get("/v1/health")
    assert health.status_code == 200
    assert json.loads(health.body)["rate_limit_unavailable"] == 3
