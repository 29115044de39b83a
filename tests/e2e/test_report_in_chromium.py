"""The burn report's HTML page in headless Chromium, offline: every chart's inline SVG is in the
rendered DOM with non-empty paths, the mismatch section comes first, another holder's burn is
shown in a section of its own and not among the mismatches, and a screenshot is kept under
artifacts/ as the test's artifact. No Chromium is a failure, never a skip."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

from ember.adapters.reports.document import report_document
from ember.adapters.reports.renderers import render_html
from ember.domain.burn_report import (
    BurnLine,
    BuybackLine,
    ChainFigures,
    DayFigures,
    LedgerFigures,
    Period,
    TokenEvent,
    build_report,
)
from tests.conftest import ROOT

ARTIFACTS = ROOT / "artifacts" / "report"
TOKEN = 10**18
CHARTS = ("chart-supply", "chart-burned", "chart-commission-burned")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, ("chromium is not installed: `apt-get install -y chromium` (.ci/run does it);"
                   " this test renders the burn report and must not be skipped")
    return found


OTHER_BURN_TX = "0x" + "e" * 64
TREASURY = "0x" + "d1" * 20


def week_report() -> bytes:
    """A week with two buy-backs and burns, a burn the chain never saw, and another holder's
    burns: one in the block of the wallet's burn, one in a block of its own."""
    at = lambda day, hour: datetime(2026, 11, day, hour, tzinfo=UTC)  # noqa: E731
    hashes = ["0x" + c * 64 for c in "abcd"]
    wallet = "0x" + "77" * 20
    ledger = LedgerFigures(
        rounds_settled=120, rounds_commission=240_000_000, rounds_commission_posted=240_000_000,
        commission_accrued=240_000_000, pool_opening=0, pool_closing=40_000_000,
        in_flight_opening=0, in_flight_closing=0, spent_posted=200_000_000, burned_before=0,
        buybacks=(BuybackLine("7c1e8a52-0000-4000-8000-000000000001", "dex", 120_000_000,
                              1_190_000 * TOKEN // 1000, Fraction(1, 10**13),
                              "dev", (hashes[0],), None, at(2, 12)),
                  BuybackLine("7c1e8a52-0000-4000-8000-000000000002", "cex", 80_000_000,
                              795 * TOKEN, Fraction(1, 10**13), "ticker",
                              (hashes[1],), "7c1e8a52-0000-4000-8000-000000000002", at(5, 9))),
        burns=(BurnLine("7c1e8a52-0000-4000-8000-000000000001", 952 * TOKEN, 238 * TOKEN,
                        hashes[2], hashes[3], 1200, at(2, 12)),
               BurnLine("7c1e8a52-0000-4000-8000-000000000003", 5 * TOKEN, 0, "0x" + "fa" * 32,
                        None, 1300, at(6, 8))),
        days=(DayFigures(date(2026, 11, 2), 100_000_000, 120_000_000, 952 * TOKEN, 238 * TOKEN),
              DayFigures(date(2026, 11, 5), 90_000_000, 80_000_000, 0, 0),
              DayFigures(date(2026, 11, 6), 50_000_000, 0, 5 * TOKEN, 0)))
    supply = 1_000_000_000 * TOKEN
    others = (TokenEvent(OTHER_BURN_TX, 1200, 40 * TOKEN, at(2, 12), sender=TREASURY, log_index=2),
              TokenEvent("0x" + "f" * 64, 1650, 60 * TOKEN, at(4, 18), sender=TREASURY))
    chain = ChainFigures(1000, 1900, supply, supply - 1052 * TOKEN, supply,
                         burns=(TokenEvent(hashes[2], 1200, 952 * TOKEN, at(2, 12), sender=wallet),),
                         deposits=(TokenEvent(hashes[3], 1201, 238 * TOKEN, at(2, 12)),),
                         start_time=at(1, 0), end_time=at(7, 23), other_burns=others, wallet=wallet)
    period = Period("weekly", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    report = build_report(period, ledger, chain, generated_at=at(8, 1))
    # The injected burn, its total and its transaction; the other holder's burns are neither.
    assert [m.reference for m in report.mismatches] == [None, "0x" + "fa" * 32]
    return render_html(report_document(report))


def run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_report_renders_its_charts_and_mismatches_in_chromium(tmp_path):
    browser = chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / "burn_report.html"
    page.write_bytes(week_report())
    screenshot = ARTIFACTS / "burn_report.png"
    screenshot.unlink(missing_ok=True)

    dom = run(browser, tmp_path / "profile-dom", "--dump-dom", page.as_uri()).stdout
    for chart in CHARTS:
        svg = re.search(rf'<svg[^>]*id="{chart}".*?</svg>', dom, re.S)
        assert svg, f"{chart} is not in the rendered page"
        paths = re.findall(r'<path[^>]* d="([^"]+)"', svg.group(0))
        assert paths and all(d.strip() for d in paths), f"{chart} has an empty path"
        assert re.search(r'class="series[^"]*"', svg.group(0)), f"{chart} draws no series"
    assert dom.index('id="mismatches"') < dom.index("Summary")
    flagged = dom.split('id="mismatches"')[1].split("</section>")[0]
    assert "0x" + "fa" * 32 in flagged and OTHER_BURN_TX not in flagged
    assert OTHER_BURN_TX in dom.split('id="other-holders"')[1].split("</table>")[0]
    assert "100 in 2 burn(s)" in dom  # burned by other holders, in the summary

    run(browser, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,2000",
        "--hide-scrollbars", page.as_uri())
    assert screenshot.read_bytes().startswith(b"\x89PNG"), "no screenshot was written"
    assert screenshot.stat().st_size > 20_000  # a page with tables and charts, not a blank one
