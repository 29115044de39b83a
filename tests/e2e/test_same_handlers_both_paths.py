"""The same handlers give the same results whether Lambda or the Knative HTTP adapter calls them.

- a bet: an API Gateway REST event into the Chalice app vs an HTTP request through waitress;
- a Kafka record: an MSK batch into a consumer vs a KafkaSource CloudEvent POSTed to it;
- a schedule: an EventBridge event into round_keeper vs a PingSource CloudEvent.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ember.domain import events
from ember.runtime.api import context
from ember.runtime.consumers import batch_handler, msk
from ember.runtime.http import EventSinks, make_server
from ember.runtime.http.events import LambdaContext
from tests.conftest import ROOT
from tests.support import fund, make_token, market, open_round

pytestmark = pytest.mark.integration

KAFKA_SOURCE = "/apis/v1/namespaces/ember/kafkasources/commission#ember.commission"


class DeadLetterList:
    def __init__(self):
        self.sent = []

    def send(self, topic, key, value, headers):
        self.sent.append((topic, key, value, dict(headers)))


def remember_commission(consumer: str):
    """The test consumer's effect: one row per event it was given (no unique key, so an
    effect applied twice would show)."""

    def effect(conn, event) -> None:
        conn.execute("INSERT INTO both_paths_seen (consumer, event_id, round_id, amount)"
                     " VALUES (%s, %s, %s, %s)",
                     (consumer, event.id, event.payload["round_id"], event.payload["amount"]))

    return effect


@pytest.fixture
def api_app(ember):
    sys.path.insert(0, str(ROOT / "functions" / "api"))
    import app as api_module  # functions/api/app.py, as Lambda imports it

    context.use(context.api_context(ember))
    yield api_module.app
    context.use(None)


@pytest.fixture
def serving(api_app) -> Iterator:
    """serving(sinks=None) -> base URL of the adapter (waitress, a free port) for the API app."""
    servers = []

    def start(sinks: EventSinks | None = None) -> str:
        server = make_server(api_app, "127.0.0.1", 0, sinks=sinks)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server, thread in servers:
        server.stop()
        thread.join(10)


def http(method: str, url: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def rest_event(rid: uuid.UUID, player: str, key: str, body: dict) -> dict:
    """The REST proxy event API Gateway sends for POST /v1/rounds/{rid}/bets."""
    headers = {"Authorization": make_token(player), "Content-Type": "application/json",
               "Idempotency-Key": key, "Host": "api.example"}
    path = f"/v1/rounds/{rid}/bets"
    return {
        "resource": "/v1/rounds/{round_id}/bets", "path": path, "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"round_id": str(rid)}, "stageVariables": None,
        "requestContext": {"resourcePath": "/v1/rounds/{round_id}/bets", "httpMethod": "POST",
                           "path": path, "stage": "api", "requestId": str(uuid.uuid4()),
                           "identity": {"sourceIp": "127.0.0.1", "userAgent": "test"}},
        "body": json.dumps(body), "isBase64Encoded": False,
    }


def lambda_context(name: str = "test") -> LambdaContext:
    return LambdaContext(str(uuid.uuid4()), name, deadline=float("inf"))


def without_ids(answer: dict) -> dict:
    bet = {k: v for k, v in answer["bet"].items() if k not in ("id", "round_id")}
    return {**answer, "bet": bet}


def test_a_bet_answers_and_writes_the_same_through_lambda_and_the_http_adapter(
        ember, api_app, serving, sql):
    # Two identical rounds and players, one per path.
    via_lambda = open_round(ember, market("flip-lambda", min_bet=10, max_bet=1000))
    via_http = open_round(ember, market("flip-http", min_bet=10, max_bet=1000))
    fund(ember, "lambda-player", 1000)
    fund(ember, "http-player", 1000)
    bet = {"outcome": 1, "amount": 100}

    response = api_app(rest_event(via_lambda, "lambda-player", "k-1", bet), lambda_context("api"))
    url = serving()
    status, answer = http("POST", f"{url}/v1/rounds/{via_http}/bets", json.dumps(bet).encode(),
                          {"Authorization": make_token("http-player"), "Idempotency-Key": "k-1",
                           "Content-Type": "application/json"})

    assert (response["statusCode"], status) == (201, 201)
    lambda_answer = json.loads(response["body"])
    assert without_ids(lambda_answer) == without_ids(answer)
    assert answer["balance"] == 900 and answer["education"]["commission"] == 3
    rows = sql.execute("SELECT player_id, outcome, amount FROM bets ORDER BY player_id").fetchall()
    assert rows == [{"player_id": "http-player", "outcome": 1, "amount": 100},
                    {"player_id": "lambda-player", "outcome": 1, "amount": 100}]
    # Replaying the Lambda bet's key through HTTP finds the very same bet.
    status, replay = http("POST", f"{url}/v1/rounds/{via_lambda}/bets", json.dumps(bet).encode(),
                          {"Authorization": make_token("lambda-player"), "Idempotency-Key": "k-1",
                           "Content-Type": "application/json"})
    assert status == 201 and replay["bet"]["id"] == lambda_answer["bet"]["id"]


def kafka_cloud_event(record: msk.KafkaRecord) -> tuple[dict, bytes]:
    """What KafkaSource POSTs for `record` (binary mode)."""
    time_ = datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat().replace("+00:00", "Z")
    headers = {"ce-specversion": "1.0", "ce-type": "dev.knative.kafka.event",
               "ce-source": KAFKA_SOURCE, "ce-subject": f"partition:{record.partition}#{record.offset}",
               "ce-id": f"partition:{record.partition}/offset:{record.offset}", "ce-time": time_,
               "Content-Type": "application/json"}
    if record.key is not None:
        headers["ce-key"] = record.key.decode()
    return headers, record.value or b""


def commission_records(count: int) -> list[msk.KafkaRecord]:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    found = []
    for offset in range(count):
        event = events.commission_accrued(uuid.uuid4(), "flip", 10 + offset, "USDT", now)
        value = json.dumps(events.envelope(event), separators=(",", ":")).encode()
        found.append(msk.KafkaRecord("ember.commission", 0, 700 + offset, 1893456000000 + offset,
                                     event.key.encode(), value))
    return found


def effects(sql, consumer: str) -> list[dict]:
    return sql.execute(
        "SELECT event_id::text, round_id::text, amount FROM both_paths_seen WHERE consumer = %s"
        " ORDER BY amount",
        (consumer,)).fetchall()


def test_a_kafka_record_has_the_same_effect_as_an_msk_batch_and_as_a_kafkasource_event(
        ember, serving, sql):
    sql.execute("CREATE TABLE both_paths_seen (consumer text, event_id uuid, round_id uuid,"
                " amount bigint)")
    records = commission_records(3)
    lambda_handler = batch_handler("both-lambda", remember_commission("both-lambda"), db=ember.db,
                                   dead_letters=DeadLetterList())
    knative_handler = batch_handler("both-knative", remember_commission("both-knative"), db=ember.db,
                                    dead_letters=DeadLetterList())

    assert lambda_handler(msk.batch_event(records), lambda_context()) == {"batchItemFailures": []}
    url = serving(EventSinks(consumers={"both-knative": knative_handler}))
    answers = [http("POST", f"{url}/kafka/both-knative", body, headers)
               for headers, body in map(kafka_cloud_event, records)]

    assert answers == [(200, {"batchItemFailures": []})] * 3
    assert effects(sql, "both-knative") == effects(sql, "both-lambda")
    assert len(effects(sql, "both-lambda")) == 3
    # A redelivery by KafkaSource is a duplicate, as a redelivered MSK batch is.
    headers, body = kafka_cloud_event(records[0])
    assert http("POST", f"{url}/kafka/both-knative", body, headers)[0] == 200
    assert sql.execute("SELECT count(*) AS n FROM both_paths_seen").fetchone()["n"] == 6


@pytest.fixture
def keeper_env(monkeypatch, stack, databases):
    """round_keeper's process-wide app on a database of the test's choosing."""
    from ember.runtime.entry import close_app

    urls: list[str] = []

    def use(database_url: str | None = None) -> str:
        close_app()
        url = database_url or databases.fresh()
        if database_url is None:
            urls.append(url)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("REDIS_URL", stack.redis_url)
        monkeypatch.setenv("EMBER_SALT_SOURCE", "local-beacon")
        return url

    yield use
    close_app()
    for url in urls:
        databases.drop(url)


def rounds_of(database_url: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT id::text, market_id, status, open_at FROM rounds ORDER BY id"
                            ).fetchall()


def sync_markets(database_url: str, stack) -> None:
    from ember.runtime.bootstrap import build
    from ember.runtime.settings import load_settings

    app = build(load_settings(DATABASE_URL=database_url, REDIS_URL=stack.redis_url,
                              EMBER_DB_POOL_SIZE=2, EMBER_SALT_SOURCE="local-beacon"))
    try:
        # Hourly rounds: both passes below fall in the same hour (or this test reruns them).
        app.markets.sync([market("hourly", interval_s=3600, bet_window_s=3000)])
    finally:
        app.close()


def test_an_eventbridge_event_and_a_pingsource_tick_open_the_same_rounds(keeper_env, stack,
                                                                          serving):
    sys.path.insert(0, str(ROOT / "functions" / "round_keeper"))
    from ember.runtime.http.sinks import load_handler

    keeper = load_handler(str(ROOT / "functions" / "round_keeper" / "app.py"))
    for attempt in range(2):  # once more if an hour boundary fell between the two passes
        first = keeper_env()
        sync_markets(first, stack)
        by_lambda = keeper({"version": "0", "id": f"eb-{uuid.uuid4()}", "detail-type": "Scheduled Event",
                            "source": "aws.events", "time": "2030-01-01T00:00:00Z", "detail": {}},
                           lambda_context("round_keeper"))
        second = keeper_env()
        sync_markets(second, stack)
        url = serving(EventSinks(schedules={"round_keeper": keeper}))
        ping_id = str(uuid.uuid4())
        status, by_ping = http("POST", f"{url}/schedule/round_keeper", b"", {
            "ce-specversion": "1.0", "ce-type": "dev.knative.sources.ping", "ce-id": ping_id,
            "ce-source": "/apis/v1/namespaces/ember/pingsources/round-keeper",
            "ce-time": "2030-01-01T00:00:00Z"})
        if rounds_of(first) == rounds_of(second) or attempt == 1:
            break
    assert status == 200
    assert by_ping["correlation_id"] == ping_id
    assert by_ping["result"] == by_lambda["result"] and by_ping["result"]["rounds_created"] >= 1
    assert rounds_of(first) == rounds_of(second) != []
