"""Bets per second through the Lambda path, against `pgbench -N` on the same database.

Measured: WORKERS processes, each the API Lambda as AWS runs it: `functions/api/app.py`
imported with its settings from the environment, then called as `app(event, context)`
with API Gateway REST proxy events (payload 1.0) for `POST /v1/rounds/{id}/bets`. Every
request carries a player's bearer token (HS256, verified by the app), a fresh
Idempotency-Key and a JSON body; the bet goes through the rate limiter (real Redis) and
the bet transaction (real PostgreSQL). No HTTP: API Gateway's part is only the event.
Baseline: `pgbench -N` (TPC-B-like without the branch and teller updates: one UPDATE, one
SELECT, one INSERT per transaction) with as many clients, for as long, on the same
database. Runs alternate (bets, pgbench, bets, pgbench…) and the medians are compared.

Also reported: p50/p99 latency of one bet as the handler sees it, the cold import time
of the API module in a fresh interpreter, and the first request of a fresh worker (the
context built from the environment: settings, pool, verifier, limiter).
After the runs: every 201 is one bet in the database, the ledger sums to zero and no
player is below zero.

Where the time goes: the CPU each side spends per bet and per pgbench transaction (the
workers, PostgreSQL's processes, Redis), and a ceiling: the same workers, events and
Lambda path with a handler that does only what any bet must (parse the body, one rate-limit
hit in Redis, one prepared INSERT in autocommit), against pgbench in the same way. No bet
implementation on this path can beat that ceiling's ratio.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from ember.domain.fairness import new_seed
from ember.domain.markets import Market
from ember.domain.money import CURRENCY
from ember.domain.rounds import round_id
from ember.runtime.bootstrap import build
from ember.runtime.migrate import apply_migrations
from ember.runtime.settings import load_settings

from .common import (
    fetch_row,
    fund_players,
    median,
    progress,
    report,
    scratch_database,
    timed,
)

NAME = "bet_api"
TARGET = 0.4
WORKERS = 4  # API processes, and pgbench clients
PLAYERS = 200
DURATION_S = 12.0  # each measured run, of either kind
REPEATS = 3  # bets, pgbench, bets, pgbench…
WARM_UP_BETS = 25  # per worker, untimed: the context is built, the pool and Redis connected
STAKE = 1000
DEPOSIT = 10**12  # per player: no run can spend it
JWT_SECRET = "bench-secret-that-is-at-least-32-bytes-long"
IMPORT_SAMPLES = 3
ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "functions" / "api"
MARKET = Market(id="bench-api", title="bench api", outcomes=("heads", "tails"), interval_s=3600,
                bet_window_s=3500, commission_bps=300, min_bet=1, max_bet=10**9)
_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)

def main() -> None:
    started = time.perf_counter()
    with scratch_database(f"ember_bench_{os.getpid()}") as url:
        _bench(url)
    progress(f"{NAME}: whole bench took {time.perf_counter() - started:.1f} s")


def _bench(url: str) -> None:
    progress(f"{NAME}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    import_ms = cold_import_ms()
    progress(f"{NAME}: cold import of the API module (functions/api/app.py, fresh interpreter,"
             f" median of {IMPORT_SAMPLES}) {import_ms:.0f} ms; web3/ccxt not imported")
    rid, setup_s = timed(lambda: set_up(url))
    progress(f"{NAME}: setup (migrations, market, open round, {PLAYERS} funded players,"
             f" pgbench -i -s 1) in {setup_s:.1f} s")
    workers = Workers(url, rid, WORKERS)
    try:
        progress(f"{NAME}: {WORKERS} workers ready; first request of a fresh worker (context"
                 f" from env) median {median(workers.first_ms):.0f} ms")
        bets_s, tps_s, latencies = alternate(url, workers)
    finally:
        workers.close()
    placed = workers.placed
    check_ledger(url, placed)
    measure_ceiling(url, rid)
    value, baseline = median(bets_s), median(tps_s)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    pairs = [b / t for b, t in zip(bets_s, tps_s, strict=True)]
    progress(f"{NAME}: bets/s {_listed(bets_s)} median {value:.0f}")
    progress(f"{NAME}: pgbench -N tps {_listed(tps_s)} median {baseline:.0f}")
    progress(f"{NAME}: ratio per pair {_listed(pairs, '.3f')}, median {median(pairs):.3f}"
             " (the pairs ran back to back: less exposed to load from other work)")
    progress(f"{NAME}: bet latency in the handler p50 {p50:.2f} ms, p99 {p99:.2f} ms"
             f" ({len(latencies)} bets); cold import {import_ms:.0f} ms")
    report(NAME, value, baseline, TARGET)


# --- setup ---------------------------------------------------------------------------

def set_up(url: str) -> uuid.UUID:
    """The id of a round open now (for an hour) with PLAYERS funded players; pgbench tables."""
    apply_migrations(url)
    ember = build(load_settings(DATABASE_URL=url, EMBER_DB_POOL_SIZE=1))
    try:
        ember.markets.sync([MARKET])
        now = datetime.now(UTC)
        # Aligned down to the minute: open now, and for at least 3440 s more.
        open_at = now.replace(second=0, microsecond=0)
        ember.rounds.create(MARKET, open_at, new_seed(), now)
        rid = round_id(MARKET.id, open_at)
        ember.db.run(lambda conn: fund_players(conn, prefix="bp", width=4, players=PLAYERS,
                                               deposit=DEPOSIT, currency=CURRENCY))
    finally:
        ember.close()
    # pgbench's own tables (pgbench_*), beside Ember's in the same database.
    _pgbench(["-i", "-s", "1", "-q"], url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    row = fetch_row(url, "SELECT status, lock_at FROM rounds WHERE id = %s", (rid,))
    assert row["status"] == "open" and row["lock_at"] > datetime.now(UTC) + timedelta(minutes=30)
    return rid


def players() -> list[str]:
    return [f"bp{n:04d}" for n in range(1, PLAYERS + 1)]


def bearer(player: str) -> str:
    """`Bearer <jwt>` as the identity provider would issue it to `player` (HS256)."""
    import jwt

    now = int(time.time())
    claims = {"sub": player, "iss": "ember-local", "aud": "ember", "iat": now, "exp": now + 3600,
              "cognito:groups": ["player"]}
    return "Bearer " + jwt.encode(claims, JWT_SECRET, algorithm="HS256", headers={"kid": "local"})


def worker_env(url: str) -> dict[str, str]:
    """What the API Lambda's configuration would hold."""
    return {"DATABASE_URL": url, "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "EMBER_AUTH_MODE": "hs256", "EMBER_JWT_SECRET": JWT_SECRET,
            "EMBER_BET_RATE_LIMIT": "100000/second", "EMBER_DB_POOL_SIZE": "2",
            "EMBER_LOG_LEVEL": os.environ.get("EMBER_LOG_LEVEL", "INFO")}


