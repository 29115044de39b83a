"""Test helpers: throwaway databases, markets and rounds."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from ember.domain.markets import Market


class TestDatabases:
    """Creates a migrated template once, then cheap copies of it per test."""

    __test__ = False

    def __init__(self, server_url: str, prefix: str) -> None:
        self.server_url = server_url
        self.prefix = prefix
        self.template = f"{prefix}_tpl"
        self._count = 0

    def url_for(self, name: str) -> str:
        return urlunsplit(urlsplit(self.server_url)._replace(path=f"/{name}"))

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url_for("postgres"), autocommit=True)

    def create_template(self) -> None:
        from ember.runtime.migrate import apply_migrations

        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.template}"')
        apply_migrations(self.url_for(self.template))

    def fresh(self) -> str:
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.url_for(name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        with self._admin() as conn:
            names = [r[0] for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{self.prefix}_%",))]
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def market(id: str = "flip", outcomes: int = 2, commission_bps: int = 300, min_bet: int = 1,
           max_bet: int = 10**9, interval_s: int = 60, bet_window_s: int = 45,
           resolve_grace_s: int = 300) -> Market:
    return Market(id=id, title=id, outcomes=tuple(f"o{i}" for i in range(outcomes)),
                  interval_s=interval_s, bet_window_s=bet_window_s, commission_bps=commission_bps,
                  min_bet=min_bet, max_bet=max_bet, resolve_grace_s=resolve_grace_s)


def open_round(app, m: Market, open_at: datetime | None = None) -> uuid.UUID:
    """A round of market `m` opening at `open_at` (default: the app clock's now)."""
    from ember.domain.fairness import new_seed
    from ember.domain.rounds import round_id

    app.markets.sync([m])
    at = open_at or app.clock.now()
    app.rounds.create(m, at, new_seed(), app.clock.now())
    return round_id(m.id, at)


def fund(app, player: str, amount: int) -> None:
    from ember.services.cashier import credit_deposit

    credit_deposit(f"fund-{player}-{uuid.uuid4()}", player, amount, ledger=app.ledger,
                   clock=app.clock)


def bet(app, player: str, rid: uuid.UUID, outcome: int, amount: int):
    """A bet through the service, with a fresh idempotency key."""
    from ember.services.place_bet import PlaceBet, place_bet

    return place_bet(PlaceBet(player, rid, outcome, amount, str(uuid.uuid4())), bets=app.bets,
                     clock=app.clock)


def two_sided_round(app, m: Market, stake: int = 500) -> uuid.UUID:
    """A round of `m` where "a" backed outcome 0 and "b" outcome 1 (each funded 1000, staking
    `stake`), with the app clock moved past its close."""
    rid = open_round(app, m)
    for player, outcome in (("a", 0), ("b", 1)):
        fund(app, player, 1000)
        bet(app, player, rid, outcome, stake)
    app.clock.advance(60)
    return rid


def ledger_totals(conn: psycopg.Connection) -> dict:
    """Sum of all balances, negative players, and running-vs-derived mismatches."""
    return conn.execute(
        "SELECT coalesce(sum(balance), 0) AS total,"
        " count(*) FILTER (WHERE kind = 'player' AND balance < 0) AS negative,"
        " count(*) FILTER (WHERE kind = 'player' AND balance <> running_balance) AS drift"
        " FROM account_balances").fetchone()


def make_token(sub: str, roles: tuple[str, ...] = ("player",), secret: str | None = None,
               **claims: object) -> str:
    """`Bearer <jwt>` for the test API: HS256, issuer ember-local, audience ember."""
    import time

    import jwt

    from tests.conftest import JWT_SECRET

    payload = {"sub": sub, "iss": "ember-local", "aud": "ember", "exp": int(time.time()) + 600,
               "iat": int(time.time()), "cognito:groups": list(roles), **claims}
    return "Bearer " + jwt.encode(payload, secret or JWT_SECRET, algorithm="HS256",
                                  headers={"kid": "local"})


# -- API responses -------------------------------------------------------------------------
JSON = "application/json"


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    body = json.loads(response.body)
    assert (body["status"], body["code"]) == (status, code)
    return body


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == JSON
    return json.loads(response.body)


def read_topic(bootstrap: str, topic: str, expected: int = 1, timeout_s: float = 15.0,
               keep: Callable[[Any], bool] = lambda record: True) -> list:
    """The records of `topic` that `keep` accepts, read from the start (assignment, no
    consumer group), once `expected` of them arrived or `timeout_s` passed."""
    import time

    from kafka import KafkaConsumer, TopicPartition  # ~0.5 s to import: only tests that read

    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                           auto_offset_reset="earliest")
    try:
        found: list = []
        deadline = time.monotonic() + timeout_s
        while len(found) < expected and time.monotonic() < deadline:
            if not reader.assignment():  # the topic may not exist yet
                partitions = reader.partitions_for_topic(topic) or set()
                reader.assign([TopicPartition(topic, p) for p in partitions])
                reader.seek_to_beginning()
            for polled in reader.poll(timeout_ms=500).values():
                found.extend(record for record in polled if keep(record))
        return found
    finally:
        reader.close()

