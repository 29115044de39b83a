"""Idempotency under real concurrency: one bet, retried 50 times at once over HTTP against
four API worker processes sharing one database, is taken exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import JWT_SECRET, ROOT, WEBHOOK_SECRET
from tests.support import fund, make_token, market, open_round

WORKERS = 4
REQUESTS = 50
# A worker as Knative runs one: the Chalice app behind the HTTP adapter, its context built
# from the environment on the first request. It binds a free port and writes it to argv[1].
WORKER = """
import sys
sys.path.insert(0, "functions/api")
from app import app
from ember.runtime.http import make_server
server = make_server(app, port=0)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.port))
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
server.run()
"""


@pytest.fixture
def workers(database_url, stack, tmp_path: Path) -> Iterator[list[str]]:
    """Base URLs of API worker processes on the test database, with the real clock."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": stack.redis_url,
           "EMBER_AUTH_MODE": "hs256", "EMBER_JWT_SECRET": JWT_SECRET,
           "EMBER_WEBHOOK_SECRET": WEBHOOK_SECRET, "EMBER_BET_RATE_LIMIT": "1000/second",
           "EMBER_DB_POOL_SIZE": "2", "EMBER_LOG_LEVEL": "WARNING"}
    processes, ports = [], []
    try:
        for n in range(WORKERS):
            port_file = tmp_path / f"worker-{n}.port"
            log = open(tmp_path / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen(
                [sys.executable, "-c", WORKER, str(port_file)], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT), port_file, log))
        deadline = time.monotonic() + 30
        for process, port_file, _ in processes:
            while not port_file.exists():
                assert process.poll() is None, port_file.with_suffix(".log").read_text()
                assert time.monotonic() < deadline, "worker did not start in 30 s"
                time.sleep(0.05)
            ports.append(port_file.read_text())
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process, _, _ in processes:
            process.terminate()
        for process, _, log in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def post(url: str, body: bytes | None, headers: dict[str, str],
         method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_fifty_identical_bets_at_once_across_four_workers_take_one(ember, workers, sql):
    # The workers run on the real clock: a round open now, taking bets for ten minutes.
    now = datetime.now(UTC)
    open_at = now.replace(second=0, microsecond=0)
    rid = open_round(ember, market("race", interval_s=600, bet_window_s=590), open_at)
    assert open_at + timedelta(seconds=590) > now + timedelta(seconds=60)
    fund(ember, "alice", 1000)

    body = json.dumps({"outcome": 1, "amount": 100}).encode()
    headers = {"Authorization": make_token("alice"), "Content-Type": "application/json",
               "Idempotency-Key": str(uuid.uuid4())}
    for worker in workers:  # warm: context, pool and token verifier built before the race
        assert post(f"{worker}/v1/me", None, headers, method="GET")[0] == 200
    start = threading.Barrier(REQUESTS)
    results: list[tuple[int, dict[str, str], bytes]] = [None] * REQUESTS  # type: ignore[list-item]

    def one(i: int) -> None:
        start.wait()
        results[i] = post(f"{workers[i % WORKERS]}/v1/rounds/{rid}/bets", body, headers)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = [status for status, _, _ in results]
    assert statuses == [201] * REQUESTS, [r[2][:200] for r in results if r[0] != 201][:3]
    assert len({raw for _, _, raw in results}) == 1  # every caller heard the same bet
    replayed = [h.get("Idempotent-Replayed") for _, h, _ in results]
    assert replayed.count("true") == REQUESTS - 1 and replayed.count(None) == 1

    answer = json.loads(results[0][2])
    rows = sql.execute("SELECT id::text, player_id, amount FROM bets").fetchall()
    assert rows == [{"id": answer["bet"]["id"], "player_id": "alice", "amount": 100}]
    assert answer["balance"] == 900 and ember.ledger.balance("alice") == 900
    transfers = sql.execute("SELECT count(*) AS n FROM transfers WHERE kind = 'bet'").fetchone()
    assert transfers["n"] == 1
