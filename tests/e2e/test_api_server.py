"""`ember api` serves the players' API over real HTTP, and `ember token` mints tokens it accepts."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

EMBER = Path(sys.executable).with_name("ember")


@dataclass
class RunningApi:
    url: str
    env: dict[str, str]
    root: Path
    process: subprocess.Popen
    log: Path  # its stderr: progress lines and JSON logs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                     if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until_serving(api: RunningApi, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            pytest.fail(f"ember api exited {api.process.returncode}: {api.log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", int(api.url.rsplit(":", 1)[1])), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("ember api did not start listening")


@pytest.fixture
def running_api(stack, database_url: str, tmp_path: Path) -> Iterator[RunningApi]:
    """`ember api` on a free port, on this test's fresh database, without EMBER_JWT_SECRET."""
    root = tmp_path / ".ember"
    env = {**os.environ, **stack.as_env(), "DATABASE_URL": database_url,
           "EMBER_STACK_ROOT": str(root), "EMBER_AUTH_MODE": "hs256"}
    env.pop("EMBER_JWT_SECRET", None)
    port = free_port()
    log = tmp_path / "ember-api.log"
    with log.open("w") as stderr:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen([str(EMBER), "api", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    api = RunningApi(f"http://127.0.0.1:{port}", env, root, process, log)
    try:
        wait_until_serving(api)
        yield api
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_ember_api_serves_health_and_markets_and_stops_on_sigterm(running_api: RunningApi):
    status, health = get(f"{running_api.url}/v1/health")
    assert status == 200 and health["status"] == "ok"
    status, markets = get(f"{running_api.url}/v1/markets")
    assert status == 200 and isinstance(markets["items"], list)
    status, problem = get(f"{running_api.url}/v1/no-such-route")
    assert status == 404 and problem["code"] == "not_found"
    running_api.process.send_signal(signal.SIGTERM)
    assert running_api.process.wait(timeout=20) == 0
    assert "api_serving url=" in running_api.log.read_text()


def test_a_token_from_ember_token_is_accepted_and_the_secret_is_private(running_api: RunningApi):
    minted = subprocess.run([str(EMBER), "token", "alice", "--ttl", "60"], cwd=ROOT,
                            env=running_api.env, capture_output=True, text=True, timeout=60)
    assert minted.returncode == 0, minted.stderr
    status, me = get(f"{running_api.url}/v1/me", token=minted.stdout.strip())
    assert status == 200, me
    assert me["player_id"] == "alice" and me["roles"] == ["player"]
    secret = running_api.root / "jwt-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    status, problem = get(f"{running_api.url}/v1/finance/ledger", token=minted.stdout.strip())
    assert status == 403 and problem["code"] == "forbidden"

