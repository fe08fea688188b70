"""Validating one delivered file: the entry point the ingest flow calls.

The order matters to a data lead: first what can be judged without reading
(the name, the size), then whether the file can be read at all, then the
header, and only then the cells.  Problems that make later checks meaningless
(an unknown feed, an unreadable file, a wrong header) stop there; from the
cells on, every problem in the file is collected at once so one resubmission
can fix them all.

The result carries typed rows only when the file is accepted.  Raw child
references are still in those rows: the caller pseudonymises them (see
validation/pseudonymise.py) before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from radar.core.catalogue import Catalogue, Feed
from radar.core.config import Storage
from radar.core.periods import of_date, shift
from radar.validation.aggregates import (
    missing_indicators,
    numerators_above_denominators,
)
from radar.validation.failures import schema_problems
from radar.validation.filenames import FileNameError, parse_file_name
from radar.validation.headers import header_problems
from radar.validation.problems import EXAMPLES_PER_RULE, Problem, ProblemLog
from radar.validation.pseudonymise import pseudonymised_columns
from radar.validation.reading import MB, ReadError, read_cells
from radar.validation.schemas import expected_columns, schema_for
from radar.validation.typed import typed_rows

# C0 controls (but tab, line feed, carriage return) and DEL: never in a real return, and a NUL
# byte is refused by PostgreSQL, so a cell holding one is rejected before anything is stored.
CONTROL_CHARACTERS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"


@dataclass(frozen=True)
class Limits:
    """What Radar will read at all, set by the operator ([storage] in the partnership file).

    `window` is the first and last month a file name may carry, so a mistyped
    year (0000, 2109) is refused before it can become a month of history.
    """

    max_bytes: int
    window: tuple[str, str] | None = None
    max_unpacked_bytes: int = 500 * MB
    max_cells: int = 10_000_000

    @classmethod
    def for_partnership(cls, storage: Storage, today: date) -> Limits:
        """The partnership's limits ([storage]), with the months a file name may carry up to `today`.

        One definition for every way a file arrives (the ingest flow, the
        dashboard's upload page), so an upload is judged as a dropped file is.
        """
        last = shift(of_date(today), storage.months_ahead)
        return cls(storage.max_file_mb * MB, (storage.earliest_period, last), storage.max_unpacked_mb * MB,
                   storage.max_cells)


@dataclass
class ValidatedFile:
    feed_id: str | None
    period: str | None
    frame: pl.DataFrame | None  # typed rows when accepted; None when rejected
    problems: list[Problem]  # examples, at most EXAMPLES_PER_RULE per rule
    problem_counts: dict[str, int]  # rule -> every failing cell or row
    row_count: int

    @property
    def ok(self) -> bool:
        return self.frame is not None and not self.problem_counts


def validate_file(path: Path, catalogue: Catalogue, max_bytes: int | Limits) -> ValidatedFile:
    """Check a delivered file against its feed's contract; never raises for bad content.

    For a return that holds child references no cell is ever quoted back (see
    problems.HIDDEN): only its row, its column and what was expected.
    """
    limits = max_bytes if isinstance(max_bytes, Limits) else Limits(max_bytes)  # a bare size: no period window
    max_bytes = limits.max_bytes
    try:
        feed_id, period = parse_file_name(path.name, catalogue, limits.window)
    except FileNameError as error:
        return _rejected(None, None, [error.problem])
    feed = catalogue.feed_by_id[feed_id]
    quiet = bool(pseudonymised_columns(feed))
    size = path.stat().st_size
    if size > max_bytes:
        return _rejected(feed_id, period, [_file_problem(
            "file_too_large", f"The file is {size / MB:.1f} MB, more than Radar's limit of {max_bytes / MB:g} MB, "
                              "so it was not read. Check it holds one month of one return.")])
    if size == 0:
        return _rejected(feed_id, period, [_file_problem(
            "empty_file", "The file is empty (0 bytes): export it again.")])
    try:
        cells = read_cells(path, limits.max_unpacked_bytes, limits.max_cells)
    except ReadError as error:
        return _rejected(feed_id, period, [error.problem])
    log = ProblemLog()
    control_character_problems(cells, log)
    if log.counts:
        return ValidatedFile(feed_id, period, None, log.examples, log.counts, cells.height - 1)
    rows = _data_rows(cells)
    problems = header_problems(list(cells.row(0)), expected_columns(feed), quote=not quiet)
    if problems:
        return _rejected(feed_id, period, problems, rows.height)
    if rows.height == 0:
        return _rejected(feed_id, period, [_file_problem(
            "no_rows", "The file has a header row but no data under it.")])
    rows = _named(rows, feed)
    schema_problems(schema_for(feed, period, catalogue), rows.drop("row_number"), rows["row_number"],
                    expected_columns(feed) if quiet else [], log)
    if feed.kind == "aggregate":
        log.extend(missing_indicators(rows, feed_id, catalogue))
        log.extend(numerators_above_denominators(rows, feed_id, catalogue))
    frame = None if log.counts else typed_rows(rows, feed)
    return ValidatedFile(feed_id, period, frame, log.examples, log.counts, rows.height)


def control_character_problems(cells: pl.DataFrame, log: ProblemLog) -> None:
    """Record every cell (header included) holding a control character, by row and column number only.

    The cell is not quoted: a control character is where a broken export
    most often runs data into the wrong place, and the value cannot be shown.
    """
    flagged = cells.with_row_index("row", offset=1).select(
        "row", *[pl.col(name).str.contains(CONTROL_CHARACTERS).fill_null(False).alias(str(position))
                 for position, name in enumerate(cells.columns, start=1)])
    failing = flagged.unpivot(index="row", variable_name="column").filter("value").sort("row")
    if failing.is_empty():
        return
    log.record("control_character", failing.height, [
        Problem(row=row, column=f"column {column}", value=None, rule="control_character",
                message=f"Row {row}, column {column} holds an invisible control character (such as a NUL byte), "
                        "which a return never contains: remove it and send the file again.")
        for row, column in failing.head(EXAMPLES_PER_RULE).select("row", pl.col("column").cast(pl.Int64)).iter_rows()
    ])


def _data_rows(cells: pl.DataFrame) -> pl.DataFrame:
    """The rows under the header, numbered as a spreadsheet shows them, without fully empty rows."""
    rows = cells.with_row_index("row_number", offset=1).slice(1)
    return rows.filter(~pl.all_horizontal(pl.exclude("row_number").is_null()))


def _named(rows: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    """Rows with the feed's column names; an aggregate's missing breakdown is the empty text."""
    rows = rows.rename(dict(zip(rows.columns[1:], expected_columns(feed), strict=True)))
    return rows.with_columns(pl.col("breakdown").fill_null("")) if feed.kind == "aggregate" else rows


def _file_problem(rule: str, message: str) -> Problem:
    return Problem(row=None, column=None, value=None, rule=rule, message=message)


def _rejected(feed_id: str | None, period: str | None, problems: list[Problem], row_count: int = 0) -> ValidatedFile:
    log = ProblemLog()
    log.extend(problems)
    return ValidatedFile(feed_id, period, None, log.examples, log.counts, row_count)
