"""Financial-year month helpers for the sample generator (general month arithmetic: radar.core.periods).

Periods are `YYYY-MM` strings, as in feed file names.  The calibration figures
are financial-year figures (April to March, as the annual report gives them),
so every series is built one whole financial year at a time and a month's value
never depends on which range of months was asked for.
"""

from __future__ import annotations

import calendar
from datetime import date

from radar.core.periods import parse_period, shift


def fy_index(period: str) -> int:
    """Position of the month in its financial year: April 0 ... March 11."""
    return (parse_period(period)[1] - 4) % 12


def fy_months(fy: int) -> list[str]:
    return [shift(f"{fy:04d}-04", i) for i in range(12)]


def month_days(period: str) -> list[date]:
    year, month = parse_period(period)
    return [date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1)]
