"""Block-hash salts on the Hardhat node: the hash of the first block stamped after lock_at,
fixed once and for all, and the draws made with it verify.

Block timestamps are real time (the node mines a block every second), so each test puts
its round's lock a little in the past of the chain and moves the app clock by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from web3 import Web3

from ember.adapters.chain.salts import BlockHashSalts
from ember.services.keeper import run_keeper
from ember.verify import check
from tests.conftest import ROOT
from tests.support import bet, fund, market, open_round

pytestmark = pytest.mark.integration

WINDOW_S = 45


@pytest.fixture
def w3(chain_rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(chain_rpc_url))


@pytest.fixture
def salts(ember, chain_rpc_url: str) -> BlockHashSalts:
    return BlockHashSalts.connect(ember.db, chain_rpc_url, confirmations=1)


def _rpc_block(w3: Web3, number: int) -> dict:
    """eth_getBlockByNumber as the node answers it, without web3's formatting."""
    answer = w3.provider.make_request("eth_getBlockByNumber", [hex(number), False])  # type: ignore[arg-type]
    return dict(answer["result"])


def first_block_after_by_scan(w3: Web3, moment: int) -> tuple[int, str]:
    """(number, hash) of the first block stamped after `moment`, walking back from the head."""
    number = int(w3.eth.block_number)
    found = None
    while number >= 0:
        block = _rpc_block(w3, number)
        if int(block["timestamp"], 16) <= moment:
            break
        found = (number, block["hash"])
        number -= 1
    assert found is not None, "no block after the moment yet"
    return found


def past_lock(w3: Web3) -> datetime:
    """A lock moment with blocks on both sides of it and a confirmed block after it."""
    deadline = time.monotonic() + 10
    while True:
        head = _rpc_block(w3, int(w3.eth.block_number))
        if int(head["number"], 16) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    return datetime.fromtimestamp(int(head["timestamp"], 16) - 2, UTC)


def round_locking_at(ember, clock, lock_at: datetime, outcomes: int = 2) -> uuid.UUID:
    m = market(outcomes=outcomes, bet_window_s=WINDOW_S)
    open_at = lock_at - timedelta(seconds=WINDOW_S)
    clock.set(open_at)
    return open_round(ember, m, open_at)


def recorded(sql, rid: uuid.UUID) -> dict | None:
    return sql.execute("SELECT salt, source FROM round_salts WHERE round_id = %s",
                       (rid,)).fetchone()


def test_salt_is_the_hash_of_the_first_block_after_lock_and_stays_fixed(
        ember, clock, salts, w3, sql) -> None:
    lock_at = past_lock(w3)
    rid = round_locking_at(ember, clock, lock_at)

    assert salts.salt_for(rid, lock_at - timedelta(seconds=1)) is None
    assert recorded(sql, rid) is None

    salt = salts.salt_for(rid, lock_at + timedelta(seconds=1))
    number, block_hash = first_block_after_by_scan(w3, int(lock_at.timestamp()))
    assert salt == block_hash
    assert recorded(sql, rid) == {"salt": block_hash, "source": f"block-hash:{number}"}
    assert salts.salt_for(rid, lock_at + timedelta(hours=1)) == salt


def test_salt_is_the_same_from_another_process_which_loads_web3_only_to_draw(
        ember, clock, salts, w3, database_url, chain_rpc_url) -> None:
    lock_at = past_lock(w3)
    rid = round_locking_at(ember, clock, lock_at)
    script = """
import sys
from datetime import datetime
from uuid import UUID
from ember.runtime.bootstrap import build
from ember.runtime.settings import load_settings
app = build(load_settings(DATABASE_URL=sys.argv[1], CHAIN_RPC_URL=sys.argv[2]))
assert "web3" not in sys.modules, "building the app loaded web3"
print(app.salts.salt_for(UUID(sys.argv[3]), datetime.fromisoformat(sys.argv[4])))
assert "web3" in sys.modules
app.close()
"""
    now = (lock_at + timedelta(seconds=5)).isoformat()
    done = subprocess.run([sys.executable, "-c", script, database_url, chain_rpc_url, str(rid), now],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    other_process = done.stdout.strip().splitlines()[-1]

    assert other_process == first_block_after_by_scan(w3, int(lock_at.timestamp()))[1]
    assert salts.salt_for(rid, lock_at + timedelta(seconds=5)) == other_process


def test_no_salt_while_the_block_after_lock_does_not_exist_or_lacks_confirmations(
        ember, clock, salts, w3, sql, chain_rpc_url) -> None:
    future_lock = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    ahead = round_locking_at(ember, clock, future_lock)
    # The app clock may run ahead of the chain; no block is stamped after lock_at yet.
    assert salts.salt_for(ahead, future_lock + timedelta(seconds=1)) is None
    assert recorded(sql, ahead) is None

    lock_at = past_lock(w3)
    rid = round_locking_at(ember, clock, lock_at)
    patient = BlockHashSalts.connect(ember.db, chain_rpc_url, confirmations=10_000)
    assert patient.salt_for(rid, lock_at + timedelta(seconds=1)) is None
    assert recorded(sql, rid) is None


def test_a_round_resolved_with_block_hash_salts_verifies(ember, clock, salts, w3, api) -> None:
    lock_at = past_lock(w3)
    rid = round_locking_at(ember, clock, lock_at, outcomes=3)
    for outcome, player in enumerate(("a", "b", "c")):
        fund(ember, player, 1000)
        bet(ember, player, rid, outcome, 100 * (outcome + 1))

    clock.set(lock_at + timedelta(seconds=60 - WINDOW_S))  # close_at: due
    run = run_keeper(markets=ember.markets, rounds=ember.rounds, salts=salts, clock=clock)

    assert [(r.round_id, r.status) for r in run.resolved] == [(rid, "settled")]
    [published] = [r for r in ember.rounds.published() if r["id"] == str(rid)]
    number, block_hash = first_block_after_by_scan(w3, int(lock_at.timestamp()))
    assert published["salt"] == block_hash
    assert check(published) == []
    view = json.loads(api.http.get(f"/v1/rounds/{rid}/verify").body)
    assert (view["verified"], view["salt"], view["salt_block"]) == (True, block_hash, number)
