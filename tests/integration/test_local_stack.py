"""The local stack starts real embedded PostgreSQL, Redis and Kafka, and stops only its own."""

from __future__ import annotations

import os
import signal
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ember.runtime.local_stack import StackUrls, down, status, up

pytestmark = pytest.mark.integration

MACHINE_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A fresh stack root whose services are always stopped afterwards."""
    stack_root = tmp_path / ".ember"
    yield stack_root
    down(stack_root)


def _gone(pid: int) -> bool:
    # A killed orphan may stay a zombie until init reaps it; it no longer runs either way.
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def _roundtrip_kafka(bootstrap: str) -> bytes:
    """Produces one message to a fresh topic and consumes it back without a consumer group."""
    topic = f"stack-test-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=10_000)
    sent = producer.send(topic, b"hello").get(timeout=10)
    producer.close()
    # Manual assignment: Tansu only completes a group join after max_poll_interval_ms.
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    try:
        consumer.assign([TopicPartition(topic, sent.partition)])
        return next(iter(consumer)).value
    finally:
        consumer.close()


def test_up_starts_three_working_services_and_second_up_reuses_them(root: Path) -> None:
    lines: list[str] = []
    urls = up(root, env={}, log=lines.append)

    with psycopg.connect(urls.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bets (id int PRIMARY KEY)")
        conn.execute("INSERT INTO bets VALUES (1)")
    client = redis.Redis.from_url(urls.redis_url)
    client.set("round", "open")
    assert client.get("round") == b"open"
    client.close()
    assert _roundtrip_kafka(urls.kafka_bootstrap_servers) == b"hello"

    assert up(root, env={}) == urls
    statuses = status(root, env={})
    assert [(s.name, s.source, s.url, s.healthy) for s in statuses] == [
        ("postgres", "embedded", urls.database_url, True),
        ("redis", "embedded", urls.redis_url, True),
        ("kafka", "embedded", urls.kafka_bootstrap_servers, True),
    ]
    assert all(s.pid for s in statuses)
    assert any(line.startswith("postgres ready url=") for line in lines)
    assert set(urls.as_env()) == {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"}


def test_down_stops_everything_and_up_again_keeps_postgres_data(root: Path) -> None:
    urls = up(root, env={})
    with psycopg.connect(urls.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE rounds (id int)")
        conn.execute("INSERT INTO rounds VALUES (7)")
    pids = [s.pid for s in status(root, env={})]

    down(root)

    assert all(pid is not None and _gone(pid) for pid in pids)
    assert [s.healthy for s in status(root, env={})] == [False, False, False]
    assert all(
        _port_closed(int(url.rsplit(":", 1)[1].split("/")[0])) for url in urls.as_env().values()
    )
    again = up(root, env={})
    with psycopg.connect(again.database_url) as conn:
        assert conn.execute("SELECT id FROM rounds").fetchall() == [(7,)]


def test_up_restarts_a_dead_service_on_its_old_url(root: Path) -> None:
    urls = up(root, env={})
    redis_pid = next(s.pid for s in status(root, env={}) if s.name == "redis")
    assert redis_pid is not None
    os.kill(redis_pid, signal.SIGKILL)

    assert up(root, env={}) == urls
    assert redis.Redis.from_url(urls.redis_url).ping()


def _machine_redis_running() -> bool:
    try:
        return bool(redis.Redis.from_url(MACHINE_REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _machine_redis_running(), reason="no Redis on 127.0.0.1:6379")
def test_service_named_in_env_is_used_as_given_and_never_started_or_stopped(root: Path) -> None:
    env = {"REDIS_URL": MACHINE_REDIS_URL}
    urls: StackUrls = up(root, env=env)

    assert urls.redis_url == MACHINE_REDIS_URL
    assert not (root / "redis").exists()
    by_name = {s.name: s for s in status(root, env=env)}
    assert (by_name["redis"].source, by_name["redis"].pid, by_name["redis"].healthy) == (
        "env",
        None,
        True,
    )
    assert by_name["postgres"].source == "embedded"
    down(root)
    assert redis.Redis.from_url(MACHINE_REDIS_URL).ping()
