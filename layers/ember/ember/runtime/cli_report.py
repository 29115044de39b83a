"""`ember report`: a finance burn report for a period, reconciled to chain.

    ember report --from 2026-11-01 --to 2026-11-08 --out reports-dir
    ember report --last weekly          # the last complete week, into the configured storage

The chain is CHAIN_RPC_URL, else the local stack's Hardhat node; reports go to --out, else
EMBER_REPORTS_BUCKET / EMBER_REPORTS_DIR. Exits 1 when the report shows a mismatch (the
report is written all the same).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ember.domain.burn_report import CUSTOM, PERIOD_KINDS, Period, last_complete_period
from ember.runtime.cli_context import configure_logging, ember_for

DATE = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"])


def register(group: click.Group, root_option: Callable[[Any], Any]) -> None:
    """Adds `report` to the `ember` command group."""

    @group.command()
    @root_option
    @click.option("--from", "start", type=DATE, help="First moment of the period (UTC).")
    @click.option("--to", "end", type=DATE, help="End of the period (UTC), not included.")
    @click.option("--last", type=click.Choice(PERIOD_KINDS),
                  help="The last complete daily, weekly or monthly period instead of --from/--to.")
    @click.option("--kind", type=click.Choice((*PERIOD_KINDS, CUSTOM)), default=CUSTOM,
                  show_default=True, help="The kind --from/--to is filed under.")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                  help="Write into this directory instead of the configured storage.")
    def report(root: Path, start: datetime | None, end: datetime | None, last: str | None,
               kind: str, out: Path | None) -> None:
        """Build the burn report of a period: JSON, CSV, HTML and PDF."""
        from ember.adapters.reports.storage import LocalReportStorage
        from ember.runtime.cli_chain import chain_settings
        from ember.runtime.report_wiring import publish_report, report_storage

        settings = chain_settings(root)
        configure_logging(settings)
        with ember_for(settings) as app:
            period = _period(start, end, last, kind, app.clock.now())
            storage = LocalReportStorage(out) if out else report_storage(settings)
            written = publish_report(app, period, storage=storage)
        for fmt, location in sorted(written.locations.items()):
            click.echo(f"{fmt}\t{location}")
        mismatches = written.report.mismatches
        for m in mismatches:
            click.echo(f"mismatch {m.check}: {m.detail} ledger={m.expected} other={m.actual}"
                       f" difference={m.difference} {m.unit} {m.reference or ''}".rstrip(), err=True)
        if mismatches:
            raise SystemExit(1)
        click.echo(f"reconciled {period.report_id}", err=True)


def _period(start: datetime | None, end: datetime | None, last: str | None, kind: str,
            now: datetime) -> Period:
    if last:
        if start or end:
            raise click.UsageError("--last excludes --from and --to")
        return last_complete_period(last, now)
    if start is None or end is None:
        raise click.UsageError("give --from and --to, or --last")
    try:
        return Period(kind, start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