# --- cold import ---------------------------------------------------------------------

_IMPORT_PROBE = """
import sys, time
sys.path.insert(0, {api_dir!r})
start = time.perf_counter()
import app
elapsed = time.perf_counter() - start
heavy = sorted(m for m in ("web3", "ccxt") if m in sys.modules)
assert not heavy, f"the API imported {{heavy}}"
print(elapsed)
"""


def cold_import_ms() -> float:
    """Milliseconds `import app` takes in a fresh interpreter (median of a few)."""
    probe = _IMPORT_PROBE.format(api_dir=str(API_DIR))
    env = {**os.environ, **worker_env(os.environ.get("DATABASE_URL", "postgresql://x@y/z"))}
    samples = []
    for _ in range(IMPORT_SAMPLES):
        out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        samples.append(float(out.strip().splitlines()[-1]) * 1000)
    return median(samples)


# --- the workers: the API Lambda, called as AWS calls it ------------------------------

@dataclass(frozen=True)
class Run:
    placed: int  # bets answered 201
    elapsed: float  # seconds from the common start to the last response
    latencies_ms: list[float]  # each bet, as the handler took it
    cpu_ms_per_bet: float  # the workers' own CPU (the Lambda's share, not the database's)

    @property
    def rate(self) -> float:
        return self.placed / self.elapsed


