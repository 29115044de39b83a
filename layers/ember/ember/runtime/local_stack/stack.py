"""`up`, `down` and `status` for the local stack: env-named services or embedded ones."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ember.runtime.local_stack import chain, kafka, postgres, processes, redis, state
from ember.runtime.local_stack.errors import StackError
from ember.runtime.local_stack.state import ServiceRecord

Log = Callable[[str], None]
DEFAULT_ROOT = Path(".ember")


class Service(Protocol):
    """What each service module provides (postgres, redis, kafka, chain)."""

    NAME: str
    ENV_VAR: str
    STARTUP_TIMEOUT: float

    def log_file(self, root: Path) -> Path: ...
    def start(self, root: Path, port: int) -> ServiceRecord: ...
    def stop(self, root: Path, record: ServiceRecord) -> None: ...
    def is_healthy(self, url: str) -> bool: ...


# Start order; `down` stops them in reverse.
SERVICES: tuple[Service, ...] = (postgres, redis, kafka, chain)
# Started and reported only when asked for (`up(with_chain=True)`, `up_chain`): a Hardhat
# node takes ~4 s to start, which most commands and test sessions do not need, and a chain
# in the settings switches the round salts to block hashes.
ON_DEMAND = frozenset({chain.NAME})
# Starts tried, each on a fresh free port, when the port was taken before the service bound it.
_PORT_ATTEMPTS = 3
# How long a restart waits for the old port to be let go before it takes another one.
_PORT_RELEASE_S = 2.0


@dataclass(frozen=True)
class StackUrls:
    """Where the application finds each backing service."""

    database_url: str
    redis_url: str
    kafka_bootstrap_servers: str
    chain_rpc_url: str | None = None  # None: the env names no chain and none was asked for

    def as_env(self) -> dict[str, str]:
        """The URLs under the environment variable names the configuration reads."""
        env = {
            postgres.ENV_VAR: self.database_url,
            redis.ENV_VAR: self.redis_url,
            kafka.ENV_VAR: self.kafka_bootstrap_servers,
        }
        if self.chain_rpc_url is not None:
            env[chain.ENV_VAR] = self.chain_rpc_url
        return env


@dataclass(frozen=True)
class ServiceStatus:
    """One service as `status` sees it; url and pid are None when nothing is recorded."""

    name: str
    source: Literal["env", "embedded"]
    url: str | None
    pid: int | None
    healthy: bool


def _quiet(line: str) -> None:
    """Discards progress lines."""


def up(
    root: Path = DEFAULT_ROOT,
    env: Mapping[str, str] | None = None,
    log: Log = _quiet,
    *,
    with_chain: bool = False,
) -> StackUrls:
    """The URLs of a healthy stack: env-named services as given, the rest embedded and running.

    The chain is included only `with_chain` or when the env names one. Idempotent: a
    recorded healthy service is reused, a dead one restarted (on its old port when that is
    still free). Safe to call from several processes at once.
    """
    env = os.environ if env is None else env
    wanted = {s.NAME for s in SERVICES
              if with_chain or s.NAME not in ON_DEMAND or env.get(s.ENV_VAR)}
    urls = _bring_up(root, env, log, wanted)
    return StackUrls(
        database_url=urls[postgres.ENV_VAR],
        redis_url=urls[redis.ENV_VAR],
        kafka_bootstrap_servers=urls[kafka.ENV_VAR],
        chain_rpc_url=urls.get(chain.ENV_VAR),
    )


def up_chain(
    root: Path = DEFAULT_ROOT, env: Mapping[str, str] | None = None, log: Log = _quiet
) -> str:
    """The chain's JSON-RPC URL: CHAIN_RPC_URL as given, else an embedded node, running.

    Touches no other service, so it costs only the node's own start (or a health check).
    """
    env = os.environ if env is None else env
    return _bring_up(root, env, log, {chain.NAME})[chain.ENV_VAR]


def _bring_up(root: Path, env: Mapping[str, str], log: Log, wanted: set[str]) -> dict[str, str]:
    """URLs by env var name of the `wanted` services: env-named as given, else started if need be."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    with state.locked(root, log):
        records = state.load(root)
        for service in (s for s in SERVICES if s.NAME in wanted):
            if env.get(service.ENV_VAR):
                # Never log the URL itself: it may carry a password.
                log(f"{service.NAME} from_env var={service.ENV_VAR}")
                urls[service.ENV_VAR] = env[service.ENV_VAR]
                continue
            record = _ensure_running(service, root, records.get(service.NAME), log)
            records[service.NAME] = record
            state.save(root, records)  # after each, so a later failure still leaves it stoppable
            urls[service.ENV_VAR] = record.url
    return urls


