"""Months, the one place Radar does calendar arithmetic on them.

A period is a `YYYY-MM` string, as in feed file names and every stored row.
This module parses it (ASCII digits only, so a full-width "２０１９-05" is never
a month), names it the way a Board member reads it ("Sep 2019", "September
2019"), gives its first and last day, the day a file for it is due and the
financial year it belongs to.  A financial year runs April to March, as the
partnership reports; DfE names it by the year it ends in (2020 for 2019-20),
Radar's code by the calendar year it starts in (2019).  The generator, the
validation, the pipelines, the flows and the dashboard all call these
functions rather than slicing strings themselves.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"  # also used in polars expressions, where \d would match any digit
_PERIOD = re.compile(PATTERN, re.ASCII)
SHORT_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LONG_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")


def is_period(text: str) -> bool:
    """Whether `text` is a `YYYY-MM` month written in ASCII digits."""
    return _PERIOD.match(text) is not None


def parse_period(period: str) -> tuple[int, int]:
    """(year, month) of a `YYYY-MM` period; anything else is a ValueError."""
    if not is_period(period):
        raise ValueError(f"a period is written YYYY-MM, not {period!r}")
    return int(period[:4]), int(period[5:7])


def _index(period: str) -> int:
    year, month = parse_period(period)
    return year * 12 + month - 1


def _period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift(period: str, months: int) -> str:
    """The period `months` after (or, when negative, before) `period`."""
    return _period(_index(period) + months)


def month_range(start: str, end: str) -> list[str]:
    """Every period from `start` to `end`, both included (empty when start is after end)."""
    return [_period(i) for i in range(_index(start), _index(end) + 1)]


def of_date(day: date) -> str:
    """The period a calendar day falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def first_day(period: str) -> date:
    year, month = parse_period(period)
    return date(year, month, 1)


def last_day(period: str) -> date:
    year, month = parse_period(period)
    return date(year, month, calendar.monthrange(year, month)[1])


def due_date(period: str, due_day: int) -> date:
    """The day a month's file is due: `due_day` of the following month."""
    return first_day(shift(period, 1)).replace(day=due_day)


def label(period: str) -> str:
    """"2019-09" -> "Sep 2019", as charts, tables and alert messages write a month."""
    year, month = parse_period(period)
    return f"{SHORT_NAMES[month - 1]} {year}"


def long_label(period: str) -> str:
    """"2019-09" -> "September 2019", as a report to a data lead says it."""
    year, month = parse_period(period)
    return f"{LONG_NAMES[month - 1]} {year}"


def day_label(day: date) -> str:
    """A calendar day as "10 Apr 2020"."""
    return f"{day.day} {SHORT_NAMES[day.month - 1]} {day.year}"


def financial_year(period: str) -> int:
    """The calendar year the period's financial year starts in (2019 for 2019-04 to 2020-03)."""
    year, month = parse_period(period)
    return year if month >= 4 else year - 1


def financial_year_label(year_ending_march: int) -> str:
    """DfE's year ending 31 March (2020) as the partnership writes it ("2019-20")."""
    return f"{year_ending_march - 1}-{year_ending_march % 100:02d}"


def financial_year_of(period: str) -> str:
    """"2020-03" -> "2019-20", "2020-04" -> "2020-21": the April-March year a month belongs to."""
    return financial_year_label(financial_year(period) + 1)


def as_of(period: str, today: date) -> date:
    """The day a month is judged on: today, or for a month long past, the end of the month after it (when
    its files were all due and its Board pack was written), so an old month reads as it did then -- which
    files were late, which actions overdue -- not as it looks years later."""
    return min(today, last_day(shift(period, 1)))
