"""Embedded chain: a Hardhat node from the pinned npm toolchain in `contracts/`.

Chain id 31337, automine plus a block every EMBER_CHAIN_BLOCK_MS ms (see
contracts/hardhat.config.cjs), state in memory only: a restarted node is a fresh chain,
which `ember chain deploy` notices (no code at the recorded addresses) and deploys again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from ember.runtime.local_stack import processes
from ember.runtime.local_stack.state import ServiceRecord

NAME = "chain"
ENV_VAR = "CHAIN_RPC_URL"
STARTUP_TIMEOUT = 60.0

CONFIG = "hardhat.config.cjs"
_HARDHAT_CLI = Path("node_modules", "hardhat", "internal", "cli", "cli.js")
_NPM_CI_TIMEOUT = 600


def contracts_dir() -> Path:
    """The `contracts/` folder: next to the source tree (editable install), else in the cwd."""
    beside_sources = Path(__file__).resolve().parents[5] / "contracts"
    for candidate in (beside_sources, Path.cwd() / "contracts"):
        if (candidate / "package.json").is_file():
            return candidate
    raise FileNotFoundError(f"no contracts/package.json next to the sources ({beside_sources})"
                            " or in the current directory")


def log_file(root: Path) -> Path:
    """The node's output (and that of `npm ci` when it had to run)."""
    return root / NAME / "hardhat.log"


def start(root: Path, port: int) -> ServiceRecord:
    """Spawns `hardhat node` on 127.0.0.1:`port` (installing the npm toolchain once); its record."""
    home = root / NAME
    home.mkdir(parents=True, exist_ok=True)
    contracts = contracts_dir()
    node = _require_program("node")
    if not (contracts / _HARDHAT_CLI).is_file():
        _npm_ci(contracts, log_file(root))
    argv = [node, str(contracts / _HARDHAT_CLI), "node", "--hostname", processes.LOOPBACK,
            "--port", str(port), "--config", CONFIG]
    # Non-interactive: never wait on Hardhat's telemetry question.
    env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
    pid = processes.spawn_detached(argv, log_file(root), cwd=contracts, env=env)
    url = f"http://{processes.LOOPBACK}:{port}"
    return ServiceRecord(NAME, pid, port, url, processes.start_time(pid))


def stop(root: Path, record: ServiceRecord) -> None:
    """Returns once the node is gone (SIGTERM, then SIGKILL); the chain's state goes with it."""
    processes.terminate(record.pid, record.started_at)


def is_healthy(url: str) -> bool:
    """True when the node at `url` answers `eth_chainId`."""
    return chain_id(url) is not None


def chain_id(url: str) -> int | None:
    """The chain id the JSON-RPC node at `url` reports, or None when it does not answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return int(json.loads(response.read())["result"], 16)
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None


def _npm_ci(contracts: Path, log: Path) -> None:
    """Installs the pinned toolchain from package-lock.json into contracts/node_modules."""
    npm = _require_program("npm")
    with log.open("ab") as output:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=contracts, check=True,
                       stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                       timeout=_NPM_CI_TIMEOUT)


def _require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"`{name}` is not on PATH: the local chain needs Node.js 20+"
                                " and npm (or set CHAIN_RPC_URL to a running node)")
    return path