def down(root: Path = DEFAULT_ROOT, log: Log = _quiet) -> None:
    """Returns once every embedded service recorded under `root` is stopped and forgotten."""
    root = root.resolve()
    if not (root / state.STATE_FILE).exists():
        return
    with state.locked(root, log):
        records = state.load(root)
        for service in reversed(SERVICES):
            record = records.pop(service.NAME, None)
            if record is None:
                continue
            log(f"{service.NAME} stopping pid={record.pid}")
            try:
                service.stop(root, record)
            except Exception as exc:  # any failure: report it with the service's log
                raise _failure(service, root, f"did not stop pid={record.pid}: {exc}") from exc
            state.save(root, records)
            log(f"{service.NAME} stopped")


def status(root: Path = DEFAULT_ROOT, env: Mapping[str, str] | None = None) -> list[ServiceStatus]:
    """Each service's source, URL, pid and whether it answers right now.

    An on-demand service (the chain) is listed only when the env names it or it was started.
    """
    env = os.environ if env is None else env
    records = state.load(root.resolve())
    return [
        _status(service, env, records.get(service.NAME))
        for service in SERVICES
        if service.NAME not in ON_DEMAND or env.get(service.ENV_VAR) or service.NAME in records
    ]


def _status(
    service: Service, env: Mapping[str, str], record: ServiceRecord | None
) -> ServiceStatus:
    url = env.get(service.ENV_VAR)
    if url:
        return ServiceStatus(service.NAME, "env", url, None, service.is_healthy(url))
    if record is None:
        return ServiceStatus(service.NAME, "embedded", None, None, False)
    healthy = _answers(service, record)
    return ServiceStatus(service.NAME, "embedded", record.url, record.pid, healthy)


def _answers(service: Service, record: ServiceRecord) -> bool:
    """True when the recorded process is still ours and the service answers."""
    return processes.is_running(record.pid, record.started_at) and service.is_healthy(record.url)


def _ensure_running(
    service: Service, root: Path, record: ServiceRecord | None, log: Log
) -> ServiceRecord:
    """The record of a healthy embedded service: the recorded one if it answers, else a new one."""
    if record is not None:
        if _answers(service, record):
            log(f"{service.NAME} reused url={record.url} pid={record.pid}")
            return record
        log(f"{service.NAME} restarting reason=not_healthy pid={record.pid}")
        _stop_quietly(service, root, record)
    # Keeping the old port keeps the URL other shells may already have exported.
    port = record.port if record and _released(record.port) else processes.free_port()
    # A free port is only free until someone binds it: another process (a parallel test
    # session, say) may take it between the probe and the service's own bind.
    for _ in range(_PORT_ATTEMPTS - 1):
        try:
            return _start(service, root, port, log)
        except StackError:
            if processes.port_is_free(port):
                raise  # not a lost race for the port
        log(f"{service.NAME} port_taken port={port}")
        port = processes.free_port()
    return _start(service, root, port, log)


def _released(port: int) -> bool:
    """True when `port` is free or let go within _PORT_RELEASE_S: a killed service's last
    threads may hold its socket a moment after the process counts as gone."""
    return processes.wait_until(lambda: processes.port_is_free(port), _PORT_RELEASE_S)


def _start(service: Service, root: Path, port: int, log: Log) -> ServiceRecord:
    """The record of `service` started on `port` and answering."""
    log(f"{service.NAME} starting port={port}")
    try:
        started = service.start(root, port)
    except Exception as exc:  # any failure: report it with the service's log
        raise _failure(service, root, f"failed to start on port {port}: {exc}") from exc
    _await_healthy(service, root, started)
    log(f"{service.NAME} ready url={started.url} pid={started.pid}")
    return started


def _await_healthy(service: Service, root: Path, record: ServiceRecord) -> None:
    """Returns once the service answers; raises if it exits or stays silent too long."""

    def alive() -> bool:
        return processes.is_running(record.pid, record.started_at)

    def answers() -> bool:  # and it is our process that answers, not a port's new owner
        return processes.listens_on(record.pid, record.port) and service.is_healthy(record.url)

    answered = processes.wait_until(lambda: not alive() or answers(), service.STARTUP_TIMEOUT)
    if not alive():
        raise _failure(service, root, f"exited during startup pid={record.pid}")
    if not answered:
        _stop_quietly(service, root, record)  # unrecorded, it would otherwise leak
        raise _failure(
            service, root, f"not healthy after {service.STARTUP_TIMEOUT:.0f}s url={record.url}"
        )


def _stop_quietly(service: Service, root: Path, record: ServiceRecord) -> None:
    """Stops a service that is being replaced; a failure here must not hide the real error."""
    with contextlib.suppress(Exception):
        service.stop(root, record)


def _failure(service: Service, root: Path, reason: str) -> StackError:
    """A StackError naming the service and the reason, ending with the tail of its log."""
    log_path = service.log_file(root)
    tail = processes.log_tail(log_path)
    return StackError(f"{service.NAME} {reason}\n--- last lines of {log_path} ---\n{tail}")
