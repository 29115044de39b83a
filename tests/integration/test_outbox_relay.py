"""The outbox relay against the real broker: a crash between commit and publish, relays
racing each other, and a broker outage while bets and settlements go on."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import pytest

from ember.adapters.kafka.config import client_config
from ember.adapters.kafka.events import KafkaEventPublisher
from ember.adapters.kafka.topics import ember_topics, ensure_topics
from ember.adapters.postgres import outbox
from ember.adapters.postgres.database import Database
from ember.adapters.postgres.outbox import PostgresOutbox
from ember.domain.clock import ManualClock
from ember.domain.events import COMMISSION_TOPIC, ROUNDS_TOPIC, Event
from ember.runtime import local_stack
from ember.runtime.bootstrap import Ember, build
from ember.runtime.local_stack import processes, state
from ember.runtime.settings import load_settings
from ember.services.keeper import run_keeper
from ember.services.outbox_relay import publish_after_commit, relay_outbox
from ember.services.place_bet import PlaceBet, place_bet
from tests.support import fund, market, open_round

pytestmark = pytest.mark.integration

OUTAGE_S = 30.0


def app_with_kafka(database_url: str, bootstrap: str, clock: ManualClock) -> Ember:
    """The wired application with publishing on: KAFKA_BOOTSTRAP_SERVERS set."""
    return build(load_settings(DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                               EMBER_DB_POOL_SIZE=4), clock=clock)


def keeper_pass(app: Ember):
    """One keeper pass wired as functions/round_keeper wires it: publish right after commit."""
    return run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock,
                      after_commit=publish_after_commit(outbox=app.outbox, publisher=app.publisher))


def read_topic(bootstrap: str, topic: str, enough: Callable[[list], bool],
               timeout_s: float = 30.0, settle_s: float = 1.5) -> list:
    """The topic's records from the start, once `enough(records)`, plus any that follow
    within `settle_s` (duplicates would); fails after `timeout_s`.

    Polls rather than reading up to the end offsets: Tansu's ListOffsets reports end offsets
    below the last record.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_config(bootstrap), group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    try:
        partitions = consumer.partitions_for_topic(topic)
        assert partitions, f"no topic {topic}"
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        records: list = []
        deadline, enough_at = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if enough_at is None and enough(records):
                enough_at = time.monotonic()
            if enough_at is not None and time.monotonic() - enough_at >= settle_s:
                return records
        raise AssertionError(f"{topic}: only {len(records)} records after {timeout_s} s")
    finally:
        consumer.close()


def header(record, name: str) -> str:
    return dict(record.headers)[name].decode()


def has_every_id(ids: set[str], records: list) -> bool:
    return ids <= {header(r, "ember-id") for r in records}


def unpublished(sql) -> int:
    return sql.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]


@pytest.fixture(scope="module")
def bootstrap(stack) -> str:
    """The session broker, with Ember's topics (3 partitions each) in place."""
    ensure_topics(client_config(stack.kafka_bootstrap_servers), ember_topics())
    return stack.kafka_bootstrap_servers


# --- killed after commit, before publish -------------------------------------------------

class ExitBeforePublish:
    """A publisher whose publish kills the process: the crash between commit and publish."""

    def publish(self, batch) -> None:
        os._exit(1)


def settle_then_die(database_url: str, bootstrap: str, now: datetime) -> None:
    """In a child process: the keeper settles what is due, then dies before publishing."""
    app = app_with_kafka(database_url, bootstrap, ManualClock(now))
    run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=app.clock,
               after_commit=publish_after_commit(outbox=app.outbox, publisher=ExitBeforePublish()))
    os._exit(0)  # not reached: the hook published nothing and the process is gone


