"""Scheduled: the finance burn report of the last complete period of each configured cadence
(EMBER_REPORT_PERIODS: daily, weekly, monthly), reconciled to chain and stored in S3."""

from ember.domain.burn_report import last_complete_period
from ember.runtime.bootstrap import Ember
from ember.runtime.entry import schedule_handler
from ember.runtime.report_wiring import publish_report, report_storage


def write_reports(app: Ember) -> dict[str, object]:
    """One report per configured cadence; a rerun rewrites the same keys with the same figures."""
    storage = report_storage(app.settings)
    now = app.clock.now()
    written = [publish_report(app, last_complete_period(kind, now), storage=storage)
               for kind in app.settings.report_periods.split(",")]
    return {"reports": [w.summary() for w in written]}


handler = schedule_handler(write_reports)
