"""Scheduled: publish the outbox events the publish-after-commit missed (EventBridge, PingSource)."""

from ember.runtime.bootstrap import Ember
from ember.runtime.entry import schedule_handler
from ember.runtime.settings import SettingsError
from ember.services.outbox_relay import relay_outbox


def relay_events(app: Ember) -> dict[str, object]:
    """What this sweep published; a broker failure is reported here, the next sweep retries."""
    if app.publisher is None:
        raise SettingsError("invalid setting KAFKA_BOOTSTRAP_SERVERS: is required by the relay")
    run = relay_outbox(outbox=app.outbox, publisher=app.publisher)
    return {"events_published": run.published, "batches": run.batches, "skipped": run.skipped,
            "error": run.error}


handler = schedule_handler(relay_events)
