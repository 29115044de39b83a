"""Helpers for detached service processes: spawn, stop, liveness, ports and waiting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"

# The shell forks the service in the background and exits at once, so the service is
# re-parented away from us: it outlives the CLI and never lingers as our zombie.
_DETACH_SCRIPT = 'log="$1"; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


def spawn_detached(argv: Sequence[str], log_file: Path, *, cwd: Path,
                   env: Mapping[str, str] | None = None) -> int:
    """Start `argv` in a new session with output appended to `log_file`; returns its pid."""
    completed = subprocess.run(
        ["/bin/sh", "-c", _DETACH_SCRIPT, "ember-spawn", str(log_file), *argv],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
        # A new session keeps Ctrl-C in the user's terminal away from the service.
        start_new_session=True,
    )
    return int(completed.stdout.strip())


def start_time(pid: int) -> float:
    """The process's creation time (seconds since the epoch), or 0.0 if it is gone."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return 0.0


def is_running(pid: int, started_at: float) -> bool:
    """True when `pid` is alive, not a zombie, and still the process recorded at `started_at`."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        # The pid may since have been recycled by an unrelated process.
        return abs(process.create_time() - started_at) < 1.0
    except psutil.Error:
        return False


def terminate(pid: int, started_at: float, *, timeout: float = 10.0) -> None:
    """Returns once the process is gone: SIGTERM, then SIGKILL after `timeout` seconds."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not is_running(pid, started_at):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: not is_running(pid, started_at), grace):
            return
    raise TimeoutError(f"pid={pid} still running after SIGKILL")


def wait_until(check: Callable[[], bool], timeout: float, *, interval: float = 0.1) -> bool:
    """True as soon as `check()` is true; False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when a server could bind `port` on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers set SO_REUSEADDR, so a port left in TIME_WAIT is still usable to them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def listens_on(pid: int, port: int) -> bool:
    """True when process `pid` itself holds a TCP socket listening on `port`.

    An answer on a port proves little while the service is starting: the port may have been
    taken by another process since it was found free, and that one answers instead.
    """
    try:
        sockets = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(s.status == psutil.CONN_LISTEN and s.laddr and s.laddr.port == port for s in sockets)


def accepts_connections(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, *, lines: int = 20) -> str:
    """The last `lines` lines of a log file, or a note that it does not exist."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16_384))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.splitlines()[-lines:])
