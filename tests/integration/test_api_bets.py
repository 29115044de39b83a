"""Placing bets over the API: what a taken bet answers, and every way a bet is refused
without a 500 and without a unit of money or a row moving."""

from __future__ import annotations

import json
import uuid

from tests.support import fund, make_token, market, open_round, problem

JSON = "application/json"


def post_bet(api, rid, body: object, player: str = "alice", key: str | None = "fresh",
             content_type: str = JSON, **headers: str):
    """POST a bet; `body` goes as it is when str/bytes, else as JSON; key "fresh" = a new one."""
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    sent = {"Authorization": make_token(player), "Content-Type": content_type, **headers}
    if key is not None:
        sent["Idempotency-Key"] = str(uuid.uuid4()) if key == "fresh" else key
    return api.http.post(f"/v1/rounds/{rid}/bets", headers=sent, body=raw)


def written(sql) -> tuple[int, int]:
    """(bets, transfers): what a refused bet must not change."""
    row = sql.execute("SELECT (SELECT count(*) FROM bets) AS bets,"
                      " (SELECT count(*) FROM transfers) AS transfers").fetchone()
    return row["bets"], row["transfers"]


def test_a_taken_bet_answers_with_the_bet_the_balance_and_what_it_costs(ember, api, sql):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)

    first = post_bet(api, rid, {"outcome": 1, "amount": 100})
    assert first.status_code == 201, first.body
    assert first.headers["Content-Type"] == JSON and "Idempotent-Replayed" not in first.headers
    body = json.loads(first.body)
    assert body["balance"] == 900
    assert body["bet"]["round_id"] == str(rid)
    assert (body["bet"]["outcome"], body["bet"]["amount"]) == (1, 100)
    assert body["bet"]["placed_at"] == "2030-01-01T00:00:00+00:00"
    # Alone in the pool: 3% commission leaves 97 of the 100, so even winning loses money.
    assert body["education"] == {
        "stake": 100, "payout_if_wins": 97, "multiplier": 0.97, "implied_probability": 1.0,
        "break_even_probability": 1.0, "win_probability": 0.5, "expected_value": -52,
        "commission": 3}

    second = json.loads(post_bet(api, rid, {"outcome": 0, "amount": 300}, player="bob").body)
    assert second["balance"] == 700
    # The live pools include alice's bet: T = 400, C = 12, 300 on outcome 0 → 300 * 388 // 300.
    assert second["education"] == {
        "stake": 300, "payout_if_wins": 388, "multiplier": 1.293333, "implied_probability": 0.75,
        "break_even_probability": 0.773196, "win_probability": 0.5, "expected_value": -106,
        "commission": 9}

    rows = sql.execute("SELECT id::text, player_id, outcome, amount FROM bets ORDER BY amount"
                       ).fetchall()
    assert rows == [{"id": body["bet"]["id"], "player_id": "alice", "outcome": 1, "amount": 100},
                    {"id": second["bet"]["id"], "player_id": "bob", "outcome": 0, "amount": 300}]
    mine = json.loads(api.http.get(f"/v1/me/bets/{body['bet']['id']}",
                                   headers={"Authorization": make_token("alice")}).body)
    assert mine["education"] == body["education"] and mine["round_status"] == "open"
    assert mine["returned"] is None


def test_a_retry_with_the_same_key_replays_the_first_answer(ember, api, sql, clock):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)
    first = post_bet(api, rid, {"outcome": 1, "amount": 100}, key="k-1")
    post_bet(api, rid, {"outcome": 0, "amount": 200}, player="bob")  # the odds move meanwhile

    again = post_bet(api, rid, {"outcome": 1, "amount": 100}, key="k-1")
    assert again.status_code == 201 and again.body == first.body  # odds as first shown
    assert again.headers["Idempotent-Replayed"] == "true"

    clock.advance(45)  # betting closed: a retry still finds its bet, a new bet does not pass
    late = post_bet(api, rid, {"outcome": 1, "amount": 100}, key="k-1")
    assert late.status_code == 201 and late.body == first.body
    problem(post_bet(api, rid, {"outcome": 1, "amount": 100}), 409, "round_closed")

    # Keys belong to a player: bob's "k-1" is a bet of his own, not a replay of alice's.
    clock.advance(-45)
    bobs = post_bet(api, rid, {"outcome": 1, "amount": 100}, player="bob", key="k-1")
    assert bobs.status_code == 201 and "Idempotent-Replayed" not in bobs.headers
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 3
    assert ember.ledger.balance("alice") == 900 and ember.ledger.balance("bob") == 700