class Workers:
    """WORKERS API processes (spawned: each imports the app as a fresh Lambda would)."""

    def __init__(self, url: str, rid: uuid.UUID, count: int, handler: str = "ember") -> None:
        """`handler`: "ember" (functions/api/app.py) or "ceiling" (ceiling_app)."""
        spawn = mp.get_context("spawn")
        tokens = {p: bearer(p) for p in players()}
        self.pipes: list[Connection] = []
        self.procs = []
        for i in range(count):
            parent, child = spawn.Pipe()
            proc = spawn.Process(target=_worker, name=f"bet-api-{i}", daemon=True,
                                 args=(child, worker_env(url), str(rid), tokens, i, handler))
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)
        ready = [self._receive(pipe) for pipe in self.pipes]
        self.first_ms = [r["first_ms"] for r in ready]
        self.placed = sum(r["placed"] for r in ready)

    def run(self, duration: float) -> Run:
        """One run of every worker at once, for `duration` seconds."""
        start_at = time.time() + 0.3  # every worker starts at once
        for pipe in self.pipes:
            pipe.send(("run", start_at, duration))
        results = [self._receive(pipe) for pipe in self.pipes]
        placed = sum(r["placed"] for r in results)
        self.placed += placed
        return Run(placed=placed, elapsed=max(r["ended_at"] for r in results) - start_at,
                   latencies_ms=[ms for r in results for ms in r["latencies_ms"]],
                   cpu_ms_per_bet=sum(r["cpu_s"] for r in results) * 1000 / max(1, placed))

    def _receive(self, pipe: Connection) -> dict[str, Any]:
        if not pipe.poll(DURATION_S + 120):
            raise TimeoutError("a bet worker did not answer")
        message = pipe.recv()
        if "error" in message:
            raise RuntimeError(f"bet worker failed: {message['error']}")
        return message

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # a worker that died already
                pipe.send(("stop",))
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


def _worker(pipe: Connection, env: dict[str, str], rid: str, tokens: dict[str, str],
            index: int, handler: str) -> None:
    try:
        os.environ.update(env)
        if handler == "ceiling":
            app = ceiling_app(env["DATABASE_URL"], env["REDIS_URL"])
        else:
            sys.path.insert(0, str(API_DIR))
            import app as api_module  # functions/api/app.py, as Lambda imports the handler

            app = api_module.app
        client = LambdaCaller(app, rid, tokens, random.Random(index))
        first_ms = client.bet()  # builds the API context: settings, pool, verifier, limiter
        for _ in range(WARM_UP_BETS - 1):
            client.bet()
        pipe.send({"first_ms": first_ms, "placed": WARM_UP_BETS})
        while True:
            command = pipe.recv()
            if command[0] == "stop":
                return
            _, start_at, duration = command
            time.sleep(max(0.0, start_at - time.time()))
            deadline = start_at + duration
            latencies = []
            cpu = time.process_time()
            while time.time() < deadline:
                latencies.append(client.bet())
            pipe.send({"placed": len(latencies), "ended_at": time.time(),
                       "latencies_ms": latencies, "cpu_s": time.process_time() - cpu})
    except BaseException as error:  # reported to the parent, which fails the bench
        pipe.send({"error": f"{type(error).__name__}: {error}"})
        raise


