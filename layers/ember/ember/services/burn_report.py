"""Finance burn reports: a period's figures from the ledger and the chain, reconciled,
rendered and stored.

```python
written = publish_burn_report(period, ledger=reads, chain=chain_reads, render=render_all,
                              storage=storage, clock=clock)
written.report.mismatches     # [] when every unit reconciles
written.locations             # {"json": "s3://bucket/reports/weekly/…/report.json", ...}
```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from ember.domain.burn_report import BurnReport, ChainFigures, LedgerFigures, Period, build_report
from ember.domain.clock import Clock

logger = Logger(service="ember", child=True)

Document = dict[str, Any]


class LedgerReads(Protocol):
    def period_figures(self, start: datetime, end: datetime) -> LedgerFigures: ...


class ChainReads(Protocol):
    def period_figures(self, start: datetime, end: datetime) -> ChainFigures: ...


class ReportStore(Protocol):
    def put(self, period: Period, files: dict[str, bytes]) -> dict[str, str]: ...


@dataclass(frozen=True)
class WrittenReport:
    report: BurnReport
    document: Document
    locations: dict[str, str]

    def summary(self) -> dict[str, Any]:
        return {"report_id": self.report.period.report_id, "reconciled": self.report.reconciled,
                "mismatches": len(self.report.mismatches), "formats": sorted(self.locations)}


def build_burn_report(period: Period, *, ledger: LedgerReads, chain: ChainReads,
                      clock: Clock) -> BurnReport:
    """The report of `period`: the ledger read in one snapshot, the chain between the blocks
    of the period's bounds."""
    figures = ledger.period_figures(period.start, period.end)
    on_chain = chain.period_figures(period.start, period.end)
    return build_report(period, figures, on_chain, generated_at=clock.now())


def publish_burn_report(period: Period, *, ledger: LedgerReads, chain: ChainReads,
                        to_document: Callable[[BurnReport], Document],
                        render: Callable[[Document], dict[str, bytes]], storage: ReportStore,
                        clock: Clock) -> WrittenReport:
    """Builds, renders and stores the report of `period`; a mismatch is logged, not raised:
    finance must see the report that shows it. Other holders' burns are logged as
    information: they are not Ember's and never a mismatch."""
    report = build_burn_report(period, ledger=ledger, chain=chain, clock=clock)
    document = to_document(report)
    locations = storage.put(period, render(document))
    written = WrittenReport(report, document, locations)
    if report.mismatches:
        logger.error("burn_report_mismatch", extra={
            "report_id": period.report_id,
            "mismatches": [{"check": m.check, "detail": m.detail, "difference": str(m.difference),
                            "unit": m.unit, "reference": m.reference} for m in report.mismatches]})
    if report.chain.other_burns:
        logger.info("burn_report_other_holders_burned", extra={
            "report_id": period.report_id, "burned": str(report.chain.others_burned),
            "burns": len(report.chain.other_burns)})
    logger.info("burn_report_written", extra=written.summary())
    return written
