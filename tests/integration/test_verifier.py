"""Anyone can recompute every settled round from what was published, with Python alone."""

import ast
import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import ember.verify
from ember.domain.rounds import round_id
from ember.services.keeper import run_keeper
from ember.services.place_bet import PlaceBet, place_bet
from tests.support import fund, market

VERIFIER = Path(ember.verify.__file__)


def play_rounds(app, clock, count):
    app.markets.sync([market(outcomes=3)])  # all outcomes backed: every round settles
    for player in ("a", "b", "c"):
        fund(app, player, 10_000)
    for _ in range(count):
        run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=clock)
        rid = round_id("flip", clock.now() - timedelta(seconds=clock.now().timestamp() % 60))
        for i, player in enumerate(("a", "b", "c")):
            place_bet(PlaceBet(player, rid, i, 100, str(uuid.uuid4())), bets=app.bets, clock=clock)
        clock.advance(60)
    run_keeper(markets=app.markets, rounds=app.rounds, salts=app.salts, clock=clock)


def run_verifier(tmp_path, rounds):
    path = tmp_path / "rounds.json"
    path.write_text(json.dumps(rounds))
    # -I: isolated mode, no site-packages: proves the standard library is enough.
    return subprocess.run([sys.executable, "-I", str(VERIFIER), str(path)], capture_output=True,
                          text=True, check=False)


def test_the_verifier_imports_only_the_standard_library():
    tree = ast.parse(VERIFIER.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names), imported


def test_every_settled_round_verifies_from_published_data(ember, clock, tmp_path):
    play_rounds(ember, clock, 5)
    published = ember.rounds.published()
    assert [r["status"] for r in published] == ["settled"] * 5
    result = run_verifier(tmp_path, published)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 verified, 0 failed" in result.stdout


def test_a_tampered_outcome_or_seed_is_caught(ember, clock, tmp_path):
    play_rounds(ember, clock, 2)
    published = ember.rounds.published()
    published[0]["outcome"] = (published[0]["outcome"] + 1) % 3
    published[1]["server_seed"] = "00" * 32
    result = run_verifier(tmp_path, published)
    assert result.returncode == 1
    assert "0 verified, 2 failed" in result.stdout
    assert "recomputed" in result.stdout and "does not match" in result.stdout