class LambdaCaller:
    """Builds API Gateway REST proxy events for bets and hands them to the Chalice app."""

    def __init__(self, app: Any, rid: str, tokens: dict[str, str], rng: random.Random) -> None:
        from ember.runtime.http.events import HttpRequest, LambdaContext, rest_event
        from ember.runtime.http.routes import RouteTable

        self.app, self.tokens, self.rng = app, list(tokens.values()), rng
        self.path = f"/v1/rounds/{rid}/bets"
        route = RouteTable(app.routes).match(self.path)
        assert route is not None and "POST" in route.views, self.path
        self.route = route
        self._request, self._context, self._event = HttpRequest, LambdaContext, rest_event

    def event(self) -> dict[str, Any]:
        body = json.dumps({"outcome": self.rng.randrange(len(MARKET.outcomes)), "amount": STAKE})
        request = self._request(
            method="POST", raw_path=self.path, query_string="",
            headers=[("Host", "api.bench.local"), ("Content-Type", "application/json"),
                     ("Authorization", self.rng.choice(self.tokens)),
                     ("Idempotency-Key", str(uuid.uuid4())), ("User-Agent", "ember-bench")],
            body=body.encode(), source_ip="127.0.0.1")
        return self._event(request, self.route, request_id=str(uuid.uuid4()),
                           received_at=time.time(), stage="api",
                           binary_types=self.app.api.binary_types)

    def bet(self) -> float:
        """Milliseconds the handler took to take one bet; raises unless it answered 201."""
        event = self.event()
        context = self._context(event["requestContext"]["requestId"], "ember-api",
                                time.monotonic() + 29)
        start = time.perf_counter()
        response = self.app(event, context)
        elapsed_ms = (time.perf_counter() - start) * 1000
        if response.get("statusCode") != 201:
            raise AssertionError(f"bet answered {response.get('statusCode')}:"
                                 f" {response.get('body')}")
        return elapsed_ms


# --- the ceiling and the servers' CPU ---------------------------------------------------

_CEILING_INSERT = ("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)"
                   " VALUES (1, 1, 1, %s, now())")


def ceiling_app(database_url: str, redis_url: str) -> Any:
    """A Chalice app whose bet route does only what any bet must: parse the JSON body, one
    rate-limit hit in Redis (Ember's RateLimiter), one prepared INSERT in autocommit, a
    JSON answer. No token check, no decision, no ledger."""
    import psycopg as pg
    from chalice import Chalice, Response

    from ember.runtime.api.rate_limit import RateLimiter

    app = Chalice(app_name="bet-api-ceiling")
    conn = pg.connect(database_url, autocommit=True)
    limiter = RateLimiter(redis_url, "100000/second")

    @app.route("/v1/rounds/{round_id}/bets", methods=["POST"], content_types=["*/*"])
    def bet(round_id: str) -> Response:
        body = json.loads(app.current_request.raw_body)
        limiter.check("bets-ceiling", app.current_request.headers["authorization"][-16:])
        conn.execute(_CEILING_INSERT, (body["amount"],), prepare=True)
        return Response(body=json.dumps(body), status_code=201,
                        headers={"Content-Type": "application/json"})
    return app


def measure_ceiling(url: str, rid: uuid.UUID) -> None:
    """The ceiling handler's calls/s against pgbench, one run of each, printed."""
    ceiling = Workers(url, rid, WORKERS, handler="ceiling")
    try:
        run = ceiling.run(DURATION_S)
    finally:
        ceiling.close()
    _settle_down(url)
    tps = pgbench_tps(url, DURATION_S)
    progress(f"{NAME}: ceiling (the Lambda path, a handler doing only a rate-limit hit and one"
             f" INSERT): {run.rate:.0f}/s against pgbench -N {tps:.0f} tps: ratio"
             f" {run.rate / tps:.3f}, workers' CPU {run.cpu_ms_per_bet:.2f} ms/call")


class ServerCpu:
    """CPU seconds PostgreSQL's and Redis's processes spent since this was made.

    A backend that exits (pgbench's, at the end of its run) leaves its time in the
    postmaster's children's times, so those are counted too.
    """

    NAMES = ("postgres", "redis-server")

    def __init__(self) -> None:
        self.start = self._now()

    def per(self, count: float) -> str:
        """'postgres X ms, redis-server Y ms': each server's CPU per unit of `count`."""
        spent = {name: after - self.start.get(name, 0.0) for name, after in self._now().items()}
        return ", ".join(f"{name} {spent.get(name, 0.0) * 1000 / max(count, 1):.2f} ms"
                         for name in self.NAMES)

    def _now(self) -> dict[str, float]:
        import psutil

        totals = dict.fromkeys(self.NAMES, 0.0)
        for proc in psutil.process_iter(["name", "cpu_times"]):
            name, times = proc.info["name"], proc.info["cpu_times"]
            if name in totals and times is not None:
                totals[name] += (times.user + times.system + times.children_user
                                 + times.children_system)
        return totals


