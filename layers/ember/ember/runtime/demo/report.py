"""The finance burn report of the demo's run, through `ember report` when it is installed."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

_FORMAT = "%Y-%m-%dT%H:%M:%S"
_TIMEOUT_S = 120


@dataclass(frozen=True)
class ReportOutcome:
    """Where each format was written (empty when no report command exists) and its verdict."""

    available: bool
    locations: dict[str, str] = field(default_factory=dict)
    reconciled: bool = False
    message: str = ""


def burn_report(env: dict[str, str], root: Path, repo: Path, since: float, until: float,
                out: Path) -> ReportOutcome:
    """`ember report --from since --to until --out out` run as an operator would."""
    if not _report_installed():
        return ReportOutcome(False, message="the burn report service (ember report) is not"
                                            " installed in this checkout")
    start = datetime.fromtimestamp(math.floor(since), tz=UTC).strftime(_FORMAT)
    end = datetime.fromtimestamp(math.ceil(until) + 1, tz=UTC).strftime(_FORMAT)
    argv = [sys.executable, "-m", "ember.runtime.cli", "report", "--from", start, "--to", end,
            "--out", str(out), "--root", str(root)]
    done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True,
                          timeout=_TIMEOUT_S, check=False)
    locations = dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
    problems = [line for line in done.stderr.splitlines() if line.startswith(("mismatch", "ember:"))]
    tail = done.stderr.strip().splitlines()[-1:] if done.returncode not in (0, 1) else []
    return ReportOutcome(True, locations, done.returncode == 0 and bool(locations),
                         "; ".join(problems + tail))


def _report_installed() -> bool:
    try:
        import ember.runtime.cli_report  # noqa: F401
        import ember.services.burn_report  # noqa: F401
    except ImportError:
        return False
    return True
