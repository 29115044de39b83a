"""`ember up` runs a local event source mapping for every registered consumer; `down` stops it."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ember.adapters.kafka.config import client_config
from ember.adapters.kafka.events import KafkaEventPublisher
from ember.runtime.local_stack import processes
from ember.services.keeper import run_keeper
from ember.services.outbox_relay import relay_outbox
from tests.support import market, two_sided_round

ROOT = Path(__file__).resolve().parents[2]


def ember_cli(args, env):
    return subprocess.run([sys.executable, "-m", "ember.runtime.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_ember_up_runs_registered_consumers_and_down_stops_them(ember, sql, stack, clock,
                                                                 tmp_path):
    sql.execute("CREATE TABLE e2e_commission_seen (event_id uuid PRIMARY KEY, amount bigint)")
    env = {**os.environ, **stack.as_env(), "DATABASE_URL": ember.settings.database_url,
           "EMBER_CONSUMER_MODULES": "tests.e2e.sample_consumer", "PYTHONPATH": str(ROOT)}
    started = ember_cli(["up", "--root", str(tmp_path)], env)
    assert started.returncode == 0, started.stderr
    record = json.loads((tmp_path / "consumers.json").read_text())
    assert processes.is_running(record["pid"], record["started_at"])
    try:
        rid = two_sided_round(ember, market(commission_bps=1000))
        run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock)
        publisher = KafkaEventPublisher(client_config(stack.kafka_bootstrap_servers))
        try:
            assert relay_outbox(outbox=ember.outbox, publisher=publisher).published == 2
        finally:
            publisher.close()
        # The session's broker may hold other tests' events too: look for this round's.
        accrual = uuid.uuid5(rid, "commission.accrued")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = sql.execute("SELECT amount FROM e2e_commission_seen WHERE event_id = %s",
                               (accrual,)).fetchall()
            if seen:
                break
            time.sleep(0.5)
        assert seen == [{"amount": 100}], (tmp_path / "consumers.log").read_text()[-2000:]
    finally:
        stopped = ember_cli(["down", "--root", str(tmp_path)], env)
    assert stopped.returncode == 0, stopped.stderr
    assert not processes.is_running(record["pid"], record["started_at"])
