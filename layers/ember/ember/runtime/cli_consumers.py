"""`ember consumers`: the local event source mappings, one Kafka consumer group per consumer.

Locally there is no MSK trigger, so this command plays its part: for every registered
consumer (or the ones named) it polls the consumer's topics and delivers MSK-shaped
batches to the same Lambda handler, committing offsets only after success. `ember up`
starts it in the background when consumers are registered; `ember down` stops it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from ember.runtime.cli_context import configure_logging, progress, settings_for
from ember.runtime.local_stack import processes
from ember.runtime.settings import Settings

# Short group timings: the local broker (Tansu) admits a member to a group only after
# max_poll_interval_ms, and a local batch finishes well within five seconds.
LOCAL_GROUP = {"max_poll_interval_ms": 5000, "session_timeout_ms": 5000,
               "heartbeat_interval_ms": 1500, "request_timeout_ms": 10000}
PID_FILE = "consumers.json"
LOG_FILE = "consumers.log"


def register(group: click.Group, root_option: Callable[[Any], Any]) -> None:
    """Adds `consumers` to the `ember` command group."""

    @group.command()
    @root_option
    @click.option("--only", "names", multiple=True, help="A consumer to run; repeat for several.")
    def consumers(root: Path, names: tuple[str, ...]) -> None:
        """Run the local event source mappings until Ctrl-C or SIGTERM."""
        from ember.adapters.kafka.config import client_config
        from ember.runtime.consumers.local_esm import LocalEventSourceMapping
        from ember.runtime.consumers.registry import load

        settings = settings_for(root)
        configure_logging(settings)
        registry = load(settings.consumer_modules)
        chosen = [registry.get(name) for name in (names or tuple(registry))]
        if not chosen:
            progress("consumers none_registered (buy_tokens and burn arrive with the buy-back)")
            return
        if not settings.kafka_bootstrap_servers:
            raise click.UsageError("KAFKA_BOOTSTRAP_SERVERS is not set (run `ember up` first)")
        config = client_config(settings.kafka_bootstrap_servers, settings.kafka_security,
                               settings.aws_region)
        mappings = [LocalEventSourceMapping(consumer, config, consumer_options=LOCAL_GROUP).start()
                    for consumer in chosen]
        progress("consumers running " + " ".join(c.name for c in chosen))
        _wait_for_stop()
        for mapping in mappings:
            mapping.stop()
        progress("consumers stopped")


def start_detached(root: Path, settings: Settings, env: Mapping[str, str]) -> int | None:
    """The pid of the background `ember consumers` (started or reused); None without consumers."""
    from ember.runtime.consumers.registry import load

    if not len(load(settings.consumer_modules)):
        return None
    running = _recorded(root)
    if running is not None:
        progress(f"consumers reused pid={running['pid']}")
        return int(running["pid"])
    argv = [sys.executable, "-m", "ember.runtime.cli", "consumers", "--root", str(root)]
    pid = processes.spawn_detached(argv, root / LOG_FILE, cwd=Path.cwd(),
                                   env={**os.environ, **env})
    (root / PID_FILE).write_text(json.dumps({"pid": pid,
                                             "started_at": processes.start_time(pid)}))
    progress(f"consumers started pid={pid} log={root / LOG_FILE}")
    return pid


def stop_detached(root: Path) -> None:
    """Stops the background `ember consumers`, if this root started one."""
    running = _recorded(root)
    if running is not None:
        processes.terminate(int(running["pid"]), float(running["started_at"]), timeout=20.0)
        progress(f"consumers stopped pid={running['pid']}")
    (root / PID_FILE).unlink(missing_ok=True)


def _recorded(root: Path) -> dict[str, Any] | None:
    """The recorded background process, when it is still the one we started."""
    try:
        record = json.loads((root / PID_FILE).read_text())
    except (OSError, ValueError):
        return None
    alive = processes.is_running(int(record["pid"]), float(record["started_at"]))
    return record if alive else None


def _wait_for_stop() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
