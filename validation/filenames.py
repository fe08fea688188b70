"""The file-name contract: `<feed_id>__<YYYY-MM>.<csv|xlsx>`.

The name is the only place a file says which return and which month it is, so
it is checked before anything is read, and a wrong name gets a message that
shows the expected pattern (and the feed ids, when the feed is unknown).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import NoReturn

from radar.core.catalogue import Catalogue
from radar.core.periods import is_period, long_label
from radar.validation.inert import has_bidi_control
from radar.validation.problems import Problem

PATTERN = "<feed_id>__YYYY-MM.csv (or .xlsx)"
EXTENSIONS = (".csv", ".xlsx")
_NAME = re.compile(r"^(?P<feed>.+)__(?P<period>[0-9]{4}-[0-9]{2})(?P<ext>\.[A-Za-z0-9]+)$", re.ASCII)


class FileNameError(ValueError):
    """Raised with the Problem to report when a file name breaks the contract."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def parse_file_name(name: str, catalogue: Catalogue, window: tuple[str, str] | None = None) -> tuple[str, str]:
    """Return (feed_id, period) from a delivered file's name, or raise FileNameError.

    `window` (first, last) bounds the month: a year mistyped as 0000 or 2109
    would otherwise become a month of history that every later cycle reads.
    """
    name = Path(name).name
    if has_bidi_control(name):  # the name is not quoted: it would show reversed, or as another name
        _fail("The file name contains an invisible right-to-left or left-to-right control character "
              "(U+202A to U+202E or U+2066 to U+2069), which can make a name show as another one. "
              f"Rename the file {PATTERN}, typing the name afresh, and send it again.")
    match = _NAME.match(name)
    if match is None:
        _fail(f"The file name '{name}' does not follow the pattern {PATTERN}, e.g. csc_monthly__2024-03.csv "
              "(two underscores between the feed id and the month).")
    feed_id, period, ext = match["feed"], match["period"], match["ext"].lower()
    if ext not in EXTENSIONS:
        _fail(f"Radar reads .csv and .xlsx files, not '{ext}': save the return as 'CSV UTF-8' "
              f"or 'Excel Workbook (.xlsx)' and name it {PATTERN}.")
    if not is_period(period):
        _fail(f"'{period}' in the file name '{name}' is not a month: write YYYY-MM with a month from 01 to 12.")
    if window and not window[0] <= period <= window[1]:
        _fail(f"'{period}' in the file name '{name}' is outside the months Radar accepts "
              f"({long_label(window[0])} to {long_label(window[1])}): check the year and month in the name.")
    feed = catalogue.feed_by_id.get(feed_id)
    if feed is None:
        close = difflib.get_close_matches(feed_id, list(catalogue.feed_by_id), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        _fail(f"'{feed_id}' is not a Radar feed.{hint} The file name must start with one of: "
              f"{', '.join(catalogue.feed_by_id)}; the pattern is {PATTERN}.")
    if not feed.expects(period):
        _fail(f"{feed_id} is a quarterly return, sent for March, June, September and December only; "
              f"{long_label(period)} is not one of those months.")
    return feed_id, period


def _fail(message: str) -> NoReturn:
    raise FileNameError(Problem(row=None, column=None, value=None, rule="file_name", message=message))