def test_events_committed_by_a_process_killed_before_publishing_are_relayed(
        database_url, clock, bootstrap, sql, unique):
    app = app_with_kafka(database_url, bootstrap, clock)
    m = market(id=f"crash-{unique}", commission_bps=500)
    rid = open_round(app, m)
    for player, outcome, amount in (("a", 0, 400), ("b", 1, 600), ("c", 1, 300)):
        fund(app, player, 1000)
        place_bet(PlaceBet(player, rid, outcome, amount, f"bet-{player}"), bets=app.bets,
                  clock=app.clock)
    clock.advance(60)

    child = multiprocessing.get_context("spawn").Process(
        target=settle_then_die, args=(database_url, bootstrap, clock.now()))
    child.start()
    child.join(60)
    assert child.exitcode == 1  # died inside the publish, after the settlement committed
    row = sql.execute("SELECT status, commission + dust AS commission FROM rounds WHERE id = %s",
                      (rid,)).fetchone()
    assert row["status"] == "settled" and row["commission"] > 0
    assert unpublished(sql) == 2  # round.settled and commission.accrued, committed, unsent

    assert app.publisher is not None
    run = relay_outbox(outbox=app.outbox, publisher=app.publisher)
    assert (run.published, run.error) == (2, None) and unpublished(sql) == 0

    event_id = str(uuid.uuid5(rid, "commission.accrued"))
    records = read_topic(bootstrap, COMMISSION_TOPIC,
                         lambda rs: any(header(r, "ember-id") == event_id for r in rs))
    [record] = [r for r in records if header(r, "ember-id") == event_id]
    value = json.loads(record.value)
    assert record.key == str(rid).encode() and header(record, "ember-type") == "commission.accrued"
    assert datetime.fromisoformat(value.pop("occurred_at")) == clock.now()
    assert value == {"id": event_id, "type": "commission.accrued", "version": 1,
                     "payload": {"round_id": str(rid), "market_id": m.id,
                                 "amount": row["commission"], "currency": "USDT"}}
    app.close()


# --- relays racing each other --------------------------------------------------------------

