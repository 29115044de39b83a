"""The relay's sweep with fakes: batches in order, bounded, reports a broker failure."""

from __future__ import annotations

from datetime import UTC, datetime

from ember.domain.events import Event
from ember.services.outbox_relay import publish_after_commit, relay_outbox
from ember.services.ports import PublishFailed

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def events(count: int) -> list[Event]:
    return [Event("t", f"k{n % 3}", "test.happened", 1, NOW, {"n": n}) for n in range(count)]


class FakeOutbox:
    """Unpublished events in seq order; `publish_next` marks only what `publish` accepted."""

    def __init__(self, pending: list[Event], locked: bool = False) -> None:
        self.pending = list(pending)
        self.locked = locked

    def publish_next(self, limit, publish):
        if self.locked:
            return None
        batch = self.pending[:limit]
        if batch:
            publish(batch)  # raises: nothing is marked
            del self.pending[:len(batch)]
        return len(batch)


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Event] = []
        self.fail = fail

    def publish(self, batch):
        if self.fail:
            raise PublishFailed("KafkaTimeoutError: broker down")
        self.sent.extend(batch)


def test_a_sweep_publishes_every_pending_event_in_order_in_batches():
    pending = events(25)
    outbox, publisher = FakeOutbox(pending), FakePublisher()
    run = relay_outbox(outbox=outbox, publisher=publisher, batch_size=10)
    assert (run.published, run.batches, run.skipped, run.error) == (25, 3, False, None)
    assert publisher.sent == pending and outbox.pending == []


def test_a_sweep_stops_after_max_batches_and_leaves_the_rest():
    outbox, publisher = FakeOutbox(events(25)), FakePublisher()
    run = relay_outbox(outbox=outbox, publisher=publisher, batch_size=10, max_batches=2)
    assert (run.published, run.batches) == (20, 2) and len(outbox.pending) == 5


def test_a_sweep_returns_at_once_when_another_relay_is_sweeping():
    outbox, publisher = FakeOutbox(events(5), locked=True), FakePublisher()
    run = relay_outbox(outbox=outbox, publisher=publisher)
    assert (run.published, run.skipped) == (0, True) and publisher.sent == []


def test_a_broker_failure_is_reported_and_nothing_is_marked():
    outbox = FakeOutbox(events(5))
    run = relay_outbox(outbox=outbox, publisher=FakePublisher(fail=True))
    assert run.published == 0 and run.error == "KafkaTimeoutError: broker down"
    assert len(outbox.pending) == 5


def test_publish_after_commit_is_absent_without_a_publisher():
    assert publish_after_commit(outbox=FakeOutbox([]), publisher=None) is None


def test_publish_after_commit_never_raises():
    class BrokenOutbox:
        def publish_next(self, limit, publish):
            raise RuntimeError("database gone")

    hook = publish_after_commit(outbox=BrokenOutbox(), publisher=FakePublisher())
    assert hook is not None
    hook()  # logged, not raised: the writer's change is committed whatever happens here
