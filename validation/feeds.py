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

import hashlib
from collections.abc import Iterator
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
from radar.validation.inert import BIDI_CONTROLS
from radar.validation.problems import EXAMPLES_PER_RULE, Problem, ProblemLog
from radar.validation.pseudonymise import pseudonymised_columns
from radar.validation.reading import (
    MAX_CELL_CHARS,
    MB,
    UTF16_MARKS,
    ZIP_MAGIC,
    ReadError,
    csv_record_chunks,
    longest_cell,
    read_cells,
)
from radar.validation.schemas import expected_columns, schema_for
from radar.validation.typed import typed_rows

# C0 controls (but tab, line feed, carriage return) and DEL: never in a real return, and a NUL
# byte is refused by PostgreSQL, so a cell holding one is rejected before anything is stored.
CONTROL_CHARACTERS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
# Either kind makes a batch of a large CSV go the whole-file way, which names the cells.
UNSEEN_CHARACTERS = f"{CONTROL_CHARACTERS}|{BIDI_CONTROLS}"


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
    stream_bytes: int = 32 * MB  # a record feed's CSV this large is validated and stored in batches

    @classmethod
    def for_partnership(cls, storage: Storage, today: date) -> Limits:
        """The partnership's limits ([storage]), with the months a file name may carry up to `today`.

        One definition for every way a file arrives (the ingest flow, the
        dashboard's upload page), so an upload is judged as a dropped file is.
        """
        last = shift(of_date(today), storage.months_ahead)
        return cls(storage.max_file_mb * MB, (storage.earliest_period, last), storage.max_unpacked_mb * MB,
                   storage.max_cells)


# An aggregate return has one row per indicator and breakdown value; a file with many times that many is not
# one, and checking each of millions of rows would hold gigabytes (a 150 MB file of repeated rows took 1.8 GB).
AGGREGATE_ROWS_FACTOR, AGGREGATE_ROWS_FLOOR = 10, 1_000


def _expected_rows(feed: Feed, catalogue: Catalogue) -> int:
    return sum(len(catalogue.breakdown_values(i) or ("",)) for i in catalogue.sent_indicators(feed.id))


class FileChanged(Exception):
    """A streamed file's bytes differ between validation and storing: what would be stored was never validated."""


@dataclass(frozen=True)
class StreamedRows:
    """An accepted large CSV of a record feed, whose typed rows are read again batch by batch to be stored.

    Holding them all from validation to storing is what made a 150 MB file
    take a gigabyte; reading twice costs a second parse but keeps one batch in
    memory.  `digest` is the SHA-256 of the bytes that were validated, checked
    again as they are re-read, so a file altered meanwhile is never stored.
    """

    path: Path
    feed: Feed
    digest: str

    def typed_batches(self) -> Iterator[pl.DataFrame]:
        digest = hashlib.sha256()
        for batch in _record_batches(self.path, self.feed, digest):
            yield typed_rows(batch, self.feed)
        if digest.hexdigest() != self.digest:
            raise FileChanged(f"{self.path.name} changed while it was being ingested")


