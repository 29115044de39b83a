"""Kafka consumers: exactly-once effects over at-least-once delivery, retries, dead letters.

The test consumer `test-commission` records every commission.accrued it is given in a
table with no unique key, so an effect that ran twice shows up as two rows.
"""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from ember.adapters.kafka.config import client_config
from ember.adapters.kafka.dead_letters import KafkaDeadLetters
from ember.domain import events
from ember.runtime.consumers import Consumer, batch_handler, msk
from ember.runtime.consumers.batch import invalid_record_id
from ember.runtime.consumers.local_esm import Backoff, LocalEventSourceMapping
from tests.support import market, read_topic, two_sided_round

pytestmark = pytest.mark.integration

NOW = datetime(2030, 1, 1, tzinfo=UTC)
# Tansu completes a group join only after max_poll_interval_ms: keep it short.
TANSU_GROUP = {"max_poll_interval_ms": 3000, "session_timeout_ms": 3000,
               "heartbeat_interval_ms": 1000, "request_timeout_ms": 5000}
FAST = Backoff(first_s=0.05, max_s=0.2)


class Doomed(RuntimeError):
    pass


class DeadLetterList:
    """Dead letters kept in memory."""

    def __init__(self):
        self.sent = []

    def send(self, topic, key, value, headers):
        self.sent.append((topic, key, value, dict(headers)))


@pytest.fixture
def effects(sql):
    sql.execute("CREATE TABLE commission_effects (event_id uuid NOT NULL, round_id uuid NOT NULL,"
                " amount bigint NOT NULL)")
    return sql


def count_commission(conn, event):
    """The test consumer's effect; on its own it would count a redelivery twice."""
    if event.payload["market_id"] == "doomed":
        raise Doomed(f"cannot count round {event.payload['round_id']}")
    conn.execute("INSERT INTO commission_effects (event_id, round_id, amount) VALUES (%s, %s, %s)",
                 (event.id, event.payload["round_id"], event.payload["amount"]))


def effect_counts(sql) -> dict[str, int]:
    return {row["event_id"]: row["n"] for row in sql.execute(
        "SELECT event_id::text, count(*) AS n FROM commission_effects GROUP BY event_id")}


def accrued(amount=10, market_id="flip") -> events.Event:
    return events.commission_accrued(uuid.uuid4(), market_id, amount, "USDT", NOW)


def wire(event: events.Event) -> bytes:
    return json.dumps(events.envelope(event), separators=(",", ":")).encode()


def record(event, partition, offset, value=None) -> msk.KafkaRecord:
    return msk.KafkaRecord("ember.commission", partition, offset, 1700000000000 + offset,
                           event.key.encode(), value if value is not None else wire(event))


def failed_offsets(response) -> list[int]:
    return [failure["itemIdentifier"]["offset"] for failure in response["batchItemFailures"]]


def wait_for(condition, timeout_s=30.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def caught_up(bootstrap, group, topic) -> bool:
    """True when `group` committed the end offset of every partition of `topic`."""
    reader = KafkaConsumer(bootstrap_servers=bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        ends = reader.end_offsets([TopicPartition(topic, p)
                                   for p in reader.partitions_for_topic(topic) or ()])
        committed = {tp: meta.offset
                     for tp, meta in admin.list_group_offsets({group: None})[group].items()}
        return all(end == 0 or committed.get(tp, -1) >= end for tp, end in ends.items())
    finally:
        reader.close()
        admin.close()


def test_a_batch_delivered_three_times_and_reordered_has_each_effect_once(ember, effects):
    accruals = [accrued(10 + i) for i in range(6)]
    handler = batch_handler("test-commission", count_commission, db=ember.db,
                            dead_letters=DeadLetterList())
    batch = msk.batch_event([record(e, i % 3, 100 + i) for i, e in enumerate(accruals)])
    # The same events again, reversed, at other partitions and offsets (a re-publication).
    moved = msk.batch_event([record(e, (i + 1) % 3, 500 - i)
                             for i, e in enumerate(reversed(accruals))])

    responses = [handler(batch, None) for _ in range(3)] + [handler(moved, None)]

    assert all(response == {"batchItemFailures": []} for response in responses)
    assert effect_counts(effects) == {str(e.id): 1 for e in accruals}
    assert effects.execute("SELECT count(*) AS n FROM inbox WHERE consumer = 'test-commission'"
                           " AND outcome = 'processed'").fetchone()["n"] == 6


def test_concurrent_deliveries_of_one_batch_have_each_effect_once(ember, effects):
    accruals = [accrued(i + 1) for i in range(10)]
    handler = batch_handler("test-commission", count_commission, db=ember.db,
                            dead_letters=DeadLetterList())
    batch = msk.batch_event([record(e, i % 2, i) for i, e in enumerate(accruals)])

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: handler(batch, None), range(8)))

    assert all(response == {"batchItemFailures": []} for response in responses)
    assert effect_counts(effects) == {str(e.id): 1 for e in accruals}


