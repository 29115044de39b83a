"""Relaying the outbox to Kafka: throughput over 20,000 events, and commit-to-consumer latency.

Measured: `relay_outbox` (the scheduled sweep's path: advisory lock, read 500 rows in seq
order, envelopes, publish with acks, mark published, commit) over EVENTS committed rows.
Baseline: the broker's own produce rate in the same run: the same kafka-python producer
settings sending the same number of the same messages (value, key, headers) straight to
the broker, in one go, no database. The ratio is what the outbox costs over bare producing.

Latency: LATENCY_EVENTS writer transactions, each committing one outbox row and then
calling the publish-after-commit hook as the keeper does; a consumer in another process
reads the topic. Latency = consume time - the writer's commit time.

The broker is KAFKA_BOOTSTRAP_SERVERS, else an embedded Tansu (memory only) on a temporary
root; topics are the bench's own, so a shared broker is not disturbed.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from ember.adapters.kafka.config import client_config
from ember.adapters.kafka.events import KafkaEventPublisher, bounded, message_for
from ember.adapters.kafka.producer import KafkaPublisher
from ember.adapters.kafka.topics import ensure_topics
from ember.adapters.postgres import outbox
from ember.adapters.postgres.database import Database
from ember.adapters.postgres.outbox import PostgresOutbox
from ember.domain.events import Event, commission_accrued
from ember.runtime import local_stack
from ember.runtime.migrate import apply_migrations
from ember.services.outbox_relay import AFTER_COMMIT_BATCHES, RelayRun, relay_outbox

from .common import median, progress, report, scratch_database, server_url, timed

NAME = "events"
TARGET = 0.5
EVENTS = 20_000
ROUNDS = 1_000  # keys: EVENTS / ROUNDS events per key
REPEATS = 3  # measured runs of each kind, interleaved, after one untimed warm-up of each
LATENCY_EVENTS = 1_000
BATCH = 500
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def main() -> None:
    with broker() as bootstrap, scratch_database(f"ember_bench_events_{os.getpid()}") as url:
        _bench(url, bootstrap)


@contextmanager
def broker() -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS, else an embedded Tansu stopped on the way out."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    with tempfile.TemporaryDirectory(prefix="ember-bench-") as tmp:
        root = Path(tmp)
        # Services named here are "from the environment": only Kafka is started (the
        # bench uses no Redis; the URL is never dialled).
        env = {"DATABASE_URL": server_url(), "REDIS_URL": "redis://127.0.0.1:6379/0"}
        try:
            yield local_stack.up(root=root, env=env).kafka_bootstrap_servers
        finally:
            local_stack.down(root)


def _bench(url: str, bootstrap: str) -> None:
    progress(f"{NAME}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    apply_migrations(url)
    config = client_config(bootstrap)
    topic = f"bench.events.{os.getpid()}"
    ensure_topics(config, [topic, f"{topic}.raw", f"{topic}.latency"])
    db = Database(url, max_size=2, name="bench-events")
    publisher = KafkaEventPublisher(config)
    try:
        relay_s, produce_s = throughput(db, publisher, config, topic)
        consumed = count_on_topic(bootstrap, topic, EVENTS * (REPEATS + 1))
        progress(f"{NAME}: consumer read {consumed} relayed messages"
                 f" ({REPEATS + 1} runs x {EVENTS})")
        latencies = commit_to_consumer(db, publisher, bootstrap, f"{topic}.latency")
    finally:
        publisher.close()
        db.close()
    value, baseline = EVENTS / median(relay_s), EVENTS / median(produce_s)
    progress(f"{NAME}: relay {value:,.0f} events/s (median of {REPEATS}),"
             f" raw produce {baseline:,.0f} msgs/s, ratio {value / baseline:.2f}")
    progress(f"{NAME}: commit-to-consumer latency over {len(latencies)} events:"
             f" p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms,"
             f" max {max(latencies):.1f} ms")
    report(NAME, value, baseline, TARGET)


def throughput(db: Database, publisher: KafkaEventPublisher, config: dict[str, Any],
               topic: str) -> tuple[list[float], list[float]]:
    """Seconds per run of the relay over EVENTS rows, and of producing the same messages raw;
    REPEATS of each, interleaved, after an untimed warm-up of each (connections, metadata)."""
    events = seed_outbox(db, topic)
    size = len(json.dumps(message_for(events[0]).value, separators=(",", ":")))
    progress(f"{NAME}: {EVENTS} outbox rows, {ROUNDS} keys, {size} B envelopes")
    raw = KafkaPublisher({**config, **bounded(60.0)}, timeout_s=60.0)
    messages = [dataclasses.replace(message_for(e), topic=f"{topic}.raw") for e in events]
    relay_s: list[float] = []
    produce_s: list[float] = []
    try:
        for i in range(REPEATS + 1):
            if i > 0:
                reset(db)
            relayed, seconds = timed(lambda: relay_all(db, publisher))
            assert relayed == EVENTS, relayed
            _record(relay_s, i, "relay", seconds)
            _, seconds = timed(lambda: raw.publish(messages))
            _record(produce_s, i, "produce", seconds)
    finally:
        raw.close()
    return relay_s, produce_s


def seed_outbox(db: Database, topic: str) -> list[Event]:
    """EVENTS commission.accrued-shaped events on `topic`, committed unpublished, oldest first."""
    rounds = [uuid.uuid4() for _ in range(ROUNDS)]
    # Each with its own id: the real one is derived from the round and the type.
    events = [dataclasses.replace(
        commission_accrued(rounds[n % ROUNDS], "bench", 1_000 + n, "USDT", NOW), topic=topic,
        id=uuid.uuid5(uuid.NAMESPACE_OID, f"bench-{n}")) for n in range(EVENTS)]

    def work(conn: psycopg.Connection) -> None:
        for event in events:
            outbox.add(conn, event)
    db.run(work)
    _vacuum(db.url)
    return events


def relay_all(db: Database, publisher: KafkaEventPublisher) -> int:
    """Events relayed by one unbounded sweep."""
    run = relay_outbox(outbox=PostgresOutbox(db), publisher=publisher, batch_size=BATCH,
                       max_batches=EVENTS)
    assert run.error is None, run.error
    return run.published


def reset(db: Database) -> None:
    """Every row unpublished again, dead rows vacuumed: the next sweep meets the same table."""
    db.run(lambda conn: conn.execute("UPDATE outbox SET published_at = NULL"))
    _vacuum(db.url)


def _vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE outbox")


def _record(samples: list[float], i: int, label: str, seconds: float) -> None:
    if i > 0:
        samples.append(seconds)
    progress(f"{NAME}: {'warm-up' if i == 0 else f'run {i}'} {label} {seconds:.3f} s"
             f" ({EVENTS / seconds:,.0f}/s)")


def commit_to_consumer(db: Database, publisher: KafkaEventPublisher, bootstrap: str,
                       topic: str) -> list[float]:
    """Milliseconds from each writer's commit to a consumer (another process) reading it."""
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    ready = ctx.Event()
    consumer = ctx.Process(target=consume_ids,
                           args=(bootstrap, topic, LATENCY_EVENTS + 1, ready, results),
                           daemon=True)
    consumer.start()
    # Untimed: the first event pays for the producer's metadata and the consumer's first fetch.
    db.run(lambda conn: outbox.add(conn, latency_event(topic, -1)))
    relay_outbox(outbox=PostgresOutbox(db), publisher=publisher)
    assert ready.wait(60), "consumer did not read the warm-up event"
    committed: dict[str, float] = {}
    sweeps: list[RelayRun] = []
    for n in range(LATENCY_EVENTS):
        event = latency_event(topic, n)
        db.run(partial(outbox.add, event=event))
        committed[str(event.id)] = time.time()
        # What publish_after_commit's hook runs, called here to see each sweep's outcome.
        sweeps.append(relay_outbox(outbox=PostgresOutbox(db), publisher=publisher,
                                   max_batches=AFTER_COMMIT_BATCHES))
    failed = [run.error for run in sweeps if run.error]
    progress(f"{NAME}: publish-after-commit sweeps {len(sweeps)}, failed {len(failed)}"
             f"{': ' + failed[0] if failed else ''}")
    seen: dict[str, float] = results.get(timeout=300)
    consumer.join(30)
    missing = set(committed) - set(seen)
    assert not missing, f"{len(missing)} events never reached the consumer"
    return [(seen[event_id] - at) * 1000 for event_id, at in committed.items()]


