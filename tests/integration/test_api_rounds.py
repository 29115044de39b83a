"""What anyone can read: health, the OpenAPI document, markets, rounds, their odds, proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta

from ember.services.keeper import run_keeper
from ember.verify import check
from tests.support import fund, make_token, market, open_round, problem


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def bet(api, rid, player: str, outcome: int, amount: int) -> dict:
    return ok(api.http.post(f"/v1/rounds/{rid}/bets", body=json.dumps(
        {"outcome": outcome, "amount": amount}), headers={
        "Authorization": make_token(player), "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4())}), 201)


def test_health_and_the_api_description(api):
    assert ok(api.http.get("/v1/health")) == {"status": "ok", "rate_limit_unavailable": 0}
    document = ok(api.http.get("/v1/openapi.json"))
    assert document["openapi"].startswith("3.")
    assert {"/v1/rounds/{round_id}/bets", "/v1/me", "/v1/deposits"} <= set(document["paths"])


def test_markets_lists_each_market_with_its_terms(ember, api):
    ember.markets.sync([market("flip", commission_bps=250, min_bet=5, max_bet=500),
                        market("dice", outcomes=6)])
    markets = {m["id"]: m for m in ok(api.http.get("/v1/markets"))["items"]}
    assert set(markets) == {"flip", "dice"}
    assert markets["flip"] == {"id": "flip", "title": "flip", "outcomes": ["o0", "o1"],
                               "interval_s": 60, "bet_window_s": 45, "commission_bps": 250,
                               "min_bet": 5, "max_bet": 500}
    assert len(markets["dice"]["outcomes"]) == 6


def _pages(api, query: str) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        url = f"/v1/rounds?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = ok(api.http.get(url))
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10, "pagination does not end"


def test_rounds_are_paged_newest_first_and_filtered(ember, api, clock):
    now = clock.now()
    flips = [open_round(ember, market("flip"), now + timedelta(minutes=k)) for k in range(-2, 3)]
    dice = [open_round(ember, market("dice"), now + timedelta(minutes=k)) for k in (0, 1)]

    everything = _pages(api, "limit=2")
    assert [len(p) for p in everything] == [2, 2, 2, 1]
    listed = [r["id"] for p in everything for r in p]
    assert sorted(listed) == sorted(map(str, flips + dice))  # each once, none skipped
    opens = [r["open_at"] for p in everything for r in p]
    assert opens == sorted(opens, reverse=True)

    only_flip = _pages(api, "market=flip&limit=2")
    assert [len(p) for p in only_flip] == [2, 2, 1]
    assert [r["id"] for p in only_flip for r in p] == [str(r) for r in reversed(flips)]

    scheduled = ok(api.http.get("/v1/rounds?status=scheduled&market=dice"))
    assert [r["id"] for r in scheduled["items"]] == [str(dice[1])]
    assert scheduled["next_cursor"] is None
    assert ok(api.http.get("/v1/rounds?market=nope"))["items"] == []


def test_bad_round_queries_are_422_not_500(ember, api, subtests):
    open_round(ember, market())
    nested = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    forged = base64.urlsafe_b64encode(json.dumps(["yesterday", "x"]).encode()).decode()
    cases = {"cursor=not-a-cursor": "cursor", "cursor=%%%": "cursor", f"cursor={forged}": "cursor",
             f"cursor={nested}": "cursor", "status=won": "status", "limit=0": "limit",
             "limit=101": "limit", "limit=two": "limit", "limit=-1": "limit",
             "limit=%C2%B2": "limit", "limit=" + "9" * 5000: "limit", "market=%00": "market"}
    for query, parameter in cases.items():
        with subtests.test(query=query[:40]):
            body = problem(api.http.get(f"/v1/rounds?{query}"), 422, "invalid_request")
            assert body.get("parameter") == parameter
    status = problem(api.http.get("/v1/rounds?status=won"), 422, "invalid_request")
    assert "'settled'" in status["detail"] and "RoundStatus" not in status["detail"]


def test_a_round_shows_live_odds_per_outcome_and_keeps_its_seed_secret(ember, api):
    rid = open_round(ember, market(outcomes=3, commission_bps=300))
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)
    bet(api, rid, "alice", 0, 300)
    bet(api, rid, "bob", 1, 100)

    view = ok(api.http.get(f"/v1/rounds/{rid}"))
    assert view["id"] == str(rid) and view["status"] == "open"
    assert view["total_staked"] == 400
    # pool 400, commission floor(400 * 3%) = 12: 388 goes to whoever backed the winner
    assert view["outcomes"] == [
        {"index": 0, "staked": 300, "payout_multiplier": 1.293333, "implied_probability": 0.75,
         "break_even_probability": 0.773196, "win_probability": 0.333333},
        {"index": 1, "staked": 100, "payout_multiplier": 3.88, "implied_probability": 0.25,
         "break_even_probability": 0.257732, "win_probability": 0.333333},
        {"index": 2, "staked": 0, "payout_multiplier": None, "implied_probability": 0.0,
         "break_even_probability": None, "win_probability": 0.333333},
    ]
    assert len(view["seed_hash"]) == 64
    assert "resolution" not in view and "server_seed" not in json.dumps(view)


def test_an_unknown_or_malformed_round_is_404(api, subtests):
    for rid in ("not-a-uuid", str(uuid.uuid4()), "1", "%00"):
        for suffix in ("", "/verify"):
            with subtests.test(path=rid + suffix):
                problem(api.http.get(f"/v1/rounds/{rid}{suffix}"), 404, "round_not_found")


def test_anyone_can_verify_a_settled_round(ember, api, clock):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    fund(ember, "bob", 1000)
    bet(api, rid, "alice", 0, 100)
    bet(api, rid, "bob", 1, 300)

    before = ok(api.http.get(f"/v1/rounds/{rid}/verify"))
    assert before["verified"] is None
    assert before["server_seed"] is None and before["salt"] is None and before["outcome"] is None
    seed_hash = before["seed_hash"]

    clock.advance(60)
    run = run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock)
    assert [r.round_id for r in run.resolved] == [rid]

    after = ok(api.http.get(f"/v1/rounds/{rid}/verify"))
    assert after["verified"] is True and after["seed_matches_hash"] is True
    assert after["seed_hash"] == seed_hash  # the commitment made at open did not change
    assert hashlib.sha256(bytes.fromhex(after["server_seed"])).hexdigest() == seed_hash
    assert after["recomputed_outcome"] == after["outcome"] in (0, 1)
    # The independent, standard-library verifier players are given agrees.
    assert check({**after, "id": after["round_id"]}) == []

    view = ok(api.http.get(f"/v1/rounds/{rid}"))
    assert view["status"] == "settled"
    resolution = view["resolution"]
    assert resolution["outcome"] == after["outcome"]
    assert resolution["server_seed"] == after["server_seed"]
    assert resolution["total_staked"] == 400 and resolution["commission"] + resolution["dust"] >= 12
