"""Month arithmetic on periods, the `YYYY-MM` strings of feed file names.

One definition for the generator, the pipelines and the dashboard.  A
financial year runs April to March, as the partnership reports; it is named
by the calendar year it starts in (2019 for April 2019 - March 2020).
"""

from __future__ import annotations

import re

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(period: str) -> tuple[int, int]:
    """(year, month) of a `YYYY-MM` period; anything else is a ValueError."""
    match = _PERIOD.match(period)
    if not match:
        raise ValueError(f"a period is written YYYY-MM, not {period!r}")
    return int(match[1]), int(match[2])


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


def financial_year(period: str) -> int:
    """The calendar year the period's financial year starts in (2019 for 2019-04 to 2020-03)."""
    year, month = parse_period(period)
    return year if month >= 4 else year - 1
