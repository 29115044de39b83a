"""The Lambda MSK event shape: reading batches, building them, and partial batch responses."""

import base64

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from ember.runtime.consumers import msk
from ember.runtime.consumers.dead_letters import dead_letter_headers


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def lambda_event() -> dict:
    """A batch as the MSK trigger delivers it: two partitions, one record out of order."""
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/ember/abc",
        "bootstrapServers": "b-1.ember:9098,b-2.ember:9098",
        "records": {
            "ember.commission-1": [
                {"topic": "ember.commission", "partition": 1, "offset": 8, "timestamp": 1700000000002,
                 "timestampType": "CREATE_TIME", "key": b64(b"round-b"), "value": b64(b'{"n":2}'),
                 "headers": []},
                {"topic": "ember.commission", "partition": 1, "offset": 7, "timestamp": 1700000000001,
                 "timestampType": "CREATE_TIME", "key": b64(b"round-b"), "value": b64(b'{"n":1}'),
                 "headers": [{"ember-type": list(b"commission.accrued")}, {"raw": [-1, 0, 127]}]},
            ],
            "ember.commission-0": [
                {"topic": "ember.commission", "partition": 0, "offset": 15, "timestamp": 1700000000000,
                 "timestampType": "CREATE_TIME", "value": b64(b"not json"), "headers": []},
            ],
        },
    }


def test_records_are_decoded_and_ordered_by_partition_then_offset():
    records = msk.records(lambda_event())

    assert [(r.partition, r.offset) for r in records] == [(0, 15), (1, 7), (1, 8)]
    keyless, first, _ = records
    assert keyless.key is None and keyless.value == b"not json"
    assert first.key == b"round-b" and first.value == b'{"n":1}'
    # Java-side byte arrays arrive as signed values: -1 is 0xff.
    assert first.headers == (("ember-type", b"commission.accrued"), ("raw", b"\xff\x00\x7f"))
    assert first.item_identifier == {"partition": "ember.commission-1", "offset": 7}


def test_a_built_batch_reads_back_as_the_same_records():
    records = msk.records(lambda_event())

    event = msk.batch_event(records, bootstrap_servers="127.0.0.1:9092")

    assert event["eventSource"] == "aws:kafka"
    assert sorted(event["records"]) == ["ember.commission-0", "ember.commission-1"]
    assert msk.records(event) == records


def test_a_tombstone_has_no_value():
    event = lambda_event()
    del event["records"]["ember.commission-0"][0]["value"]

    assert msk.records(event)[0].value is None


@pytest.mark.parametrize("event", [{"Records": []}, {"eventSource": "aws:sqs", "records": {}}, []])
def test_anything_but_a_kafka_batch_is_refused(event):
    with pytest.raises(ValueError, match="not a Kafka"):
        msk.records(event)


def test_partial_batch_response_names_records_as_powertools_does_for_the_kafka_esm():
    event = lambda_event()
    processor = BatchProcessor(event_type=EventType.Kafka)

    def fail_odd_offsets(record):
        if record.offset % 2:
            raise ValueError("odd")

    theirs = process_partial_response(event=event, record_handler=fail_odd_offsets,
                                      processor=processor, context=None)
    failed = [r for r in msk.records(event) if r.offset % 2]

    ours = msk.batch_response(failed)

    assert ours == {"batchItemFailures": [
        {"itemIdentifier": {"partition": "ember.commission-0", "offset": 15}},
        {"itemIdentifier": {"partition": "ember.commission-1", "offset": 7}}]}
    key = lambda failure: (failure["itemIdentifier"]["partition"],  # noqa: E731
                           failure["itemIdentifier"]["offset"])
    assert sorted(ours["batchItemFailures"], key=key) == sorted(theirs["batchItemFailures"], key=key)


def test_an_empty_response_means_the_whole_batch_succeeded():
    assert msk.batch_response([]) == {"batchItemFailures": []}
    assert msk.first_failures(msk.batch_response([])) == {}
    assert msk.first_failures(None) == {}
    assert msk.first_failures({}) == {}


def test_the_lowest_failed_offset_of_each_partition_is_where_delivery_resumes():
    response = {"batchItemFailures": [
        {"itemIdentifier": {"partition": "ember.rounds-2", "offset": 9}},
        {"itemIdentifier": {"partition": "ember.rounds-2", "offset": 4}},
        {"itemIdentifier": {"partition": "ember.rounds-0", "offset": 11}}]}

    assert msk.first_failures(response) == {"ember.rounds-2": 4, "ember.rounds-0": 11}


@pytest.mark.parametrize("failures", [
    "ember.rounds-2@4",
    [{"itemIdentifier": "ember.rounds-2@4"}],
    [{"itemIdentifier": {"partition": "ember.rounds-2"}}],
    [{"itemIdentifier": {"partition": 2, "offset": 4}}],
    [{"id": {"partition": "ember.rounds-2", "offset": 4}}],
])
def test_malformed_failures_are_refused_so_the_whole_batch_is_retried(failures):
    with pytest.raises(ValueError):
        msk.first_failures({"batchItemFailures": failures})


def test_dead_letter_headers_keep_the_originals_and_say_why():
    record = msk.KafkaRecord("ember.commission", 3, 42, 1700000000000, b"k", b"v",
                             headers=(("ember-id", b"e1"), ("ember-attempts", b"9")))

    headers = dead_letter_headers("buy_tokens", record, "RuntimeError: boom", attempts=3)

    assert headers == [("ember-id", b"e1"), ("ember-error", b"RuntimeError: boom"),
                       ("ember-attempts", b"3"), ("ember-consumer", b"buy_tokens"),
                       ("ember-source-topic", b"ember.commission"),
                       ("ember-source-partition", b"3"), ("ember-source-offset", b"42")]
