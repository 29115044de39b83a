"""The demo's running functions, each an `ember` subprocess as an operator would start it: the
API (HTTP adapter), the keeper, the outbox relay and the buy_tokens/burn consumers.

They run in their own session, so a Ctrl-C in the terminal reaches only the demo, which then
stops them: keeper, relay and consumers first (a buy-back in progress finishes, a
batch not yet committed is redelivered at the next start), the API after the audit.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ember.runtime.local_stack import processes

_STOP_TIMEOUT_S = 20.0


@dataclass
class Service:
    """One running `ember` subprocess, its log and the signal that stops it cleanly."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: signal.Signals
    _output: IO[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_stop(self) -> None:
        """Asks it to stop (its clean-stop signal); `wait` collects it."""
        if self.alive():
            self.process.send_signal(self.stop_signal)

    def wait(self, deadline: float) -> int | None:
        """Its exit code, once it exited (SIGKILL once the monotonic `deadline` passed)."""
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self._output is not None:
            self._output.close()
        return self.process.returncode


@dataclass
class Services:
    """The demo's functions, in start order; the API's URL."""

    api_url: str
    running: list[Service]

    def dead(self) -> list[str]:
        """Names of those that exited by themselves."""
        return [s.name for s in self.running if not s.alive()]

    def stop(self, *names: str) -> dict[str, int | None]:
        """Exit codes by name, after stopping those named (all when none are), all at once."""
        chosen = [s for s in self.running if not names or s.name in names]
        for service in chosen:
            service.signal_stop()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        return {service.name: service.wait(deadline) for service in chosen}


def start_services(env: dict[str, str], root: Path, repo: Path, *, keeper_every: float,
                   log_dir: Path) -> Services:
    """The API, keeper, relay and consumers, started; returns once the API answers."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = processes.free_port()
    api_url = f"http://{processes.LOOPBACK}:{port}"
    commands = {
        "api": (["api", "--port", str(port), "--app", str(repo / "functions/api/app.py")],
                signal.SIGTERM),
        "keeper": (["keeper", "--every", f"{keeper_every:g}"], signal.SIGINT),
        "relay": (["relay", "--every", "1"], signal.SIGINT),
        "consumers": (["consumers"], signal.SIGTERM),
    }
    running: list[Service] = []
    try:
        for name, (args, stop_signal) in commands.items():
            running.append(_spawn(name, args, stop_signal, env, root, repo, log_dir))
        services = Services(api_url, running)
        _await_api(services)
        return services
    except BaseException:
        Services(api_url, running).stop()
        raise


def _spawn(name: str, args: list[str], stop_signal: signal.Signals, env: dict[str, str],
           root: Path, repo: Path, log_dir: Path) -> Service:
    log = log_dir / f"{name}.log"
    output = log.open("ab")
    argv = [sys.executable, "-m", "ember.runtime.cli", *args, "--root", str(root)]
    process = subprocess.Popen(argv, cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=output,
                               stderr=subprocess.STDOUT, start_new_session=True)
    return Service(name, process, log, stop_signal, output)


def _await_api(services: Services, timeout: float = 60.0) -> None:
    """Returns once GET /v1/health answers 200; raises naming the log when it does not."""
    deadline = time.monotonic() + timeout
    api = services.running[0]
    while time.monotonic() < deadline:
        if not api.alive():
            raise RuntimeError(f"the API exited during startup: {processes.log_tail(api.log)}")
        with (contextlib.suppress(OSError, ValueError),
              urllib.request.urlopen(f"{services.api_url}/v1/health", timeout=2) as answer):
            if json.loads(answer.read()).get("status") == "ok":
                return
        time.sleep(0.2)
    raise RuntimeError(f"the API did not answer within {timeout:.0f}s; see {api.log}")
