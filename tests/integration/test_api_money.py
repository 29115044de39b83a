"""Money in and out over the API: the payment provider's signed webhook, and operators
paying or cancelling withdrawals."""

from __future__ import annotations

import json
import uuid

from ember.runtime.api import context, webhook
from tests.conftest import WEBHOOK_SECRET
from tests.support import fund, make_token, ok, problem

JSON = "application/json"


def notify(api, clock, body: object, *, age_s: int = 0, secret: str = WEBHOOK_SECRET,
           signature: str | None = None):
    """The provider's POST /v1/deposits, signed `age_s` seconds ago unless `signature` is given."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if signature is None:
        signature = webhook.sign(secret, int(clock.now().timestamp()) - age_s, raw)
    return api.http.post("/v1/deposits", body=raw,
                         headers={"Content-Type": JSON, webhook.HEADER: signature})


def credited(sql) -> tuple[int, int]:
    row = sql.execute("SELECT (SELECT count(*) FROM deposits) AS deposits,"
                      " (SELECT count(*) FROM transfers) AS transfers").fetchone()
    return row["deposits"], row["transfers"]


def test_a_signed_payment_is_credited_once(ember, api, clock, sql):
    payment = {"payment_id": "pay-1", "player_id": "alice", "amount": 2500}
    first = ok(notify(api, clock, payment), 201)
    assert first == {**payment, "credited": True}
    assert ember.ledger.balance("alice") == 2500

    # The provider retries (a lost answer, its own at-least-once delivery): 200, no credit.
    clock.advance(10)
    again = ok(notify(api, clock, payment), 200)
    assert again == {**payment, "credited": False}
    assert ember.ledger.balance("alice") == 2500 and credited(sql) == (1, 1)

    me = ok(api.http.get("/v1/me", headers={"Authorization": make_token("alice")}))
    assert me["balance"] == 2500


def test_a_payment_that_is_not_proven_credits_nothing(ember, api, clock, sql, subtests):
    fund(ember, "alice", 100)
    ok(notify(api, clock, {"payment_id": "pay-1", "player_id": "alice", "amount": 50}), 201)
    before = credited(sql)
    payment = {"payment_id": "pay-2", "player_id": "alice", "amount": 999}
    raw = json.dumps(payment).encode()
    now = int(clock.now().timestamp())
    good = webhook.sign(WEBHOOK_SECRET, now, raw)
    cases = {
        "wrong secret": (notify(api, clock, payment, secret="not-the-secret"), 401,
                         "invalid_signature"),
        "body changed after signing": (
            notify(api, clock, {**payment, "amount": 99999}, signature=good), 401,
            "invalid_signature"),
        "no signature": (api.http.post("/v1/deposits", body=raw, headers={"Content-Type": JSON}),
                         401, "invalid_signature"),
        "garbage header": (notify(api, clock, payment, signature="sha256=abc"), 401,
                           "invalid_signature"),
        "signature without timestamp": (
            notify(api, clock, payment, signature=good.split(",", 1)[1]), 401,
            "invalid_signature"),
        "timestamp not ascii digits": (
            notify(api, clock, payment, signature="t=\u00b2," + good.split(",", 1)[1]), 401,
            "invalid_signature"),
        "timestamp of 5000 digits": (
            notify(api, clock, payment, signature="t=" + "1" * 5000 + ",v1=00"), 401,
            "invalid_signature"),
        "digest not ascii": (notify(api, clock, payment, signature=f"t={now},v1=\u00e9"), 401,
                             "invalid_signature"),
        "signed 6 minutes ago": (notify(api, clock, payment, age_s=360), 401,
                                 "signature_expired"),
        "signed 6 minutes ahead": (notify(api, clock, payment, age_s=-360), 401,
                                   "signature_expired"),
        # Signed, so the provider's own mistakes: still refused cleanly, never a 500.
        "not json": (notify(api, clock, b"{payment"), 400, "invalid_json"),
        "unknown field": (notify(api, clock, {**payment, "bonus": 1}), 422, "invalid_request"),
        "amount as float": (notify(api, clock, {**payment, "amount": 9.99}), 422,
                            "invalid_amount"),
        "amount negative": (notify(api, clock, {**payment, "amount": -5}), 422,
                            "invalid_amount"),
        "no player": (notify(api, clock, {**payment, "player_id": ""}), 422, "invalid_request"),
        "player with NUL": (notify(api, clock, {**payment, "player_id": "al\x00ice"}), 422,
                            "invalid_request"),
        "payment id with a lone surrogate": (
            notify(api, clock, {**payment, "payment_id": "pay-\ud800"}), 422, "invalid_request"),
        "payment id reused, other amount": (
            notify(api, clock, {"payment_id": "pay-1", "player_id": "alice", "amount": 51}), 409,
            "duplicate_conflict"),
    }
    for case, (response, status, code) in cases.items():
        with subtests.test(case=case):
            problem(response, status, code)
    assert credited(sql) == before
    assert ember.ledger.balance("alice") == 150

    # Without a secret configured nothing can be proven, so no payment is taken at all.
    context.current().webhook_secret = None
    problem(notify(api, clock, payment), 503, "webhook_not_configured")
    assert credited(sql) == before


def request_withdrawal(api, player: str, amount: int) -> str:
    wid = str(uuid.uuid4())
    response = api.http.post("/v1/me/withdrawals", body=json.dumps({"id": wid, "amount": amount}),
                             headers={"Authorization": make_token(player), "Content-Type": JSON})
    assert response.status_code == 201, response.body
    return wid


def test_an_operator_pays_or_cancels_a_withdrawal_once(ember, api, subtests):
    fund(ember, "alice", 1000)
    operator = {"Authorization": make_token("olga", roles=("operator",))}
    paid_id, cancelled_id = request_withdrawal(api, "alice", 300), request_withdrawal(api, "alice",
                                                                                     200)
    assert ember.ledger.balance("alice") == 500

    paid = ok(api.http.post(f"/v1/operator/withdrawals/{paid_id}/paid", headers=operator))
    assert (paid["id"], paid["amount"], paid["status"]) == (paid_id, 300, "paid")
    assert paid["finished_at"] is not None
    assert ember.ledger.balance("alice") == 500  # the money left for good

    cancelled = ok(api.http.post(f"/v1/operator/withdrawals/{cancelled_id}/cancelled",
                                 headers=operator))
    assert cancelled["status"] == "cancelled"
    assert ember.ledger.balance("alice") == 700  # the held 200 came back

    # Repeating the same decision is a no-op; reversing it is refused.
    assert ok(api.http.post(f"/v1/operator/withdrawals/{paid_id}/paid", headers=operator)) == paid
    cases = {
        "cancel a paid one": (f"{paid_id}/cancelled", 409, "withdrawal_not_pending"),
        "pay a cancelled one": (f"{cancelled_id}/paid", 409, "withdrawal_not_pending"),
        "unknown id": (f"{uuid.uuid4()}/paid", 404, "withdrawal_not_found"),
        "malformed id": ("w-1/paid", 404, "withdrawal_not_found"),
    }
    for case, (path, status, code) in cases.items():
        with subtests.test(case=case):
            problem(api.http.post(f"/v1/operator/withdrawals/{path}", headers=operator),
                    status, code)
    assert ember.ledger.balance("alice") == 700

    statuses = {w["id"]: w["status"] for w in ok(api.http.get(
        "/v1/me/withdrawals", headers={"Authorization": make_token("alice")}))["items"]}
    assert statuses == {paid_id: "paid", cancelled_id: "cancelled"}
    ledger = ok(api.http.get("/v1/finance/ledger",
                             headers={"Authorization": make_token("fiona", roles=("finance",))}))
    assert ledger["total"] == 0
