"""Month arithmetic for the sample generator.

Periods are `YYYY-MM` strings, as in feed file names.  The calibration figures
are financial-year figures (April to March, as the annual report gives them),
so every series is built one whole financial year at a time and a month's value
never depends on which range of months was asked for.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(period: str) -> tuple[int, int]:
    """(year, month) of a `YYYY-MM` period; anything else is a ValueError."""
    match = _PERIOD.match(period)
    if not match:
        raise ValueError(f"a period is written YYYY-MM, not {period!r}")
    return int(match[1]), int(match[2])


def shift(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(start: str, end: str) -> list[str]:
    """Every month from start to end, both included."""
    (y0, m0), (y1, m1) = parse_period(start), parse_period(end)
    count = (y1 * 12 + m1) - (y0 * 12 + m0) + 1
    if count < 1:
        raise ValueError(f"start {start} is after end {end}")
    return [shift(start, i) for i in range(count)]


def financial_year(period: str) -> int:
    """The calendar year the period's financial year starts in (2019 for 2019-04 to 2020-03)."""
    year, month = parse_period(period)
    return year if month >= 4 else year - 1


def fy_index(period: str) -> int:
    """Position of the month in its financial year: April 0 ... March 11."""
    return (parse_period(period)[1] - 4) % 12


def fy_months(fy: int) -> list[str]:
    return [shift(f"{fy:04d}-04", i) for i in range(12)]


def month_days(period: str) -> list[date]:
    year, month = parse_period(period)
    return [date(year, month, day) for day in range(1, calendar.monthrange(year, month)[1] + 1)]
