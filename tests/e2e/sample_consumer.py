"""A consumer registered through EMBER_CONSUMER_MODULES, for the `ember up` test."""

from ember.runtime.consumers import kafka_handler
from ember.runtime.consumers.registry import Consumer, consumers


def remember_commission(conn, event) -> None:
    conn.execute("INSERT INTO e2e_commission_seen (event_id, amount) VALUES (%s, %s)",
                 (event.id, event.payload["amount"]))


consumers.register(Consumer("e2e-commission", ("ember.commission",),
                            kafka_handler(consumer="e2e-commission", service=remember_commission)))
