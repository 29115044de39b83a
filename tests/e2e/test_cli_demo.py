"""The `ember` command and the round keeper's schedule handler, run as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support import ledger_totals, market

pytestmark = pytest.mark.integration

EMBER = Path(sys.executable).with_name("ember")
Run = Callable[..., subprocess.CompletedProcess]

# What EventBridge sends on a schedule (the shape Knative's PingSource adapter produces too).
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2030-01-01T00:00:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:events:eu-west-1:123456789012:rule/ember-round-keeper"],
    "detail": {},
}


@pytest.fixture
def ember_cli(stack, database_url: str, tmp_path: Path) -> Run:
    """Runs `ember ARGS` against the test's fresh database; `env` entries override."""
    base = {**os.environ, **stack.as_env(), "DATABASE_URL": database_url,
            "EMBER_MARKETS_FILE": str(ROOT / "config" / "markets.toml"),
            "EMBER_STACK_ROOT": str(tmp_path / ".ember")}  # never the repo's stack

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(EMBER), *args], cwd=ROOT, env={**base, **(env or {})},
                              capture_output=True, text=True, timeout=120)

    return run


def _played_rounds(sql) -> list[dict]:
    """The demo market's rounds that took bets, oldest first."""
    return sql.execute("SELECT r.id, r.open_at, r.status FROM rounds r"
                       " WHERE r.market_id = 'demo-rgb-3s'"
                       " AND EXISTS (SELECT FROM bets b WHERE b.round_id = r.id)"
                       " ORDER BY r.open_at").fetchall()


