"""Who may call what: bearer tokens the API refuses, roles, and players kept apart."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import JWT_SECRET
from tests.support import fund, make_token, market, open_round, problem

BET = json.dumps({"outcome": 1, "amount": 100})


def _b64(raw: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _claims(**overrides: object) -> dict:
    now = int(time.time())
    return {"sub": "alice", "iss": "ember-local", "aud": "ember", "iat": now, "exp": now + 600,
            "cognito:groups": ["player"], **overrides}


def _unsigned() -> str:
    return "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims()) + "."


def _hs256(claims: dict) -> str:
    return "Bearer " + jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def _rs256() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return "Bearer " + jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "local"})


REFUSED = {
    "no token": lambda: None,
    "empty header": lambda: "",
    "not bearer": lambda: "Basic " + base64.b64encode(b"alice:secret").decode(),
    "bearer without token": lambda: "Bearer ",
    "not a jwt": lambda: "Bearer not-a-token",
    "expired": lambda: make_token("alice", exp=int(time.time()) - 3600),
    "wrong audience": lambda: make_token("alice", aud="someone-else"),
    "wrong issuer": lambda: make_token("alice", iss="https://evil.example"),
    "alg none": _unsigned,
    "other hs256 secret": lambda: make_token("alice", secret="another-secret-at-least-32-bytes-long!"),
    "rs256 to an hs256 api": _rs256,
    "empty subject": lambda: _hs256(_claims(sub="")),
    "no expiry": lambda: _hs256({k: v for k, v in _claims().items() if k != "exp"}),
}


def test_every_refused_token_is_401_with_a_challenge_and_takes_nothing(ember, api, sql, subtests):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    for case, authorization in REFUSED.items():
        with subtests.test(case=case):
            header = authorization()
            headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4()),
                       **({"Authorization": header} if header is not None else {})}
            response = api.http.post(f"/v1/rounds/{rid}/bets", headers=headers, body=BET)
            problem(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            credential = (header or "").partition(" ")[2]
            if credential:
                assert credential not in response.body.decode()  # never echoed back
            me = api.http.get("/v1/me", headers=headers)
            problem(me, 401, "unauthorized")
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 0
    assert ember.ledger.balance("alice") == 1000
    # The same player with a good token is let in: the refusals were about the tokens.
    good = api.http.get("/v1/me", headers={"Authorization": make_token("alice")})
    assert good.status_code == 200 and json.loads(good.body)["balance"] == 1000
    # A refusal says why, in its own words.
    response = api.http.get("/v1/me", headers={"Authorization": REFUSED["wrong audience"]()})
    assert "audience" in problem(response, 401, "unauthorized")["detail"]
    response = api.http.get("/v1/me", headers={"Authorization": REFUSED["expired"]()})
    assert "expired" in problem(response, 401, "unauthorized")["detail"]


def _requested_withdrawal(api, player: str, amount: int) -> str:
    wid = str(uuid.uuid4())
    response = api.http.post("/v1/me/withdrawals", headers={
        "Authorization": make_token(player), "Content-Type": "application/json"},
        body=json.dumps({"id": wid, "amount": amount}))
    assert response.status_code == 201, response.body
    return wid


def test_only_an_operator_marks_a_withdrawal_paid(ember, api, sql):
    fund(ember, "alice", 1000)
    wid = _requested_withdrawal(api, "alice", 300)
    for path in (f"/v1/operator/withdrawals/{wid}/paid", f"/v1/operator/withdrawals/{wid}/cancelled"):
        response = api.http.post(path, headers={"Authorization": make_token("alice")})
        problem(response, 403, "forbidden")
    row = sql.execute("SELECT status FROM withdrawals WHERE id = %s", (wid,)).fetchone()
    assert row["status"] == "requested"
    response = api.http.post(f"/v1/operator/withdrawals/{wid}/paid",
                             headers={"Authorization": make_token("olga", roles=("operator",))})
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["status"] == "paid"


def test_only_finance_reads_the_ledger(ember, api, subtests):
    fund(ember, "alice", 1000)
    for roles in [("player",), ("operator",), ()]:
        with subtests.test(roles=roles):
            response = api.http.get("/v1/finance/ledger",
                                    headers={"Authorization": make_token("x", roles)})
            problem(response, 403, "forbidden")
    response = api.http.get("/v1/finance/ledger",
                            headers={"Authorization": make_token("fiona", roles=("finance",))})
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    assert body["total"] == 0  # double entry: every account kind together sums to zero
    assert {"kind": "player", "accounts": 1, "balance": 1000} in body["accounts"]


def test_an_operator_without_the_player_role_cannot_bet(ember, api, sql):
    rid = open_round(ember, market())
    fund(ember, "olga", 1000)
    response = api.http.post(f"/v1/rounds/{rid}/bets", body=BET, headers={
        "Authorization": make_token("olga", roles=("operator",)),
        "Content-Type": "application/json", "Idempotency-Key": "k1"})
    problem(response, 403, "forbidden")
    assert sql.execute("SELECT count(*) AS n FROM bets").fetchone()["n"] == 0


def test_a_player_cannot_read_another_players_bet(ember, api):
    rid = open_round(ember, market())
    fund(ember, "alice", 1000)
    placed = api.http.post(f"/v1/rounds/{rid}/bets", body=BET, headers={
        "Authorization": make_token("alice"), "Content-Type": "application/json",
        "Idempotency-Key": "k1"})
    bet_id = json.loads(placed.body)["bet"]["id"]
    mine = api.http.get(f"/v1/me/bets/{bet_id}", headers={"Authorization": make_token("alice")})
    assert mine.status_code == 200 and json.loads(mine.body)["id"] == bet_id
    theirs = api.http.get(f"/v1/me/bets/{bet_id}", headers={"Authorization": make_token("bob")})
    body = problem(theirs, 404, "bet_not_found")
    unknown = api.http.get(f"/v1/me/bets/{uuid.uuid4()}", headers={"Authorization": make_token("bob")})
    # Not theirs and not existing look the same: nobody learns another player's bet ids.
    assert json.loads(unknown.body)["detail"] == body["detail"]
    assert bet_id not in theirs.body.decode()
