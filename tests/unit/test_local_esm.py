"""The local event source mapping commits what the handler finished and re-reads the rest."""

from collections import namedtuple

import pytest
from kafka.structs import TopicPartition

from ember.runtime.consumers import msk
from ember.runtime.consumers.local_esm import Backoff, LocalEventSourceMapping
from ember.runtime.consumers.registry import Consumer, Registry

Polled = namedtuple("Polled", "topic partition offset timestamp key value headers")
P0, P1 = TopicPartition("ember.commission", 0), TopicPartition("ember.commission", 1)


class FakeGroup:
    """A consumer group member that hands out one prepared batch."""

    def __init__(self, batch):
        self.batch = batch
        self.seeks: dict = {}
        self.commits: list = []

    def poll(self, timeout_ms=0, max_records=None):
        batch, self.batch = self.batch, {}
        return batch

    def seek(self, partition, offset):
        self.seeks[partition] = offset

    def commit(self, offsets=None):
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})


def polled(tp, *offsets):
    return [Polled(tp.topic, tp.partition, o, 1700000000000 + o, b"k", b"{}", [("h", b"v")])
            for o in offsets]


def mapping(handler):
    return LocalEventSourceMapping(Consumer("test-commission", ("ember.commission",), handler),
                                   {"bootstrap_servers": ["127.0.0.1:9092"]},
                                   backoff=Backoff(first_s=0.0))


def test_a_successful_batch_commits_past_its_last_record_of_each_partition():
    seen = []
    group = FakeGroup({P0: polled(P0, 4, 5), P1: polled(P1, 9)})

    delivered = mapping(lambda event, _: seen.append(event) or {"batchItemFailures": []}
                        ).deliver_once(group)

    assert delivered == 3
    assert group.commits == [{P0: 6, P1: 10}] and group.seeks == {}
    [event] = seen
    assert event["eventSource"] == "aws:kafka"
    assert [(r.partition, r.offset, r.headers) for r in msk.records(event)] == [
        (0, 4, (("h", b"v"),)), (0, 5, (("h", b"v"),)), (1, 9, (("h", b"v"),))]


def test_a_partial_failure_commits_up_to_the_first_failed_offset_and_reads_it_again():
    group = FakeGroup({P0: polled(P0, 4, 5, 6, 7), P1: polled(P1, 9)})
    failed = {"batchItemFailures": [
        {"itemIdentifier": {"partition": "ember.commission-0", "offset": 7}},
        {"itemIdentifier": {"partition": "ember.commission-0", "offset": 5}}]}

    mapping(lambda event, _: failed).deliver_once(group)

    assert group.commits == [{P0: 5, P1: 10}]
    assert group.seeks == {P0: 5}


@pytest.mark.parametrize("answer", [RuntimeError("database down"), {"batchItemFailures": "all"}])
def test_a_raising_handler_or_malformed_answer_retries_the_whole_batch(answer):
    def handler(event, context):
        if isinstance(answer, Exception):
            raise answer
        return answer

    group = FakeGroup({P0: polled(P0, 4, 5), P1: polled(P1, 9)})

    mapping(handler).deliver_once(group)

    assert group.commits == [{P0: 4, P1: 9}]
    assert group.seeks == {P0: 4, P1: 9}


def test_an_empty_poll_delivers_nothing():
    calls = []
    group = FakeGroup({})

    assert mapping(lambda event, _: calls.append(event)).deliver_once(group) == 0
    assert calls == [] and group.commits == []


def test_backoff_doubles_up_to_its_cap_and_resets_after_success():
    backoff = Backoff(first_s=0.5, max_s=3.0)

    assert [backoff.delay(n) for n in range(6)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_consumer_name_is_registered_once():
    registry = Registry()
    registry.register(Consumer("burn", ("ember.buybacks",), lambda e, c: {}))

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Consumer("burn", ("ember.buybacks",), lambda e, c: {}))
    with pytest.raises(ValueError, match="reads no topic"):
        registry.register(Consumer("idle", (), lambda e, c: {}))
    with pytest.raises(KeyError, match="known: burn"):
        registry.get("buy_tokens")
    assert list(registry) == ["burn"] and registry.get("burn").topics == ("ember.buybacks",)
