"""Building feed files for tests: valid by default, then broken one way at a time.

`write_aggregate` writes a complete, valid return for any aggregate feed (every
sent indicator and breakdown, value 5 unless overridden); `write_records`
writes rows of a record feed under the catalogue's header.  `record_rows`
makes valid rows for any record feed, and `write_csv` / `write_xlsx` write any
header and rows, for files that break the contract on purpose.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import select

from radar.core.catalogue import Catalogue, load_catalogue
from radar.models.engine import get_engine
from radar.models.submissions import Submission

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the repository tests run from
AGGREGATE_HEADER = ["period", "indicator", "breakdown", "value"]


@cache
def catalogue_once() -> Catalogue:
    """The real catalogue, parsed once per test run: parsing the YAML takes about half a second.

    Safe to share: the catalogue models are frozen.
    """
    return load_catalogue()


def aggregate_rows(catalogue: Catalogue, feed_id: str, period: str, value: int = 5) -> list[dict[str, str]]:
    """One valid row per sent indicator and breakdown value of `feed_id`."""
    return [
        {"period": period, "indicator": indicator.id, "breakdown": breakdown, "value": str(value)}
        for indicator in catalogue.sent_indicators(feed_id)
        for breakdown in catalogue.breakdown_values(indicator) or ("",)
    ]


def write_aggregate(tmp_path: Path, feed_id: str, period: str, catalogue: Catalogue,
                    overrides: dict[tuple[str, str], str] | None = None, fmt: str = "csv") -> Path:
    """A complete return; `overrides` maps (indicator, breakdown) to the value text to send instead of 5."""
    rows = aggregate_rows(catalogue, feed_id, period)
    for row in rows:
        row["value"] = (overrides or {}).get((row["indicator"], row["breakdown"]), row["value"])
    path = tmp_path / f"{feed_id}__{period}.{fmt}"
    writer = write_xlsx if fmt == "xlsx" else write_csv
    return writer(path, AGGREGATE_HEADER, rows)


def record_rows(feed_id: str, period: str, n: int, catalogue: Catalogue | None = None) -> list[dict[str, str]]:
    """`n` valid rows of a record feed: unique keys, dates on the 1st, first allowed values, false,
    optional cells empty."""
    catalogue = catalogue or catalogue_once()
    feed = catalogue.feed_by_id[feed_id]
    example = {"string": lambda c, i: f"{c.name}-{i}", "date": lambda c, i: f"{period}-01",
               "boolean": lambda c, i: "false", "category": lambda c, i: catalogue.column_values(c)[0]}
    return [{c.name: example[c.type](c, i) if c.required else "" for c in feed.columns} for i in range(1, n + 1)]


def write_records(tmp_path: Path, feed_id: str, period: str, rows: list[dict[str, str]], fmt: str = "csv") -> Path:
    """A record feed file with the catalogue's header and `rows` (missing keys are empty cells)."""
    header = [c.name for c in catalogue_once().feed_by_id[feed_id].columns]
    path = tmp_path / f"{feed_id}__{period}.{fmt}"
    writer = write_xlsx if fmt == "xlsx" else write_csv
    return writer(path, header, rows)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows([[row.get(name, "") for name in header] for row in rows])
    return path


def write_xlsx(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """A workbook with the table on its first sheet, every cell written as text."""
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(header):
            if row.get(name):
                sheet.write_string(r, c, row[name])
    workbook.close()
    return path


def submissions(store_url: str) -> list[dict]:
    """Every submission the store holds, oldest first, as dicts."""
    with get_engine(store_url).connect() as conn:
        return [dict(r) for r in conn.execute(select(Submission.__table__).order_by("id")).mappings()]


@contextmanager
def scratch_store() -> Iterator[tuple[Path, str]]:
    """A RADAR_HOME with an inbox and a SQLite store of its own, for one Hypothesis example (a function-scoped
    fixture would be shared by every example): yields the home and the store's URL."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as env:
        home = Path(tmp) / "home"
        (home / "inbox").mkdir(parents=True)
        url = f"sqlite:///{Path(tmp) / 'radar.db'}"
        env.setenv("RADAR_HOME", str(home))
        env.setenv("RADAR_DATABASE_URL", url)
        env.setenv("RADAR_PSEUDONYM_KEY", "fuzz-key-not-secret")
        yield home, url
