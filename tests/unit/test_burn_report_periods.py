"""Burn report periods and arithmetic: ids, the last complete period, exact percentages."""

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from ember.domain.burn_report import Period, decimal_text, last_complete_period


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "now", "start", "end"), [
    ("daily", utc(2026, 11, 8, 0, 5), utc(2026, 11, 7), utc(2026, 11, 8)),
    ("weekly", utc(2026, 11, 11, 9), utc(2026, 11, 2), utc(2026, 11, 9)),  # Monday to Monday
    ("weekly", utc(2026, 11, 9, 0, 0), utc(2026, 11, 2), utc(2026, 11, 9)),
    ("monthly", utc(2026, 3, 1, 0, 1), utc(2026, 2, 1), utc(2026, 3, 1)),
    ("monthly", utc(2027, 1, 15), utc(2026, 12, 1), utc(2027, 1, 1)),
])
def test_the_last_complete_period_ends_at_or_before_now(kind, now, start, end):
    period = last_complete_period(kind, now)
    assert (period.start, period.end) == (start, end) and period.end <= now


def test_a_report_id_names_its_period_and_back():
    period = Period("custom", utc(2026, 11, 1), utc(2026, 11, 8, 12, 30))
    assert period.report_id == "custom.2026-11-01_2026-11-08T123000Z"
    assert Period.from_report_id(period.report_id) == period
    for bad in ("weekly", "weekly.2026-11-01", "hourly.2026-11-01_2026-11-02",
                "weekly.2026-11-08_2026-11-01", "weekly.2026-1-1_2026-11-02"):
        with pytest.raises(ValueError):
            Period.from_report_id(bad)


def test_decimals_are_rounded_from_exact_fractions():
    assert decimal_text(Fraction(952, 10**9) * 100, 10) == "0.0000952"
    assert decimal_text(Fraction(-1, 3), 2) == "-0.33"
    assert decimal_text(Fraction(2, 3), 0) == "1"