def test_three_relays_at_once_publish_every_row_exactly_once_in_order_per_key(
        database_url, clock, bootstrap, sql, unique):
    topic, rows, keys = f"test.relay.{unique}", 1000, 17
    config = client_config(bootstrap)
    ensure_topics(config, [topic])
    def add_rows(conn) -> None:  # one transaction: seq follows n
        for n in range(rows):
            outbox.add(conn, Event(topic, f"k{n % keys}", "test.relayed", 1, clock.now(), {"n": n}))

    db = Database(database_url, max_size=1)
    db.run(add_rows)
    db.close()

    start = threading.Barrier(3)
    tallies: list[Counter] = [Counter() for _ in range(3)]
    failures: list[BaseException] = []

    def relay(i: int) -> None:
        relay_db = Database(database_url, max_size=1, name=f"relay-{i}")
        publisher = KafkaEventPublisher(config)
        try:
            start.wait()
            while True:  # short sweeps, so the lock changes hands between batches
                run = relay_outbox(outbox=PostgresOutbox(relay_db), publisher=publisher,
                                   batch_size=25, max_batches=1)
                assert run.error is None, run.error
                tallies[i].update(published=run.published, skipped=run.skipped, sweeps=1)
                if not run.skipped and run.published == 0:
                    return  # the outbox is empty
                time.sleep(0.001)  # as separate processes would, give the others a turn
        except BaseException as error:
            failures.append(error)
        finally:
            publisher.close()
            relay_db.close()

    threads = [threading.Thread(target=relay, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    assert sum(t["published"] for t in tallies) == rows and unpublished(sql) == 0
    assert sum(1 for t in tallies if t["published"]) >= 2, tallies  # the lock changed hands
    assert sum(t["skipped"] for t in tallies) > 0, tallies  # and was contended

    records = read_topic(bootstrap, topic, lambda rs: len(rs) >= rows)
    copies = Counter(header(r, "ember-id") for r in records)
    assert len(copies) == rows and set(copies.values()) == {1}
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for record in records:  # one key lives in one partition, read in offset order
        by_key[record.key].append(json.loads(record.value)["payload"]["n"])
    assert len(by_key) == keys
    assert all(ns == sorted(ns) for ns in by_key.values())


# --- the broker stops for 30 s ------------------------------------------------------------

def test_bets_and_settlements_go_on_while_the_broker_is_down_and_everything_is_relayed_after(
        database_url, clock, stack, sql, tmp_path, unique):
    # A broker of our own: the session's is shared by every test.
    root, env = tmp_path / "stack", {"DATABASE_URL": stack.database_url,
                                     "REDIS_URL": stack.redis_url}
    kafka = local_stack.up(root=root, env=env).kafka_bootstrap_servers
    try:
        _outage(database_url, kafka, root, env, clock, sql, unique)
    finally:
        local_stack.down(root)


def _outage(database_url, kafka, root, env, clock, sql, unique) -> None:
    config = client_config(kafka)
    ensure_topics(config, ember_topics())
    app = app_with_kafka(database_url, kafka, clock)
    # As wired in production, with a shorter timeout so the outage holds several passes.
    app.publisher = KafkaEventPublisher(config, timeout_s=2.0)  # type: ignore[misc]
    m = market(id=f"outage-{unique}")
    players = [f"p{i}" for i in range(4)]
    for player in players:
        fund(app, player, 10**6)

    def play_a_round() -> uuid.UUID:
        rid = open_round(app, m)
        for i, player in enumerate(players):  # raises if a bet fails
            place_bet(PlaceBet(player, rid, i % 2, 100 + i, f"{rid}-{player}"), bets=app.bets,
                      clock=app.clock)
        clock.advance(60)
        assert rid in {r.round_id for r in keeper_pass(app).resolved}
        return rid

    play_a_round()
    assert unpublished(sql) == 0  # published right after the commit

    broker = state.load(root.resolve())["kafka"]
    down_at = time.monotonic()
    os.kill(broker.pid, signal.SIGKILL)
    assert processes.wait_until(lambda: not processes.is_running(broker.pid, broker.started_at), 10)
    # The port stays ours while the broker is down, or another process (a parallel test
    # session's) could take it in these 30 s and the broker come back elsewhere. Bound and
    # not listening, it refuses clients as a dead broker's port does.
    # (The killed broker's threads may let go of its socket a moment after it is gone.)
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    assert processes.wait_until(lambda: _bound(held, broker.port), 10)

    during = [play_a_round()]
    cold = relay_outbox(outbox=app.outbox, publisher=KafkaEventPublisher(config, timeout_s=2.0))
    assert cold.published == 0 and cold.error and "KafkaTimeoutError" in cold.error
    while time.monotonic() - down_at < OUTAGE_S - 5:
        during.append(play_a_round())
    warm = relay_outbox(outbox=app.outbox, publisher=app.publisher)
    assert warm.published == 0 and warm.error
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))

    settled = sql.execute("SELECT count(*) AS n FROM rounds WHERE id = ANY(%s) AND status = 'settled'",
                          (during,)).fetchone()["n"]
    assert settled == len(during) >= 3
    waiting = sql.execute("SELECT id::text AS id, topic FROM outbox WHERE published_at IS NULL"
                          ).fetchall()
    assert len(waiting) >= 2 * len(during)  # their settlements, and empty rounds' refunds

    # Memory-only: the broker comes back empty, on the same port.
    held.close()
    assert local_stack.up(root=root, env=env).kafka_bootstrap_servers == kafka
    ensure_topics(config, ember_topics())
    run = relay_outbox(outbox=app.outbox, publisher=app.publisher)
    assert (run.error, run.published) == (None, len(waiting)) and unpublished(sql) == 0

    for topic in (ROUNDS_TOPIC, COMMISSION_TOPIC):
        expected = {row["id"] for row in waiting if row["topic"] == topic}
        records = read_topic(kafka, topic, partial(has_every_id, expected))
        assert {header(r, "ember-id") for r in records} == expected
    app.close()


def _bound(sock: socket.socket, port: int) -> bool:
    """True once `sock` is bound to the loopback `port`."""
    try:
        sock.bind((processes.LOOPBACK, port))
    except OSError:
        return False
    return True


def test_keeper_publishes_once_per_pass_after_its_commits(ember, clock):
    calls = []
    m = market()
    for offset in (0, 60):
        open_round(ember, m, clock.now() + timedelta(seconds=offset))
    clock.advance(200)
    run = run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock,
                     after_commit=lambda: calls.append(len(ember.rounds.due(clock.now()))))
    assert len(run.resolved) >= 2 and calls == [0]  # once, after every resolution committed
    run = run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock,
                     after_commit=lambda: calls.append(-1))
    assert not run.resolved and calls == [0]  # nothing resolved, nothing to publish
