"""`ember consumers`: the local event source mappings, one Kafka consumer group per consumer.

Locally there is no MSK trigger, so this command plays its part: for every registered
consumer (or the ones named) it polls the consumer's topics and delivers MSK-shaped
batches to the same Lambda handler, committing offsets only after success.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ember.runtime.cli_context import configure_logging, progress, settings_for


def register(group: click.Group, root_option: Callable[[Any], Any]) -> None:
    """Adds `consumers` to the `ember` command group."""

    @group.command()
    @root_option
    @click.option("--only", "names", multiple=True, help="A consumer to run; repeat for several.")
    def consumers(root: Path, names: tuple[str, ...]) -> None:
        """Run the local event source mappings until Ctrl-C or SIGTERM."""
        from ember.adapters.kafka.config import client_config
        from ember.runtime.consumers.local_esm import LocalEventSourceMapping
        from ember.runtime.consumers.registry import consumers as registry

        settings = settings_for(root)
        configure_logging(settings)
        chosen = [registry.get(name) for name in (names or tuple(registry))]
        if not chosen:
            progress("consumers none_registered (buy_tokens and burn arrive with the buy-back)")
            return
        if not settings.kafka_bootstrap_servers:
            raise click.UsageError("KAFKA_BOOTSTRAP_SERVERS is not set (run `ember up` first)")
        config = client_config(settings.kafka_bootstrap_servers, settings.kafka_security,
                               settings.aws_region)
        mappings = [LocalEventSourceMapping(consumer, config).start() for consumer in chosen]
        progress("consumers running " + " ".join(c.name for c in chosen))
        _wait_for_stop()
        for mapping in mappings:
            mapping.stop()
        progress("consumers stopped")


def _wait_for_stop() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
