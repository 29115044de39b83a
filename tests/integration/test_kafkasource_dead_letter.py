"""A poison record through the KafkaSource path: answered non-2xx while its attempts last,
then dead-lettered by the consumer framework; and `/metrics` shows what the dashboards use."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest

from ember.adapters.kafka.config import client_config
from ember.adapters.kafka.dead_letters import KafkaDeadLetters
from ember.domain import events
from ember.domain.events import dead_letter_topic
from ember.runtime import metrics
from ember.runtime.consumers import batch_handler
from ember.runtime.http import EventSinks, make_server
from tests.support import read_topic

pytestmark = pytest.mark.integration


class Poisoned(RuntimeError):
    pass


def always_fails(conn, event) -> None:
    raise Poisoned(f"cannot handle {event.id}")


@pytest.fixture
def prometheus():
    backend = metrics.PrometheusMetrics()
    metrics.use(backend)
    yield backend
    metrics.use(None)


@pytest.fixture
def sink_url(ember, stack, prometheus):
    """An adapter (no API) whose /kafka/<consumer> feeds a consumer that always fails."""
    consumer = f"poison-{uuid.uuid4().hex[:8]}"
    dead_letters = KafkaDeadLetters(client_config(stack.kafka_bootstrap_servers))
    handler = batch_handler(consumer, always_fails, db=ember.db, dead_letters=dead_letters,
                            max_attempts=3)
    server = make_server(None, "127.0.0.1", 0, sinks=EventSinks(consumers={consumer: handler}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}", consumer
    server.stop()
    thread.join(10)
    dead_letters.close()


def post(url: str, headers: dict, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_poison_record_is_retried_by_kafkasource_then_dead_lettered(sink_url, stack):
    url, consumer = sink_url
    event = events.commission_accrued(uuid.uuid4(), "flip", 10, "USDT", datetime(2030, 1, 1, tzinfo=UTC))
    value = json.dumps(events.envelope(event), separators=(",", ":")).encode()
    headers = {"ce-specversion": "1.0", "ce-type": "dev.knative.kafka.event",
               "ce-source": "/apis/v1/namespaces/ember/kafkasources/commission#ember.commission",
               "ce-subject": "partition:0#9001", "ce-id": "partition:0/offset:9001",
               "ce-time": "2030-01-01T00:00:00Z", "ce-key": event.key,
               "ce-kafkaheadertraceparent": "00-poison-01", "Content-Type": "application/json"}

    statuses = [post(f"{url}/kafka/{consumer}", headers, value) for _ in range(4)]

    # Attempts 1 and 2 fail (KafkaSource retries), the 3rd dead-letters it, the 4th is a duplicate.
    assert statuses == [500, 500, 200, 200]
    (letter,) = read_topic(stack.kafka_bootstrap_servers, dead_letter_topic(consumer), timeout_s=20.0)
    why = dict(letter.headers)
    assert letter.value == value and letter.key == event.key.encode()
    assert why["ember-attempts"] == b"3" and why["ember-consumer"] == consumer.encode()
    assert why["ember-error"].startswith(b"Poisoned: ")
    assert (why["ember-source-topic"], why["ember-source-offset"]) == (b"ember.commission", b"9001")
    assert why["traceparent"] == b"00-poison-01"

    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        exposition = response.read().decode()
    assert f'ember_dead_letters_total{{consumer="{consumer}"}} 1.0' in exposition
    assert f'ember_kafka_records_total{{consumer="{consumer}",outcome="retry"}} 2.0' in exposition
    assert 'ember_errors_total{source="kafka_record"} 2.0' in exposition


def test_metrics_expose_every_metric_the_dashboards_use(sink_url):
    url, _ = sink_url
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        exposition = response.read().decode()
    typed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE))
    for metric in metrics.METRIC_NAMES.values():
        # Older text formats type a counter under its name without "_total".
        kind = typed.get(metric.prometheus) or typed.get(metric.prometheus.removesuffix("_total"))
        assert kind == metric.kind, metric.prometheus