def test_demo_plays_its_rounds_over_http_and_the_audit_passes(ember_cli, sql, chain_rpc_url):
    result = ember_cli("demo", "--players", "3", "--rounds", "2", "--speed", "3",
                       env={"CHAIN_RPC_URL": chain_rpc_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit passed" in result.stdout
    assert "2 of 2 replays: Idempotent-Replayed, same bet id" in result.stdout
    played = _played_rounds(sql)
    assert len(played) == 2 and {row["status"] for row in played} <= {"settled", "refunded"}
    assert sql.execute("SELECT count(*) AS n FROM deposits").fetchone()["n"] == 3  # the webhook
    assert ledger_totals(sql) == {"total": 0, "negative": 0, "drift": 0}


def test_demo_run_again_reuses_the_deployment_and_continues(ember_cli, sql, chain_rpc_url):
    env = {"CHAIN_RPC_URL": chain_rpc_url}
    first = ember_cli("demo", "--players", "2", "--rounds", "1", "--speed", "3", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    again = ember_cli("demo", "--players", "2", "--rounds", "1", "--speed", "3", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "reusing deployment" in again.stderr
    played = _played_rounds(sql)
    assert len(played) == 2 and played[0]["open_at"] < played[1]["open_at"]
    # Funded once: the second run finds the players' balances above half the deposit.
    assert sql.execute("SELECT count(*) AS n FROM deposits").fetchone()["n"] == 2


def test_keeper_once_creates_the_upcoming_rounds(ember_cli, sql):
    assert ember_cli("markets", "sync").returncode == 0
    result = ember_cli("keeper", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("keeper_pass ")
    per_market = sql.execute("SELECT market_id, count(*) AS n FROM rounds GROUP BY market_id"
                             " ORDER BY market_id").fetchall()
    # The running round is skipped once it has locked; the next two always come.
    assert [row["market_id"] for row in per_market] == ["coin-flip-1m", "dice-5m"]
    assert all(row["n"] >= 2 for row in per_market)


def test_the_same_payment_id_credits_once(ember_cli, sql):
    first = ember_cli("deposit", "alice", "5000000", "--payment-id", "psp-1")
    second = ember_cli("deposit", "alice", "5000000", "--payment-id", "psp-1")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith("credited ") and second.stdout.startswith("already_credited ")
    assert "minor=5000000" in ember_cli("balance", "alice").stdout
    assert sql.execute("SELECT count(*) AS n FROM deposits").fetchone()["n"] == 1


def test_a_bad_database_url_exits_2_naming_the_variable(ember_cli):
    result = ember_cli("keeper", "--once", env={"DATABASE_URL": "mysql://x"})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_refused_request_exits_2_with_its_code(ember_cli):
    result = ember_cli("deposit", "alice", "0", "--payment-id", "psp-0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("ember: invalid_amount:")


def test_up_with_every_service_named_prints_exports_and_prepares_the_database(
        ember_cli, database_url, sql, chain_rpc_url):
    # The chain named too: `up` must start nothing the test would have to stop.
    result = ember_cli("up", env={"CHAIN_RPC_URL": chain_rpc_url})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert all(line.startswith("export ") for line in lines)
    assert f"export DATABASE_URL={database_url}" in lines
    markets = sql.execute("SELECT id FROM markets WHERE active ORDER BY id").fetchall()
    assert [row["id"] for row in markets] == ["coin-flip-1m", "dice-5m"]


def test_status_exits_1_while_the_stack_is_down(ember_cli):
    nothing_named = {"DATABASE_URL": "", "REDIS_URL": "", "KAFKA_BOOTSTRAP_SERVERS": ""}
    result = ember_cli("status", env=nothing_named)
    assert result.returncode == 1
    assert all(name in result.stdout for name in ("postgres", "redis", "kafka"))


# Run in a child process, like a Lambda container: the handler configures the process's
# root logger, which must not leak into other tests.
_INVOKE = """
import importlib.util, json, sys
from ember.runtime import entry
spec = importlib.util.spec_from_file_location("round_keeper_app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
responses, apps = [], set()
for event in json.loads(sys.argv[2]):
    responses.append(app.handler(event, None))
    apps.add(id(entry.current_app()))
print(json.dumps({"responses": responses, "apps_built": len(apps)}), file=sys.stderr)
"""


@pytest.fixture
def invoke_round_keeper(database_url: str) -> Callable[..., tuple[dict, list[dict]]]:
    """Calls functions/round_keeper/app.py's handler once per event in a fresh process:
    (what it returned, its JSON log lines)."""

    def invoke(*events: dict) -> tuple[dict, list[dict]]:
        env = {**os.environ, "DATABASE_URL": database_url, "EMBER_DB_POOL_SIZE": "2"}
        done = subprocess.run(
            [sys.executable, "-c", _INVOKE, str(ROOT / "functions" / "round_keeper" / "app.py"),
             json.dumps(events)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        logs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return json.loads(done.stderr.strip().splitlines()[-1]), logs

    return invoke


def test_round_keeper_handler_creates_rounds_from_a_scheduled_event(ember, invoke_round_keeper,
                                                                    sql):
    ember.markets.sync([market("flip", interval_s=60, bet_window_s=45)])
    outcome, logs = invoke_round_keeper(SCHEDULED_EVENT)
    response = outcome["responses"][0]
    assert response["job"] == "keep_rounds"
    assert response["correlation_id"] == SCHEDULED_EVENT["id"]
    created = response["result"]["rounds_created"]
    assert created >= 2
    assert sql.execute("SELECT count(*) AS n FROM rounds").fetchone()["n"] == created
    done = [line for line in logs if line["message"] == "schedule_job_done"]
    assert done and done[0]["labels.correlation_id"] == SCHEDULED_EVENT["id"]


def test_round_keeper_handler_builds_the_app_once_per_process(ember, invoke_round_keeper):
    ember.markets.sync([market("flip")])
    outcome, _ = invoke_round_keeper(SCHEDULED_EVENT, {**SCHEDULED_EVENT, "id": "second-event"})
    assert outcome["apps_built"] == 1
    assert [r["correlation_id"] for r in outcome["responses"]] == [SCHEDULED_EVENT["id"],
                                                                  "second-event"]
