"""`ember demo` from nothing: every service embedded, players betting over HTTP, then the audit.

Run as a user would, in a fresh stack root with no service named in the environment; the
stack the demo leaves up is stopped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

EMBER = Path(sys.executable).with_name("ember")
# Named services would be used as they are: this test is about the embedded ones.
NAMED_SERVICES = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "CHAIN_RPC_URL",
                  "AWS_ENDPOINT_URL", "EMBER_DEPLOYMENT_FILE")
AUDIT_CHECKS = ("sum of all balances is zero", "every published draw recomputes",
                "total supply fell by exactly the sum of burns",
                "the wallet burned exactly the ledger's burns",
                "DividendPool received exactly the dividends",
                "commission = spent + in flight + pool", "this run's rounds verify over HTTP",
                "a resent bet request returned the first bet")


@pytest.fixture
def stack_root(tmp_path: Path):
    root = tmp_path / "stack"
    yield root
    subprocess.run([str(EMBER), "down", "--root", str(root)], cwd=ROOT, capture_output=True,
                   timeout=120, check=False)


def test_the_demo_runs_everything_embedded_and_its_audit_passes(stack_root):
    env = {k: v for k, v in os.environ.items() if k not in NAMED_SERVICES}
    started = time.monotonic()
    done = subprocess.run([str(EMBER), "demo", "--root", str(stack_root), "--players", "3",
                           "--rounds", "2", "--speed", "3"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert took < 180
    out = done.stdout
    assert "audit passed" in out
    for check in AUDIT_CHECKS:
        line = next(line for line in out.splitlines() if check in line)
        assert line.rstrip().endswith("yes │"), line
    assert "phase=done" in out  # piped: periodic plain lines instead of the live table
    assert "postgres starting" in done.stderr and "aws embedded" in done.stderr
    status = subprocess.run([str(EMBER), "status", "--root", str(stack_root)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout  # the demo leaves the stack up
