"""A consumer's `after` step: runs once per batch after its records, outside their
transactions; when it fails, the whole batch is delivered again."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from ember.domain import events
from ember.runtime.consumers import batch_handler, msk, process_batch

pytestmark = pytest.mark.integration

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class DeadLetterList:
    def __init__(self):
        self.sent = []

    def send(self, topic, key, value, headers):
        self.sent.append(topic)


def batch(count: int) -> dict:
    accruals = [events.commission_accrued(uuid.uuid4(), "flip", 10 + i, "USDT", NOW)
                for i in range(count)]
    return msk.batch_event([msk.KafkaRecord(
        "ember.commission", i % 2, i, 1_700_000_000_000, e.key.encode(),
        json.dumps(events.envelope(e)).encode()) for i, e in enumerate(accruals)])


def test_after_runs_once_per_batch_also_when_every_record_is_a_duplicate(ember):
    seen, ran = [], []
    handler = batch_handler("test-after", lambda conn, event: seen.append(event.id), db=ember.db,
                            dead_letters=DeadLetterList(), after=lambda: ran.append(len(seen)))
    delivery = batch(3)
    for _ in range(3):
        assert handler(delivery, None) == {"batchItemFailures": []}
    assert len(seen) == 3 and ran == [3, 3, 3]


def test_a_failing_after_reports_every_record_of_the_batch_for_redelivery(ember):
    seen, attempts = [], []

    def after():
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("chain node down")

    handler = batch_handler("test-after", lambda conn, event: seen.append(event.id), db=ember.db,
                            dead_letters=DeadLetterList(), after=after)
    delivery = batch(4)
    failed = handler(delivery, None)["batchItemFailures"]
    assert sorted((f["itemIdentifier"]["partition"], f["itemIdentifier"]["offset"])
                  for f in failed) == [("ember.commission-0", 0), ("ember.commission-0", 2),
                                       ("ember.commission-1", 1), ("ember.commission-1", 3)]
    assert msk.first_failures({"batchItemFailures": failed}) == {
        "ember.commission-0": 0, "ember.commission-1": 1}
    assert handler(delivery, None) == {"batchItemFailures": []}
    assert len(seen) == 4 and len(attempts) == 2  # effects once; after again


def test_without_after_the_batch_behaves_as_before(ember):
    response = process_batch(batch(2), consumer="test-after", effect=lambda conn, event: None,
                             db=ember.db, dead_letters=DeadLetterList())
    assert response == {"batchItemFailures": []}
