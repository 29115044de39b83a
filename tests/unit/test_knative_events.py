"""Knative CloudEvents through the HTTP adapter: KafkaSource records become MSK batches,
PingSource ticks become EventBridge scheduled events, and `/metrics` is served."""

from __future__ import annotations

import base64
import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from ember.runtime import metrics
from ember.runtime.consumers import msk
from ember.runtime.http import EventSinks, make_wsgi_app

KAFKA_HEADERS = {
    "ce-specversion": "1.0", "ce-type": "dev.knative.kafka.event",
    "ce-source": "/apis/v1/namespaces/ember/kafkasources/burn#ember.buybacks",
    "ce-subject": "partition:2#41", "ce-id": "partition:2/offset:41",
    "ce-time": "2030-01-01T00:00:01.5Z", "ce-key": "buyback-7",
    "ce-kafkaheadertraceparent": "00-abc-01", "content-type": "application/json",
}
PING_HEADERS = {
    "ce-specversion": "1.0", "ce-type": "dev.knative.sources.ping",
    "ce-source": "/apis/v1/namespaces/ember/pingsources/round-keeper",
    "ce-id": "6f1d7a6e-ping", "ce-time": "2030-01-01T00:01:00Z",
}


class Recorder:
    def __init__(self, response=None):
        self.events, self.response = [], response

    def __call__(self, event, context):
        self.events.append(event)
        assert context.aws_request_id
        return self.response if self.response is not None else {"batchItemFailures": []}


def post(app, path, headers, body=b""):
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(REQUEST_METHOD="POST", PATH_INFO=path, CONTENT_LENGTH=str(len(body)),
                   **{"wsgi.input": io.BytesIO(body)})
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return call(app, environ)


def call(app, environ):
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return int(status[0].split()[0]), body


def test_a_kafkasource_record_reaches_the_consumer_as_a_one_record_msk_batch():
    burn = Recorder()
    app = make_wsgi_app(None, sinks=EventSinks(consumers={"burn": burn}))
    status, _ = post(app, "/kafka/burn", KAFKA_HEADERS, b'{"id": "x"}')
    assert status == 200
    (event,) = burn.events
    assert event["eventSource"] == "aws:kafka"
    (wire,) = event["records"]["ember.buybacks-2"]
    assert base64.b64decode(wire["key"]) == b"buyback-7"
    assert base64.b64decode(wire["value"]) == b'{"id": "x"}'
    (record,) = msk.records(event)
    assert (record.topic, record.partition, record.offset) == ("ember.buybacks", 2, 41)
    assert record.timestamp == 1893456001500
    assert record.headers == (("traceparent", b"00-abc-01"),)


def test_a_record_the_handler_reports_failed_is_answered_500_so_kafkasource_retries():
    failing = Recorder({"batchItemFailures": [{"itemIdentifier": {"partition": "ember.buybacks-2",
                                                                  "offset": 41}}]})
    app = make_wsgi_app(None, sinks=EventSinks(default=failing))
    status, body = post(app, "/", KAFKA_HEADERS, b"{}")
    assert status == 500 and json.loads(body)["code"] == "record_failed"


def test_a_structured_kafka_cloudevent_is_read_too():
    burn = Recorder()
    app = make_wsgi_app(None, sinks=EventSinks(default=burn))
    document = {"specversion": "1.0", "type": "dev.knative.kafka.event", "id": "partition:0/offset:3",
                "source": "/apis/v1/namespaces/ember/kafkasources/burn#ember.buybacks",
                "data": {"id": "y"}}
    status, _ = post(app, "/", {"content-type": "application/cloudevents+json"},
                     json.dumps(document).encode())
    assert status == 200
    (record,) = msk.records(burn.events[0])
    assert (record.partition, record.offset, record.value) == (0, 3, b'{"id":"y"}')


def test_a_pingsource_tick_is_an_eventbridge_scheduled_event_with_its_id():
    keeper = Recorder({"job": "keep_rounds", "result": {"rounds_created": 2}})
    app = make_wsgi_app(None, sinks=EventSinks(schedules={"round_keeper": keeper}))
    status, body = post(app, "/schedule/round_keeper", PING_HEADERS)
    assert status == 200 and json.loads(body)["result"] == {"rounds_created": 2}
    (event,) = keeper.events
    assert event["detail-type"] == "Scheduled Event" and event["id"] == "6f1d7a6e-ping"
    assert event["time"] == "2030-01-01T00:01:00Z" and event["detail"] == {}


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/kafka/nobody", KAFKA_HEADERS, 404),
    ("/kafka/burn", PING_HEADERS, 400),
    ("/kafka/burn", {**KAFKA_HEADERS, "ce-subject": "p2", "ce-id": "x"}, 400),
    ("/kafka/burn", {**KAFKA_HEADERS, "ce-source": "no-topic"}, 400),
    ("/", {**PING_HEADERS, "ce-type": "com.example.other"}, 400),
])
def test_events_it_cannot_place_are_refused_with_a_problem(path, headers, status):
    app = make_wsgi_app(None, sinks=EventSinks(consumers={"burn": Recorder()}, default=Recorder()))
    assert post(app, path, headers)[0] == status


def test_without_sinks_a_cloudevent_is_not_delivered_anywhere():
    assert post(make_wsgi_app(None), "/kafka/burn", KAFKA_HEADERS)[0] == 404


def test_metrics_are_served_in_prometheus_text_format():
    backend = metrics.PrometheusMetrics()
    metrics.use(backend)
    try:
        metrics.count(metrics.BETS_PLACED, 3)
        environ: dict = {}
        setup_testing_defaults(environ)
        environ.update(REQUEST_METHOD="GET", PATH_INFO="/metrics")
        status, body = call(make_wsgi_app(None), environ)
    finally:
        metrics.use(None)
    assert status == 200 and "ember_bets_placed_total 3.0" in body.decode().splitlines()