GOOD = {"outcome": 1, "amount": 100}
# name: (body, extra post_bet arguments, status, code)
REFUSALS: dict[str, tuple[object, dict, int, str]] = {
    "malformed json": ('{"outcome": 1,', {}, 400, "invalid_json"),
    "empty body": ("", {}, 400, "invalid_json"),
    "json array": ("[1, 100]", {}, 400, "invalid_json"),
    "json string": ('"bet"', {}, 400, "invalid_json"),
    "json null": ("null", {}, 400, "invalid_json"),
    "not utf-8": (b"\xff\xfe{}", {}, 400, "invalid_json"),
    "deeply nested": ('{"outcome": ' + "[" * 50_000 + "]" * 50_000 + "}", {}, 400, "invalid_json"),
    "over 64 KiB": (json.dumps({**GOOD, "pad": "x" * 70_000}), {}, 400, "invalid_json"),
    "text/plain": (GOOD, {"content_type": "text/plain"}, 415, "unsupported_media_type"),
    "unknown field": ({**GOOD, "odds": 2}, {}, 422, "invalid_request"),
    "amount 1.5": ('{"outcome": 1, "amount": 1.5}', {}, 422, "invalid_amount"),
    "amount 1.0": ('{"outcome": 1, "amount": 1.0}', {}, 422, "invalid_amount"),
    "amount 100.0": ('{"outcome": 1, "amount": 100.0}', {}, 422, "invalid_amount"),
    "amount 1e2": ('{"outcome": 1, "amount": 1e2}', {}, 422, "invalid_amount"),
    "amount NaN": ('{"outcome": 1, "amount": NaN}', {}, 422, "invalid_amount"),
    "amount string": ({"outcome": 1, "amount": "100"}, {}, 422, "invalid_amount"),
    "amount negative": ({"outcome": 1, "amount": -100}, {}, 422, "invalid_amount"),
    "amount zero": ({"outcome": 1, "amount": 0}, {}, 422, "invalid_amount"),
    "amount true": ({"outcome": 1, "amount": True}, {}, 422, "invalid_amount"),
    "amount missing": ({"outcome": 1}, {}, 422, "invalid_amount"),
    "amount absurd": ({"outcome": 1, "amount": 10**30}, {}, 422, "invalid_amount"),
    "amount 5000 digits": ('{"outcome": 1, "amount": ' + "9" * 5000 + "}", {}, 400,
                           "invalid_json"),
    "amount over max_bet": ({"outcome": 1, "amount": 1001}, {}, 422, "amount_out_of_range"),
    "amount under min_bet": ({"outcome": 1, "amount": 9}, {}, 422, "amount_out_of_range"),
    "outcome unknown": ({"outcome": 2, "amount": 100}, {}, 422, "unknown_outcome"),
    "outcome negative": ({"outcome": -1, "amount": 100}, {}, 422, "unknown_outcome"),
    "outcome string": ({"outcome": "1", "amount": 100}, {}, 422, "unknown_outcome"),
    "outcome 1.0": ('{"outcome": 1.0, "amount": 100}', {}, 422, "unknown_outcome"),
    "outcome true": ({"outcome": True, "amount": 100}, {}, 422, "unknown_outcome"),
    "outcome missing": ({"amount": 100}, {}, 422, "unknown_outcome"),
    "no Idempotency-Key": (GOOD, {"key": None}, 422, "invalid_request"),
    "empty Idempotency-Key": (GOOD, {"key": ""}, 422, "invalid_request"),
    "Idempotency-Key too long": (GOOD, {"key": "k" * 201}, 422, "invalid_request"),
    "Idempotency-Key with NUL": (GOOD, {"key": "k\x00"}, 422, "invalid_request"),
    "key reused for another bet": ({"outcome": 0, "amount": 100}, {"key": "used"}, 409,
                                   "idempotency_conflict"),
    "key reused, amount as 100.0": ('{"outcome": 1, "amount": 100.0}', {"key": "used"}, 409,
                                    "idempotency_conflict"),
    "balance too low": ({"outcome": 1, "amount": 401}, {}, 409, "insufficient_funds"),
}


def test_a_refused_bet_is_a_problem_and_moves_nothing(ember, api, sql, subtests):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 500)
    assert post_bet(api, rid, GOOD, key="used").status_code == 201
    before = written(sql)
    for case, (body, extra, status, code) in REFUSALS.items():
        with subtests.test(case=case):
            problem(post_bet(api, rid, body, **extra), status, code)
            assert written(sql) == before
            assert ember.ledger.balance("alice") == 400


def test_a_bet_on_a_round_that_is_not_taking_bets_is_refused(ember, api, sql, clock, subtests):
    fund(ember, "alice", 500)
    later = open_round(ember, market("later"), clock.now().replace(minute=5))
    closed = open_round(ember, market("closed"), clock.now().replace(year=2029))
    cases = {"unknown round": (uuid.uuid4(), 404, "round_not_found"),
             "malformed round id": ("round-1", 404, "round_not_found"),
             "round not open yet": (later, 409, "round_not_open"),
             "round past its lock": (closed, 409, "round_closed")}
    for case, (rid, status, code) in cases.items():
        with subtests.test(case=case):
            problem(post_bet(api, rid, GOOD), status, code)
    assert written(sql) == (0, 1)  # only the deposit
    assert ember.ledger.balance("alice") == 500


def test_the_bet_that_would_overdraw_is_refused_and_the_one_that_fits_is_taken(ember, api):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 150)
    assert post_bet(api, rid, {"outcome": 0, "amount": 100}).status_code == 201
    body = problem(post_bet(api, rid, {"outcome": 0, "amount": 100}), 409, "insufficient_funds")
    assert body["balance"] == 50
    assert json.loads(post_bet(api, rid, {"outcome": 0, "amount": 50}).body)["balance"] == 0