@dataclass
class ValidatedFile:
    feed_id: str | None
    period: str | None
    frame: pl.DataFrame | None  # typed rows when accepted and read whole; None when rejected or streamed
    problems: list[Problem]  # examples, at most EXAMPLES_PER_RULE per rule
    problem_counts: dict[str, int]  # rule -> every failing cell or row
    row_count: int
    streamed: StreamedRows | None = None  # an accepted large CSV, read again in batches to be stored

    @property
    def ok(self) -> bool:
        return (self.frame is not None or self.streamed is not None) and not self.problem_counts

    def batches(self) -> Iterator[pl.DataFrame]:
        """The typed rows of an accepted file, in batches (one batch when it was read whole)."""
        if self.streamed is not None:
            yield from self.streamed.typed_batches()
        elif self.frame is not None:
            yield self.frame


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
    if size >= limits.stream_bytes and feed.kind == "records" and path.suffix.lower() == ".csv":
        streamed = _streamed(path, feed, period, catalogue)
        if streamed is not None:
            return streamed
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
    if feed.kind == "aggregate" and rows.height > max(AGGREGATE_ROWS_FLOOR,
                                                      AGGREGATE_ROWS_FACTOR * (expected := _expected_rows(feed, catalogue))):
        return _rejected(feed_id, period, [_file_problem(
            "file_too_large", f"The file has {rows.height:,} rows; a {feed_id} return has one row per indicator "
                              f"and breakdown value ({expected} in all), so it was not checked row by row. "
                              "Check it is the right return, for one month.")], rows.height)
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
    A bidirectional control (U+202A-U+202E, U+2066-U+2069) is refused the
    same way, in every column of every feed: it makes a name or reference
    print in another order (a right-to-left override shows the rest of the
    line reversed) in the dashboard, the reports and the Board pack.
    """
    _unseen_problems(cells, log, CONTROL_CHARACTERS, "control_character",
                     "holds an invisible control character (such as a NUL byte), which a return never contains: "
                     "remove it and send the file again.")
    _unseen_problems(cells, log, BIDI_CONTROLS, "bidi_control",
                     "holds an invisible right-to-left or left-to-right control character (U+202A to U+202E or "
                     "U+2066 to U+2069), which can make text show in the wrong order: remove it and send the "
                     "file again.")


def _unseen_problems(cells: pl.DataFrame, log: ProblemLog, pattern: str, rule: str, says: str) -> None:
    flagged = cells.with_row_index("row", offset=1).select(
        "row", *[pl.col(name).str.contains(pattern).fill_null(False).alias(str(position))
                 for position, name in enumerate(cells.columns, start=1)])
    failing = flagged.unpivot(index="row", variable_name="column").filter("value").sort("row")
    if failing.is_empty():
        return
    log.record(rule, failing.height, [
        Problem(row=row, column=f"column {column}", value=None, rule=rule, message=f"Row {row}, column {column} {says}")
        for row, column in failing.head(EXAMPLES_PER_RULE).select("row", pl.col("column").cast(pl.Int64)).iter_rows()
    ])


class _NotPlain(Exception):
    """A batch the streamed path does not judge; the file is validated whole instead."""


def _streamed(path: Path, feed: Feed, period: str, catalogue: Catalogue) -> ValidatedFile | None:
    """A large record-feed CSV validated batch by batch, or None: validate it whole instead.

    Only a plain, valid file is accepted here: UTF-8, its exact header, no
    control character, empty line or row of another width, every batch
    passing the schema and the feed's key unique across batches.  At the first
    sign of anything else (any problem at all) the answer is None, and the
    whole-file path gives the very problems, rows and counts it always gave.
    Key uniqueness across batches compares 64-bit hashes: a collision can only
    send a valid file to the whole-file path, never accept a duplicate
    (within a batch pandera compares the values themselves).
    """
    schema = schema_for(feed, period, catalogue)
    digest, keys, rows = hashlib.sha256(), [], 0
    try:
        for batch in _record_batches(path, feed, digest):
            log = ProblemLog()
            schema_problems(schema, batch.drop("row_number"), batch["row_number"], [], log)
            if log.counts:
                return None
            if feed.key:
                if batch[feed.key].null_count():
                    return None
                keys.append(batch[feed.key].hash())
            rows += batch.height
    except _NotPlain:
        return None
    if rows == 0 or (keys and _repeats(pl.concat(keys))):
        return None
    return ValidatedFile(feed.id, period, None, [], {}, rows, StreamedRows(path, feed, digest.hexdigest()))


def _repeats(hashes: pl.Series) -> bool:
    """Whether any hash occurs twice: sorted, then neighbours compared (a hash table of millions of keys is
    several times their size)."""
    ordered = hashes.sort()
    return bool((ordered.slice(1) == ordered.slice(0, len(ordered) - 1)).any())


def _record_batches(path: Path, feed: Feed, digest) -> Iterator[pl.DataFrame]:
    """The named data rows of a plain CSV, numbered as a spreadsheet shows them, one chunk at a time.

    Feeds every byte read into `digest`.  Raises _NotPlain for anything the
    whole-file reader would treat differently from these batches (see _streamed).
    """
    expected = expected_columns(feed)
    seen = 0  # rows of cells so far, the header included
    for chunk in csv_record_chunks(path):
        digest.update(chunk)
        if (seen == 0 and chunk.startswith((ZIP_MAGIC, *UTF16_MARKS))) or b"\x00" in chunk \
                or chunk.startswith((b"\n", b"\r\n")) or b"\n\n" in chunk or b"\n\r\n" in chunk \
                or chunk.count(b"\r") != chunk.count(b"\r\n"):
            raise _NotPlain
        try:
            chunk.decode("utf-8")
            cells = pl.read_csv(chunk, has_header=False, infer_schema=False)
        except (UnicodeDecodeError, pl.exceptions.PolarsError):
            raise _NotPlain from None
        if longest_cell(cells) > MAX_CELL_CHARS:
            raise _NotPlain
        cells = cells.with_columns(pl.all().str.strip_chars().replace("", None))
        if cells.width != len(expected) or cells.select(
                pl.any_horizontal(pl.all().str.contains(UNSEEN_CHARACTERS)).any()).item():
            raise _NotPlain
        if seen == 0 and list(cells.row(0)) != expected:
            raise _NotPlain
        rows = cells.with_row_index("row_number", offset=seen + 1).slice(1 if seen == 0 else 0)
        seen += cells.height
        yield _named(rows.filter(~pl.all_horizontal(pl.exclude("row_number").is_null())), feed)


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
