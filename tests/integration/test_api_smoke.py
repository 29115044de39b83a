import json
import uuid

from tests.support import fund, market, open_round


def test_a_player_bets_through_the_api(ember, api, token):
    rid = open_round(ember, market(min_bet=10, max_bet=1000))
    fund(ember, "alice", 1000)
    headers = {"Authorization": token("alice"), "Content-Type": "application/json",
               "Idempotency-Key": str(uuid.uuid4())}
    first = api.http.post(f"/v1/rounds/{rid}/bets", headers=headers,
                          body=json.dumps({"outcome": 1, "amount": 100}))
    assert first.status_code == 201, first.body
    again = api.http.post(f"/v1/rounds/{rid}/bets", headers=headers,
                          body=json.dumps({"outcome": 1, "amount": 100}))
    assert again.status_code == 201 and again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    body = json.loads(first.body)
    assert body["balance"] == 900 and body["education"]["payout_if_wins"] == 97
    me = json.loads(api.http.get("/v1/me", headers={"Authorization": token("alice")}).body)
    assert me["balance"] == 900
    view = json.loads(api.http.get(f"/v1/rounds/{rid}").body)
    assert view["outcomes"][1]["staked"] == 100


def test_no_token_is_a_problem_401(api):
    response = api.http.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert json.loads(response.body)["code"] == "unauthorized"
