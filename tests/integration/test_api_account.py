"""A player's own account over the API: balance, bets page by page, insights, withdrawals."""

from __future__ import annotations

import json
import uuid

from ember.services.keeper import run_keeper
from tests.support import fund, make_token, market, ok, open_round, problem

JSON = "application/json"


def as_player(player: str) -> dict[str, str]:
    return {"Authorization": make_token(player), "Content-Type": JSON}


def bet(api, rid, player: str, outcome: int, amount: int) -> dict:
    return ok(api.http.post(f"/v1/rounds/{rid}/bets", body=json.dumps(
        {"outcome": outcome, "amount": amount}),
        headers={**as_player(player), "Idempotency-Key": str(uuid.uuid4())}), 201)


def test_me_shows_who_i_am_and_what_i_hold(ember, api):
    fund(ember, "alice", 1234)
    me = ok(api.http.get("/v1/me", headers=as_player("alice")))
    assert me == {"player_id": "alice", "balance": 1234, "currency": "USDT", "roles": ["player"],
                  "limits": [], "self_excluded_until": None}
    stranger = ok(api.http.get("/v1/me", headers=as_player("newcomer")))
    assert stranger["balance"] == 0


def test_my_bets_come_newest_first_page_by_page_and_only_mine(ember, api, clock, subtests):
    m = market(min_bet=1)
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)
    placed = []
    for minute in range(3):
        rid = open_round(ember, m, clock.now())
        # Two bets in the same instant: the page boundary must not skip or repeat either.
        placed += [bet(api, rid, "alice", 0, 10 + minute)["bet"]["id"],
                   bet(api, rid, "alice", 1, 20 + minute)["bet"]["id"]]
        bet(api, rid, "bob", 0, 5)
        clock.advance(60)

    pages, cursor = [], None
    while True:
        url = "/v1/me/bets?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = ok(api.http.get(url, headers=as_player("alice")))
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None or len(pages) > 5:
            break
    assert [len(p) for p in pages] == [2, 2, 2]
    seen = [b["id"] for p in pages for b in p]
    assert sorted(seen) == sorted(placed)
    times = [b["placed_at"] for p in pages for b in p]
    assert times == sorted(times, reverse=True)
    assert {b["amount"] for p in pages for b in p} == {10, 11, 12, 20, 21, 22}
    first = pages[0][0]
    assert set(first) == {"id", "round_id", "outcome", "amount", "placed_at", "round_status",
                          "returned", "education"}
    for query in ("limit=0", "limit=%C2%B2", "cursor=bogus"):
        with subtests.test(query=query):
            problem(api.http.get(f"/v1/me/bets?{query}", headers=as_player("alice")), 422,
                    "invalid_request")


def test_insights_after_a_settled_round_add_up(ember, api, clock):
    rid = open_round(ember, market(commission_bps=300))
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)
    mine = bet(api, rid, "alice", 0, 100)
    bet(api, rid, "bob", 1, 100)

    before = ok(api.http.get("/v1/me/insights", headers=as_player("alice")))
    assert before["bets"] == 1 and before["wagered"] == 100
    assert before["net_result"] == 0 and before["commission_paid"] == 0  # nothing resolved yet

    clock.advance(60)
    run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock)
    outcome = ok(api.http.get(f"/v1/rounds/{rid}/verify"))["outcome"]
    returned = 194 if outcome == 0 else 0  # pool 200 less 3% commission, all to the winner

    insights = ok(api.http.get("/v1/me/insights", headers=as_player("alice")))
    assert insights["bets"] == 1 and insights["wagered"] == 100
    assert insights["net_result"] == returned - 100
    assert insights["expected_net"] == mine["education"]["expected_value"]
    band = insights["expected_net_band"]
    assert band["sigmas"] == 2 and band["low"] <= insights["expected_net"] <= band["high"]
    assert band["low"] < band["high"]
    assert insights["commission_paid"] == mine["education"]["commission"] == 3
    assert ember.ledger.balance("alice") == 900 + returned
    listed = ok(api.http.get(f"/v1/me/bets/{mine['bet']['id']}", headers=as_player("alice")))
    assert listed["round_status"] == "settled" and listed["returned"] == returned


def withdraw(api, player: str, amount: object, wid: str | None = None):
    return api.http.post("/v1/me/withdrawals", headers=as_player(player),
                         body=json.dumps({"id": wid or str(uuid.uuid4()), "amount": amount}))


def test_a_withdrawal_holds_the_money_once_and_lists_it(ember, api, sql):
    fund(ember, "alice", 1000)
    wid = str(uuid.uuid4())
    held = ok(withdraw(api, "alice", 300, wid), 201)
    assert (held["id"], held["amount"], held["status"], held["finished_at"]) == (
        wid, 300, "requested", None)
    assert ok(withdraw(api, "alice", 300, wid), 201) == held  # a retry holds nothing more
    assert ember.ledger.balance("alice") == 700

    listed = ok(api.http.get("/v1/me/withdrawals", headers=as_player("alice")))
    assert listed["items"] == [held]
    assert ok(api.http.get("/v1/me/withdrawals", headers=as_player("bob")))["items"] == []


def test_a_bad_withdrawal_request_moves_nothing(ember, api, sql, subtests):
    fund(ember, "alice", 1000)
    taken = str(uuid.uuid4())
    ok(withdraw(api, "alice", 100, taken), 201)
    cases = {"more than the balance": (withdraw(api, "alice", 901), 409, "insufficient_funds"),
             "amount as float": (withdraw(api, "alice", 1.5), 422, "invalid_amount"),
             "amount zero": (withdraw(api, "alice", 0), 422, "invalid_amount"),
             "amount as text": (withdraw(api, "alice", "100"), 422, "invalid_amount"),
             "id not a uuid": (withdraw(api, "alice", 100, "w-1"), 422, "invalid_request"),
             "id reused, other amount": (withdraw(api, "alice", 200, taken), 409,
                                         "duplicate_conflict"),
             "unknown field": (api.http.post("/v1/me/withdrawals", headers=as_player("alice"),
                                             body=json.dumps({"id": str(uuid.uuid4()),
                                                              "amount": 1, "to": "x"})),
                               422, "invalid_request"),
             "malformed json": (api.http.post("/v1/me/withdrawals", headers=as_player("alice"),
                                              body="{"), 400, "invalid_json")}
    for case, (response, status, code) in cases.items():
        with subtests.test(case=case):
            problem(response, status, code)
    assert sql.execute("SELECT count(*) AS n FROM withdrawals").fetchone()["n"] == 1
    assert ember.ledger.balance("alice") == 900