# --- the runs -------------------------------------------------------------------------

def alternate(url: str, workers: Workers) -> tuple[list[float], list[float], list[float]]:
    """Bets/s and pgbench tps per run, REPEATS of each interleaved, and every bet's latency.

    Between runs (untimed) a VACUUM ANALYZE and a CHECKPOINT, so each run meets tables and
    a WAL as autovacuum and the checkpointer would keep them, not another run's leftovers.
    """
    bets_s: list[float] = []
    tps_s: list[float] = []
    latencies: list[float] = []
    for i in range(1, REPEATS + 1):
        servers = ServerCpu()
        run = workers.run(DURATION_S)
        bets_s.append(run.rate)
        latencies.extend(run.latencies_ms)
        progress(f"{NAME}: run {i} bets {run.placed} in {run.elapsed:.2f} s = {run.rate:.0f}/s,"
                 f" p50 {percentile(run.latencies_ms, 50):.2f} ms,"
                 f" p99 {percentile(run.latencies_ms, 99):.2f} ms; CPU per bet: workers"
                 f" {run.cpu_ms_per_bet:.2f} ms, {servers.per(run.placed)}")
        _settle_down(url)
        servers = ServerCpu()
        tps_s.append(pgbench_tps(url, DURATION_S))
        progress(f"{NAME}: run {i} pgbench -N -c {WORKERS} tps {tps_s[-1]:.0f}; CPU per"
                 f" transaction: {servers.per(tps_s[-1] * DURATION_S)};"
                 f" this pair's ratio {bets_s[-1] / tps_s[-1]:.3f}")
        _settle_down(url)
    return bets_s, tps_s, latencies


def _settle_down(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def pgbench_tps(url: str, duration: float) -> float:
    out = _pgbench(["-N", "-c", str(WORKERS), "-j", "2", "-T", str(int(duration)), "-n"], url)
    found = _TPS.search(out)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{out}")
    return float(found.group(1))


def _pgbench(args: list[str], url: str) -> str:
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    parts = urlsplit(url)
    env = {**os.environ, "PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432),
           "PGUSER": parts.username or "postgres"}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    done = subprocess.run([binary, *args, parts.path.lstrip("/")], env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout + done.stderr


# --- checks ---------------------------------------------------------------------------

def check_ledger(url: str, placed: int) -> None:
    """Raises unless every 201 is one bet of STAKE and the ledger balances."""
    row = fetch_row(
        url,
        "SELECT (SELECT count(*) FROM bets) AS bets,"
        " (SELECT count(*) FROM transfers WHERE kind = 'bet') AS holds,"
        " (SELECT count(*) FROM bets WHERE amount <> %(stake)s) AS odd,"
        " (SELECT coalesce(sum(balance), 0) FROM account_balances)::bigint AS total,"
        " (SELECT count(*) FROM account_balances WHERE kind = 'player'"
        "         AND (balance < 0 OR running_balance < 0)) AS negative,"
        " (SELECT count(*) FROM account_balances WHERE kind = 'player'"
        "         AND balance <> running_balance) AS drift",
        {"stake": STAKE})
    assert row["bets"] == placed == row["holds"] and row["odd"] == 0, (placed, row)
    assert row["total"] == 0 and row["negative"] == 0 and row["drift"] == 0, row
    progress(f"{NAME}: checked {row['bets']} bets (all in the one round) = {placed} responses"
             " 201, ledger sums to 0,"
             " no negative player, running balances match transfers")


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def _listed(samples: list[float], spec: str = ".0f") -> str:
    return "[" + ", ".join(f"{s:{spec}}" for s in samples) + "]"
