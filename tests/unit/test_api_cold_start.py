"""The API Lambda's cold start: importing functions/api/app.py loads no chain or exchange code.

web3, ccxt and the eth_* packages only serve buy_tokens and burn; pulled into the API they
would add seconds to every cold start. Measured in a fresh interpreter, as Lambda starts.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

FORBIDDEN = ("web3", "ccxt", "eth_")

_IMPORT_APP = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
import app
elapsed_ms = (time.perf_counter() - started) * 1000
print(json.dumps({"elapsed_ms": elapsed_ms, "modules": sorted(sys.modules),
                  "routes": len(app.app.routes)}))
"""


def import_api_app(*options: str) -> tuple[dict, str]:
    """What a fresh `import app` did: (its report, the interpreter's stderr)."""
    done = subprocess.run(
        [sys.executable, *options, "-c", _IMPORT_APP, str(ROOT / "functions" / "api")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def heaviest_packages(importtime: str, count: int = 6) -> list[tuple[int, str]]:
    """(µs, package): the import time of each top-level package's own modules, largest first."""
    spent: dict[str, int] = {}
    for line in importtime.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # not an importtime line, or its header
        package = parts[2].strip().split(".")[0]
        spent[package] = spent.get(package, 0) + int(parts[0])
    return sorted(((us, name) for name, us in spent.items()), reverse=True)[:count]


def test_importing_the_api_loads_no_chain_or_exchange_module():
    report, _ = import_api_app()
    loaded = [m for m in report["modules"] if m.split(".")[0].startswith(FORBIDDEN)]
    assert report["routes"] > 0
    assert loaded == [], f"the API imports chain/exchange code: {loaded[:10]}"
    _, importtime = import_api_app("-X", "importtime")
    top = ", ".join(f"{name}={us / 1000:.0f}" for us, name in heaviest_packages(importtime))
    print(f"\napi_cold_import elapsed_ms={report['elapsed_ms']:.0f}"
          f" modules={len(report['modules'])} heaviest_ms: {top}")
