"""Reading a delivered file into cells of text.

Every cell is read as text (polars `infer_schema=False`, fastexcel
`dtypes="string"`): nothing is guessed, converted or evaluated, so a count of
"12.5", a date of "31/03/2024" or a cell starting "=" reaches validation exactly
as sent and gets a precise problem.  The header row comes back as row 0 so its
spelling can be checked before anything relies on it.

CSV text may be UTF-8 (with or without a byte-order mark) or Windows-1252,
which is what Excel's plain "CSV" export writes on a UK machine ('£' is the
single byte 0xA3); both are read correctly.  Error messages from the parsers are
never passed on: they can quote a row, and a row can hold a child's reference.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import fastexcel
import polars as pl

from radar.validation.problems import Problem

MB = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"  # how every .xlsx file starts
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
# A workbook is a zip of XML parts; a cell is an element `<c ...>` (or `<x:c ...>` with a namespace prefix).
CELL_TAG = re.compile(rb"<(?:\w+:)?c[ >/]")
WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
UNPACK_CHUNK = 1 << 20
# Excel date cells come back from fastexcel as "YYYY-MM-DD 00:00:00".
MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"


class ReadError(Exception):
    """Raised with the Problem to report when a file cannot be turned into cells."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def read_cells(path: Path, max_unpacked_bytes: int = 500 * 1024 * 1024, max_cells: int = 10_000_000) -> pl.DataFrame:
    """Every cell of the file (the first sheet of a workbook) as stripped text, empty cells null.

    Row 0 is the header.  Columns that are empty from top to bottom (a trailing
    comma on every line, formatted but unused spreadsheet columns) are dropped.
    A workbook is measured before it is opened (`max_unpacked_bytes`, `max_cells`).
    """
    if path.suffix.lower() == ".xlsx":
        check_workbook_size(path, max_unpacked_bytes, max_cells)
        frame = _read_xlsx(path)
    else:
        frame = _read_csv(path)
    frame = frame.with_columns(pl.all().str.strip_chars().replace("", None))
    frame = frame.select([name for name in frame.columns if frame[name].null_count() < frame.height])
    if frame.width == 0:
        where = "The first sheet of the workbook" if path.suffix.lower() == ".xlsx" else "The file"
        _fail("empty_file", f"{where} has nothing in it: put the return (header row first) there and send it again.")
    return frame


def _read_csv(path: Path) -> pl.DataFrame:
    raw = path.read_bytes()
    if raw.startswith(ZIP_MAGIC):
        _fail("unreadable", "This file is an Excel workbook but its name ends in .csv: "
                            "rename it to .xlsx, or save it as 'CSV UTF-8 (comma delimited)'.")
    if raw.startswith(UTF16_MARKS) or raw[:4096].count(b"\x00") * 4 > len(raw[:4096]):  # every other byte
        _fail("encoding", "The file is saved as 'Unicode text' (UTF-16), which Radar cannot read: "
                          "save it as 'CSV UTF-8 (comma delimited)'.")
    data = _as_utf8(raw)
    try:
        return pl.read_csv(data, has_header=False, infer_schema=False)
    except pl.exceptions.NoDataError:
        _fail("empty_file", "The file has nothing in it: export the return again.")
    except pl.exceptions.PolarsError:
        raise ReadError(_layout_problem(data.decode("utf-8"))) from None


def _as_utf8(raw: bytes) -> bytes:
    """UTF-8 bytes for polars: as delivered when already UTF-8, else decoded from Windows-1252."""
    try:
        raw.decode("utf-8")
        return raw
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252").encode("utf-8")
    except UnicodeDecodeError:
        _fail("encoding", "The file contains characters that are neither UTF-8 nor Windows-1252 text: "
                          "save it as 'CSV UTF-8 (comma delimited)'.")