def latency_event(topic: str, n: int) -> Event:
    return Event(topic, f"round-{n % 50}", "commission.accrued", 1, NOW,
                 {"round_id": str(n), "market_id": "bench", "amount": n, "currency": "USDT"})


def consume_ids(bootstrap: str, topic: str, count: int, ready: Any, results: Any) -> None:
    """In a child process: the time each event id was first read, once `count` were read.

    `ready` is set once the first record was read.
    """
    from kafka import KafkaConsumer, TopicPartition

    # A short fetch wait: an idle fetch must not hold back the next record's delivery.
    consumer = KafkaConsumer(**client_config(bootstrap), group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", fetch_max_wait_ms=10)
    partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(seen) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=100).values():
            at = time.time()
            for record in batch:
                event_id = dict(record.headers)["ember-id"].decode()
                seen.setdefault(event_id, at)
            ready.set()
    consumer.close()
    results.put(seen)


def count_on_topic(bootstrap: str, topic: str, expected: int) -> int:
    """Messages read from `topic` until `expected` arrived (or 60 s passed)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_config(bootstrap), group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    count, deadline = 0, time.monotonic() + 60
    while count < expected and time.monotonic() < deadline:
        count += sum(len(batch) for batch in consumer.poll(timeout_ms=200).values())
    consumer.close()
    return count


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]
