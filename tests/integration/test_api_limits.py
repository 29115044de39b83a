"""Player protection over the API: loss, stake and deposit limits (lower now, raise after a
cooling-off day) and self-exclusion, on a clock the test moves."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from ember.runtime.api import webhook
from tests.conftest import WEBHOOK_SECRET
from tests.support import fund, make_token, market, open_round, problem

JSON = "application/json"
DAY = 24 * 3600


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.body
    return json.loads(response.body)


def as_player(player: str) -> dict[str, str]:
    return {"Authorization": make_token(player), "Content-Type": JSON}


def bet(api, rid, player: str, amount: int, outcome: int = 0):
    return api.http.post(f"/v1/rounds/{rid}/bets", body=json.dumps(
        {"outcome": outcome, "amount": amount}),
        headers={**as_player(player), "Idempotency-Key": str(uuid.uuid4())})


def set_limits(api, player: str, limits: object):
    return api.http.put("/v1/me/limits", headers=as_player(player), body=json.dumps(limits))


def deposit(api, clock, player: str, amount: int):
    raw = json.dumps({"payment_id": str(uuid.uuid4()), "player_id": player,
                      "amount": amount}).encode()
    signature = webhook.sign(WEBHOOK_SECRET, int(clock.now().timestamp()), raw)
    return api.http.post("/v1/deposits", body=raw,
                         headers={"Content-Type": JSON, webhook.HEADER: signature})


def bet_count(sql) -> int:
    return sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"]


def test_each_limit_refuses_what_would_break_it(ember, api, clock, sql):
    rid = open_round(ember, market(min_bet=1, max_bet=10_000))
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)

    body = ok(set_limits(api, "alice", {"loss": {"24h": 150}}))
    assert body["limits"] == [{"kind": "loss", "period": "24h", "amount": 150, "pending": None}]
    assert bet(api, rid, "alice", 100).status_code == 201
    refused = problem(bet(api, rid, "alice", 100), 409, "loss_limit_exceeded")
    assert (refused["kind"], refused["period"], refused["limit"]) == ("loss", "24h", 150)
    assert bet_count(sql) == 1 and ember.ledger.balance("alice") == 900
    assert bet(api, rid, "alice", 50).status_code == 201  # up to the limit exactly

    ok(set_limits(api, "bob", {"stake": {"7d": 100}}))
    assert bet(api, rid, "bob", 60).status_code == 201
    refused = problem(bet(api, rid, "bob", 41), 409, "stake_limit_exceeded")
    assert (refused["kind"], refused["period"], refused["limit"]) == ("stake", "7d", 100)
    assert bet_count(sql) == 3 and ember.ledger.balance("bob") == 940

    ok(set_limits(api, "carol", {"deposit": {"30d": 500}}))
    assert deposit(api, clock, "carol", 400).status_code == 201
    refused = problem(deposit(api, clock, "carol", 101), 409, "deposit_limit_exceeded")
    assert (refused["kind"], refused["period"], refused["limit"]) == ("deposit", "30d", 500)
    assert ember.ledger.balance("carol") == 400
    assert deposit(api, clock, "carol", 100).status_code == 201


def test_a_lower_limit_applies_at_once_a_higher_one_after_a_day(ember, api, clock, sql):
    m = market(min_bet=1, max_bet=10_000)
    fund(ember, "alice", 1000)
    ok(set_limits(api, "alice", {"loss": {"24h": 1000}}))

    lowered = ok(set_limits(api, "alice", {"loss": {"24h": 100}}))
    assert lowered["limits"] == [{"kind": "loss", "period": "24h", "amount": 100,
                                  "pending": None}]
    rid = open_round(ember, m)
    problem(bet(api, rid, "alice", 150), 409, "loss_limit_exceeded")

    raised = ok(set_limits(api, "alice", {"loss": {"24h": 500}}))
    effective_at = (clock.now() + timedelta(days=1)).isoformat()
    expected = [{"kind": "loss", "period": "24h", "amount": 100,
                 "pending": {"amount": 500, "effective_at": effective_at}}]
    assert raised["limits"] == expected
    assert ok(api.http.get("/v1/me", headers=as_player("alice")))["limits"] == expected
    problem(bet(api, rid, "alice", 150), 409, "loss_limit_exceeded")  # the old limit holds
    assert bet_count(sql) == 0

    clock.advance(DAY - 1)
    problem(bet(api, open_round(ember, m), "alice", 150), 409, "loss_limit_exceeded")
    clock.advance(1)
    me = ok(api.http.get("/v1/me", headers=as_player("alice")))
    assert me["limits"] == [{"kind": "loss", "period": "24h", "amount": 500, "pending": None}]
    assert bet(api, open_round(ember, m, clock.now()), "alice", 150).status_code == 201

    # Removing a limit is a raise too: it waits out the same day.
    removed = ok(set_limits(api, "alice", {"loss": {"24h": None}}))
    assert removed["limits"][0]["amount"] == 500
    assert removed["limits"][0]["pending"]["amount"] is None


def test_a_malformed_limit_changes_nothing(ember, api, subtests):
    ok(set_limits(api, "alice", {"loss": {"24h": 100}}))
    cases = {"negative": {"loss": {"24h": -1}}, "float": {"loss": {"24h": 1.5}},
             "text": {"loss": {"24h": "100"}}, "true": {"loss": {"24h": True}},
             "absurd": {"loss": {"24h": 10**20}}, "unknown period": {"loss": {"1h": 5}},
             "unknown kind": {"win": {"24h": 5}}, "not per period": {"loss": 5},
             "nothing": {}}
    for case, limits in cases.items():
        with subtests.test(case=case):
            body = problem(set_limits(api, "alice", limits), 422, "invalid_request")
            assert "<" not in body["detail"]  # plain words, not Python reprs
    problem(api.http.put("/v1/me/limits", headers=as_player("alice"), body="[]"), 400,
            "invalid_json")
    me = ok(api.http.get("/v1/me", headers=as_player("alice")))
    assert me["limits"] == [{"kind": "loss", "period": "24h", "amount": 100, "pending": None}]


def exclude(api, player: str, days: object):
    return api.http.post("/v1/me/self-exclusion", headers=as_player(player),
                         body=json.dumps({"days": days}))


def test_a_self_excluded_player_can_neither_bet_nor_deposit_until_it_ends(ember, api, clock, sql,
                                                                        subtests):
    m = market()
    fund(ember, "alice", 1000)
    week = (clock.now() + timedelta(days=7)).isoformat()
    assert ok(exclude(api, "alice", 7), 201) == {"self_excluded_until": week}
    assert ok(api.http.get("/v1/me", headers=as_player("alice")))["self_excluded_until"] == week

    refused = problem(bet(api, open_round(ember, m), "alice", 10), 403, "self_excluded")
    assert refused["until"] == week
    problem(deposit(api, clock, "alice", 500), 403, "self_excluded")
    assert bet_count(sql) == 0 and ember.ledger.balance("alice") == 1000

    # It cannot be shortened; it can be made longer.
    assert ok(exclude(api, "alice", 1), 201) == {"self_excluded_until": week}
    month = (clock.now() + timedelta(days=30)).isoformat()
    assert ok(exclude(api, "alice", 30), 201) == {"self_excluded_until": month}
    for days in (0, -1, 1.5, "7", True, None, 365 * 5 + 1, 10**20):
        with subtests.test(days=days):
            problem(exclude(api, "alice", days), 422, "invalid_request")
    assert ok(api.http.get("/v1/me", headers=as_player("alice")))["self_excluded_until"] == month

    # Money already in can still go out.
    withdrawal = api.http.post("/v1/me/withdrawals", headers=as_player("alice"),
                               body=json.dumps({"id": str(uuid.uuid4()), "amount": 100}))
    assert withdrawal.status_code == 201, withdrawal.body

    clock.advance(8 * DAY)
    problem(bet(api, open_round(ember, m), "alice", 10), 403, "self_excluded")
    clock.advance(23 * DAY)
    assert ok(api.http.get("/v1/me", headers=as_player("alice")))["self_excluded_until"] is None
    assert bet(api, open_round(ember, m), "alice", 10).status_code == 201
    assert deposit(api, clock, "alice", 500).status_code == 201
