"""`ember relay` and the outbox_relay schedule handler, run as an operator and a scheduler would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ember.services.keeper import run_keeper
from ember.services.place_bet import PlaceBet, place_bet
from tests.conftest import ROOT
from tests.e2e.test_cli_demo import _INVOKE, EMBER, SCHEDULED_EVENT
from tests.support import fund, market, open_round

pytestmark = pytest.mark.integration


@pytest.fixture
def settled(ember, clock, unique) -> int:
    """Outbox rows waiting: a round settled with publishing off (the `ember` app has no Kafka)."""
    rid = open_round(ember, market(id=f"cli-relay-{unique}"))
    for player, outcome in (("a", 0), ("b", 1)):
        fund(ember, player, 100)
        place_bet(PlaceBet(player, rid, outcome, 50, f"k-{player}"), bets=ember.bets, clock=clock)
    clock.advance(60)
    run_keeper(markets=ember.markets, rounds=ember.rounds, salts=ember.salts, clock=clock)
    return 2  # round.settled, commission.accrued


def run(database_url: str, kafka: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": kafka,
           "EMBER_DB_POOL_SIZE": "2"}
    return subprocess.run([*args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def unpublished(sql) -> int:
    return sql.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]


def test_relay_once_publishes_the_waiting_events(stack, database_url, settled, sql):
    result = run(database_url, stack.kafka_bootstrap_servers, str(EMBER), "relay", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("relay_pass ") and f" published={settled} " in result.stdout
    assert unpublished(sql) == 0


def test_relay_without_kafka_exits_2_naming_the_variable(database_url):
    result = run(database_url, "", str(EMBER), "relay", "--once")
    assert result.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stderr and "Traceback" not in result.stderr


def test_relay_handler_publishes_from_a_scheduled_event(stack, database_url, settled, sql):
    app = str(ROOT / "functions" / "outbox_relay" / "app.py")
    result = run(database_url, stack.kafka_bootstrap_servers, sys.executable, "-c", _INVOKE, app,
                 json.dumps([SCHEDULED_EVENT, {**SCHEDULED_EVENT, "id": "again"}]))
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stderr.strip().splitlines()[-1])["responses"]
    assert first["job"] == "relay_events"
    assert first["result"] == {"events_published": settled, "batches": 1, "skipped": False,
                               "error": None}
    assert second["result"]["events_published"] == 0 and unpublished(sql) == 0