def test_a_failing_record_is_retried_then_dead_lettered_while_the_others_flow(ember, effects):
    letters = DeadLetterList()
    handler = batch_handler("test-commission", count_commission, db=ember.db,
                            dead_letters=letters, max_attempts=3)
    good = [accrued(5), accrued(6), accrued(7)]
    doomed = accrued(8, market_id="doomed")
    garbage = msk.KafkaRecord("ember.commission", 0, 1, 1700000000001, b"k", b"{not json")
    batch = msk.batch_event([record(good[0], 0, 0), garbage, record(doomed, 0, 2),
                             record(good[1], 0, 3), record(good[2], 1, 0)])

    responses = [handler(batch, None) for _ in range(4)]

    assert [failed_offsets(r) for r in responses] == [[2], [2], [], []]
    assert effect_counts(effects) == {str(e.id): 1 for e in good}
    assert [(topic, key, value) for topic, key, value, _ in letters.sent] == [
        ("ember.dlq.test-commission", b"k", b"{not json"),
        ("ember.dlq.test-commission", doomed.key.encode(), wire(doomed))]
    invalid, failed = (headers for *_, headers in letters.sent)
    assert invalid["ember-attempts"] == b"1"
    assert invalid["ember-error"].startswith(b"invalid_event: value: not JSON")
    assert failed["ember-attempts"] == b"3"
    assert failed["ember-error"] == f"Doomed: cannot count round {doomed.key}".encode()
    assert (failed["ember-source-topic"], failed["ember-source-partition"],
            failed["ember-source-offset"]) == (b"ember.commission", b"0", b"2")
    outcomes = {row["event_id"]: row["outcome"] for row in effects.execute(
        "SELECT event_id, outcome FROM inbox WHERE outcome = 'dead_lettered'")}
    assert outcomes == {doomed.id: "dead_lettered", invalid_record_id(garbage): "dead_lettered"}
    assert effects.execute("SELECT count(*) AS n FROM consumer_failures").fetchone()["n"] == 0


def test_a_record_that_recovers_before_the_last_attempt_is_processed_once(ember, effects):
    flaky = accrued(9)
    failures = iter([RuntimeError("deadlock"), RuntimeError("timeout")])

    def recovering(conn, event):
        error = next(failures, None)
        if error is not None:
            raise error
        count_commission(conn, event)

    handler = batch_handler("test-commission", recovering, db=ember.db,
                            dead_letters=DeadLetterList(), max_attempts=3)
    batch = msk.batch_event([record(flaky, 0, 0)])

    assert [failed_offsets(handler(batch, None)) for _ in range(3)] == [[0], [0], []]
    assert effect_counts(effects) == {str(flaky.id): 1}
    assert effects.execute("SELECT count(*) AS n FROM consumer_failures").fetchone()["n"] == 0


