"""Shared fixtures. Integration tests run against the real services `ember up` gives:
those named in the environment, else embedded ones started for the session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.support import TestDatabases

ROOT = Path(__file__).resolve().parent.parent
# Per session: two test sessions at once must not stop each other's embedded services.
STACK_ROOT = ROOT / ".ember" / f"test-stack-{os.getpid()}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test keeps a node id of its own.

    schemathesis builds one item per API operation, named `test[GET /v1/...]`, without a
    parametrize callspec, and pytest 9 derives node ids from the function's name and the
    callspec: all the operations would share one id. pytest-xdist schedules tests by id and
    would then run one operation of the twenty; so each gets the id its name says.
    """
    for item in items:
        full = f"{item.parent.nodeid}::{item.name}" if item.parent else item.nodeid
        if item.nodeid != full and item.nodeid.endswith(f"::{getattr(item, 'originalname', '')}"):
            if hasattr(item, "_id"):  # pytest 9: a structured NodeId
                item._id = type(item._id).parse(full)
            else:
                item._nodeid = full
    repeated = sorted(nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1)
    if repeated:  # a scheduler keyed by id would silently skip all but one of each
        raise pytest.UsageError(f"tests share a node id: {', '.join(repeated)}")


@pytest.fixture(scope="session")
def stack():
    """URLs of PostgreSQL, Redis and Kafka: from the environment or started embedded."""
    from ember.runtime import local_stack

    urls = local_stack.up(root=STACK_ROOT, env=os.environ)
    yield urls
    local_stack.down(root=STACK_ROOT)  # stops only what it started, never env services
    shutil.rmtree(STACK_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def chain_rpc_url(stack) -> str:
    """A JSON-RPC chain: CHAIN_RPC_URL, else a Hardhat node started on first use (~4 s).

    Started on demand, not with `stack`, so sessions that never touch the chain do not pay
    for it; `stack`'s teardown stops it with the rest.
    """
    from ember.runtime import local_stack

    return local_stack.up_chain(root=STACK_ROOT, env=os.environ)


@pytest.fixture(scope="session")
def databases(stack) -> Iterator[TestDatabases]:
    """A migrated template database; each test gets a fresh copy of it."""
    dbs = TestDatabases(stack.database_url, prefix=f"ember_t{os.getpid()}")
    dbs.create_template()
    yield dbs
    dbs.drop_all()


@pytest.fixture
def database_url(databases: TestDatabases) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.drop(url)


@pytest.fixture
def clock():
    from ember.domain.clock import ManualClock

    return ManualClock(datetime(2030, 1, 1, tzinfo=UTC))


JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long"
WEBHOOK_SECRET = "whsec-test"


@pytest.fixture
def ember(database_url, clock, stack):
    """The wired application on a fresh database, with a hand-moved clock and local salts."""
    from ember.runtime.bootstrap import build
    from ember.runtime.settings import load_settings

    app = build(load_settings(DATABASE_URL=database_url, REDIS_URL=stack.redis_url,
                              EMBER_DB_POOL_SIZE=40, EMBER_AUTH_MODE="hs256",
                              EMBER_JWT_SECRET=JWT_SECRET, EMBER_WEBHOOK_SECRET=WEBHOOK_SECRET,
                              EMBER_BET_RATE_LIMIT="1000/second",
                              # A hand-moved clock has no chain blocks to match, even when
                              # CHAIN_RPC_URL is set.
                              EMBER_SALT_SOURCE="local-beacon"),
                clock=clock)
    yield app
    app.close()


@pytest.fixture
def api(ember):
    """A chalice test client on the real API app, wired to the test's database and clock."""
    import sys

    from chalice.test import Client

    from ember.runtime.api import context

    sys.path.insert(0, str(ROOT / "functions" / "api"))
    import app as api_module  # functions/api/app.py, as Lambda imports it

    context.use(context.api_context(ember))
    with Client(api_module.app) as client:
        yield client
    context.use(None)


@pytest.fixture
def token():
    """token(sub, roles=("player",), **claims): a signed HS256 bearer header value."""
    from tests.support import make_token

    return make_token


@pytest.fixture
def sql(database_url) -> Iterator[psycopg.Connection]:
    """A raw autocommit connection, for asserting on what the database holds."""
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        yield conn


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
