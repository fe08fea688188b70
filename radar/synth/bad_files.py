"""Realistic bad deliveries for the demo's rejected-files view.

Each is a mistake data leads really make, one problem per file, built from the
good file of the same month so that only the mistake differs.  `BAD_FILES` is
the list the demo and tests describe them from; a file that stands in for the
month's good return (`withholds_good`) is delivered instead of it, so that
feed shows as rejected and then missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from radar.core.periods import parse_period, shift
from radar.synth.files import write_csv, write_xlsx
from radar.synth.sample import SampleData


def _negative_and_missing(path: Path, sample: SampleData, end: str) -> None:
    header, rows = sample.rows("csc_monthly", end)
    rows = [[*row[:3], f"-{row[3]}"] if row[1] == "cla_uasc" else row for row in rows if row[1] != "cin_open"]
    write_xlsx(path, header, rows, _created(end))


def _date_and_source(path: Path, sample: SampleData, end: str) -> None:
    header, rows = sample.rows("mash_contacts", end)
    date_at, source_at = header.index("received_date"), header.index("source")
    rows[2][date_at] = f"{shift(end, 1)}-02"
    rows[5][source_at] = "GP"
    write_xlsx(path, header, rows, _created(end))


def _semicolons(path: Path, sample: SampleData, end: str) -> None:
    write_csv(path, *sample.rows("police_monthly", end), delimiter=";")


def _misspelt_feed(path: Path, sample: SampleData, end: str) -> None:
    write_csv(path, *sample.rows("mash_contacts", end))


def _last_months_rows(path: Path, sample: SampleData, end: str) -> None:
    write_csv(path, *sample.rows("health_monthly", shift(end, -1)))


def _created(end: str) -> datetime:
    """A fixed creation time for a workbook (the first of the month after its period)."""
    year, month = parse_period(shift(end, 1))
    return datetime(year, month, 1, 9, 0)


@dataclass(frozen=True)
class BadFile:
    name: str  # the file name; {end} stands for the last month generated
    feed_id: str  # the feed the sender meant
    problem: str  # what is wrong, as the data lead would be told
    withholds_good: bool  # delivered instead of the month's good file
    write: Callable[[Path, SampleData, str], None]

    def file_name(self, end: str) -> str:
        return self.name.format(end=end)


BAD_FILES: tuple[BadFile, ...] = (
    BadFile("csc_monthly__{end}.xlsx", "csc_monthly",
            "Excel return with a negative value (cla_uasc) and the cin_open row left out; "
            "the good CSV for the month is delivered too.", False, _negative_and_missing),
    BadFile("mash_contacts__{end}.xlsx", "mash_contacts",
            "Excel file in which the third contact's received_date is in the following month and the "
            "sixth contact's source (`GP`) is not one of the catalogue's sources.", False, _date_and_source),
    BadFile("police_monthly__{end}.csv", "police_monthly",
            "Separated by semicolons instead of commas; no good police return arrives for the month.",
            True, _semicolons),
    BadFile("mash_contact__{end}.csv", "mash_contacts",
            "Misspelt feed id in the file name (`mash_contact`), so no feed claims the file.", False, _misspelt_feed),
    BadFile("health_monthly__{end}.csv", "health_monthly",
            "The previous month's return sent again under this month's name: every row's period is "
            "the month before; no good health return arrives for the month.", True, _last_months_rows),
)