def test_the_local_esm_dead_letters_a_poison_record_and_its_partition_keeps_flowing(
        ember, effects, stack, unique):
    bootstrap = stack.kafka_bootstrap_servers
    config = client_config(bootstrap)
    topic, name = f"test.commission.{unique}", f"test-commission-{unique}"
    good = [accrued(1), accrued(2), accrued(3)]
    doomed = accrued(4, market_id="doomed")
    # One key: one partition, in this order.
    values = [wire(good[0]), wire(good[1]), b"\x00not json", wire(doomed), wire(good[2])]
    producer = KafkaProducer(**config)
    sent = [producer.send(topic, key=b"aggregate", value=value).get(10) for value in values]
    partition = sent[0].partition
    responses = []
    dead_letters = KafkaDeadLetters(config)
    inner = batch_handler(name, count_commission, db=ember.db, dead_letters=dead_letters,
                          max_attempts=3)

    def handler(event, context):
        responses.append(inner(event, context))
        return responses[-1]

    try:
        with LocalEventSourceMapping(Consumer(name, (topic,), handler), config, backoff=FAST,
                                     consumer_options=TANSU_GROUP):
            wait_for(lambda: len(effect_counts(effects)) == 3, what="the good records")
            letters = read_topic(bootstrap, events.dead_letter_topic(name), expected=2)
            later = accrued(5)
            producer.send(topic, key=b"aggregate", value=wire(later)).get(10)
            wait_for(lambda: str(later.id) in effect_counts(effects), what="a later record")
            wait_for(lambda: caught_up(bootstrap, name, topic), what="committed offsets")
    finally:
        producer.close()
        dead_letters.close()

    assert effect_counts(effects) == {str(e.id): 1 for e in [*good, later]}
    doomed_at = {"partition": f"{topic}-{partition}", "offset": sent[3].offset}
    reported = [r for r in responses
                if {"itemIdentifier": doomed_at} in r["batchItemFailures"]]
    assert len(reported) == 2  # attempts 1 and 2; the third dead-letters it
    garbage_at = {"partition": f"{topic}-{partition}", "offset": sent[2].offset}
    assert not [r for r in responses if {"itemIdentifier": garbage_at} in r["batchItemFailures"]]
    assert [(m.key, m.value) for m in letters] == [(b"aggregate", b"\x00not json"),
                                                   (b"aggregate", wire(doomed))]
    headers = dict(letters[1].headers)
    assert headers["ember-error"] == f"Doomed: cannot count round {doomed.key}".encode()
    assert headers["ember-attempts"] == b"3"
    assert (headers["ember-source-topic"], headers["ember-source-partition"],
            headers["ember-source-offset"]) == (topic.encode(), str(partition).encode(),
                                                str(sent[3].offset).encode())
    assert effects.execute("SELECT outcome FROM inbox WHERE event_id = %s",
                           (doomed.id,)).fetchone()["outcome"] == "dead_lettered"


def test_a_settled_round_reaches_the_commission_consumer_once(ember, effects, stack, clock):
    from ember.adapters.kafka.events import KafkaEventPublisher
    from ember.adapters.postgres.outbox import event_from_row
    from ember.services.keeper import run_keeper
    from ember.services.outbox_relay import relay_outbox

    bootstrap = stack.kafka_bootstrap_servers
    config = client_config(bootstrap)
    rid = two_sided_round(ember, market(commission_bps=1000))
    run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock)
    publisher = KafkaEventPublisher(config)
    dead_letters = KafkaDeadLetters(config)
    try:
        assert relay_outbox(outbox=ember.outbox, publisher=publisher).published == 2
        # At least once: a relay that died before marking its rows publishes them again.
        publisher.publish([event_from_row(row) for row in effects.execute(
            "SELECT * FROM outbox WHERE type = 'commission.accrued'")])
        handler = batch_handler("test-commission", count_commission, db=ember.db,
                                dead_letters=dead_letters)
        consumer = Consumer("test-commission", (events.COMMISSION_TOPIC,), handler)
        with LocalEventSourceMapping(consumer, config, backoff=FAST, consumer_options=TANSU_GROUP):
            wait_for(lambda: caught_up(bootstrap, "test-commission", events.COMMISSION_TOPIC),
                     what="the consumer to read both copies")
    finally:
        publisher.close()
        dead_letters.close()

    accrual_id = uuid.uuid5(rid, "commission.accrued")
    assert effect_counts(effects)[str(accrual_id)] == 1
    assert effects.execute("SELECT round_id, amount FROM commission_effects WHERE event_id = %s",
                           (accrual_id,)).fetchone() == {"round_id": rid, "amount": 100}


def test_the_lambda_handler_wires_itself_from_the_environment(database_url, effects, stack,
                                                              monkeypatch):
    import ember.runtime.consumers as consumers
    from ember.runtime import entry

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.kafka_bootstrap_servers)
    monkeypatch.setenv("EMBER_CONSUMER_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(consumers, "_dead_letters", None)
    entry.close_app()
    handler = consumers.kafka_handler(consumer="test-commission", service=count_commission)
    good, doomed = accrued(3), accrued(4, market_id="doomed")
    try:
        response = handler(msk.batch_event([record(good, 0, 0), record(doomed, 0, 1)]), None)
    finally:
        entry.close_app()
        if consumers._dead_letters is not None:
            consumers._dead_letters.close()

    assert response == {"batchItemFailures": []}  # one attempt allowed: dead-lettered at once
    assert effect_counts(effects) == {str(good.id): 1}
    letters = read_topic(stack.kafka_bootstrap_servers, "ember.dlq.test-commission", expected=1)
    assert wire(doomed) in [letter.value for letter in letters]