def _layout_problem(text: str) -> Problem:
    """Why polars could not split the text into a table: a row wider than the header, or broken quotes."""
    width, first, count = 0, None, 0
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if number == 1:
                width = len(cells)
            elif len(cells) > width:
                first, count = first or number, count + 1
    except csv.Error:
        first = None
    if first is None:
        return Problem(None, None, None, "unreadable",
                       "Radar could not split the file into rows and columns, usually because a double quote (\") "
                       "is opened but never closed. Check the file in a text editor and export it again.")
    return Problem(first, None, None, "row_length",
                   f"Row {first} has more cells than the header row's {width} ({count} row(s) like this). "
                   "Usually a value contains a comma without double quotes around it, "
                   "or something was typed to the right of the table.")


def check_workbook_size(path: Path, max_unpacked_bytes: int, max_cells: int) -> None:
    """Refuse a workbook whose parts unpack to more than `max_unpacked_bytes` or hold more than `max_cells` cells.

    The file's own size says little: XML compresses a thousandfold, so a 1 MB
    "zip bomb" unpacks to gigabytes.  Every part is decompressed here in
    chunks, counting the bytes actually produced (never trusting the sizes the
    zip declares) and the cell tags in the worksheets, and the count stops as
    soon as a limit is passed, so memory stays at one chunk.
    """
    unpacked = cells = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for part in archive.infolist():
                sheet = WORKSHEET.match(part.filename) is not None
                tail = b""
                with archive.open(part) as fh:
                    while chunk := fh.read(UNPACK_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > max_unpacked_bytes:
                            _fail("file_too_large", f"The workbook unpacks to more than {max_unpacked_bytes / MB:g} MB "
                                                    "of spreadsheet data, Radar's limit, so it was not opened. "
                                                    "Check it holds one month of one return, or send it as CSV.")
                        if sheet:
                            cells += len(CELL_TAG.findall(tail + chunk)) - len(CELL_TAG.findall(tail))
                            tail = chunk[-16:]
                            if cells > max_cells:
                                _fail("file_too_large", f"The workbook has more than {max_cells:,} cells, Radar's "
                                                        "limit, so it was not opened. Check it holds one month of "
                                                        "one return (and no formatted empty sheet), or send it as CSV.")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError):
        _fail("unreadable", "Radar could not open this file as an Excel workbook (.xlsx): "
                            "open it in Excel, save it as 'Excel Workbook' and send it again.")


def _read_xlsx(path: Path) -> pl.DataFrame:
    try:
        frame = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string").to_polars()
    except fastexcel.FastExcelError:
        _fail("unreadable", "Radar could not open this file as an Excel workbook (.xlsx): "
                            "open it in Excel, save it as 'Excel Workbook' and send it again.")
    return frame.with_columns(pl.all().str.replace(MIDNIGHT, "${1}"))


def _fail(rule: str, message: str) -> NoReturn:
    raise ReadError(Problem(row=None, column=None, value=None, rule=rule, message=message))


def csv_record_chunks(path: Path, chunk_bytes: int = 4 * MB) -> Iterator[bytes]:
    """The file's bytes in pieces of about `chunk_bytes`, each ending at a line break between records.

    A line break inside double quotes belongs to a cell; a quote inside a
    quoted cell is doubled, so a break ends a record exactly when an even
    number of quotes come before it.  Each piece is therefore whole records,
    and polars parses it as it parses that part of the whole file.  A piece
    with no such break (one enormous quoted cell) simply grows.
    """
    pending = b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            pending += block
            if cut := _record_end(pending):
                yield pending[:cut]
                pending = pending[cut:]
    if pending:
        yield pending


def _record_end(data: bytes) -> int:
    """Just past the last line break of `data` preceded by an even number of quotes (0 when none)."""
    quotes, end = data.count(b'"'), len(data)
    while (position := data.rfind(b"\n", 0, end)) >= 0:
        quotes -= data.count(b'"', position, end)
        if quotes % 2 == 0:
            return position + 1
        end = position
    return 0
