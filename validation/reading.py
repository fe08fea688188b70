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
import xml.parsers.expat
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
# Excel date cells come back from fastexcel as "YYYY-MM-DD 00:00:00" (ASCII digits: \d is any script's).
MIDNIGHT = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) 00:00:00$"
# Excel's own limit on a cell's text; a longer one was not written by Excel and is refused unread.
MAX_CELL_CHARS = 32_767
CELL_TOO_LONG = ("holds cell text longer than Excel's 32,767-character limit, which no spreadsheet writes, "
                 "so it was not checked further. Check the file is the return itself and export it again.")
# Where a cell's text ends: a worksheet's `</c>` (its `<v>` or inline `<is>` inside) and the shared strings'
# `</si>` (whose runs `<r><t>` join into one cell).  The reader takes a cell's text up to the first of these.
# (Written otherwise, `</x:c>` or `</c >`, they are not counted: the part is then parsed, which is slower.)
ITEM_ENDS = (b"</c>", b"</si>")
# Any stretch of this many bytes without a '<' is text or a tag of more than MAX_CELL_CHARS characters
# (a character, or an entity such as &#x10FFFF; as spreadsheets write them, is at most 10 bytes): refused unparsed.
MAX_PLAIN_BYTES = 10 * MAX_CELL_CHARS
XML_NAMES = (".xml", ".rels", ".vml")
# A cell's position, `r="XFD1048576"`: the reader makes a grid from the first to the last position in a sheet,
# so one cell at A1 and one at XFD1048576 would be 17 billion cells (549 GB, and the process aborts).
# (Only a cell has an attribute named r with letters then digits; the reader reads no other spelling.)
CELL_REF = re.compile(rb"\sr=\"([A-Za-z]{1,3})([0-9]{1,7})\"")
# The shared strings' declared counts, which the reader reserves memory for before reading a string.
SST_TAG = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*")
SST_COUNTS = re.compile(rb"\b(?:uniqueCount|count)\s*=\s*[\"']\s*([0-9]+)")


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
        if longest_cell(frame) > MAX_CELL_CHARS:
            _fail("cell_too_long", f"The file {CELL_TOO_LONG}")
    frame = frame.with_columns(pl.all().str.strip_chars().replace("", None))
    frame = frame.select([name for name in frame.columns if frame[name].null_count() < frame.height])
    if frame.width == 0:
        where = "The first sheet of the workbook" if path.suffix.lower() == ".xlsx" else "The file"
        _fail("empty_file", f"{where} has nothing in it: put the return (header row first) there and send it again.")
    return frame


def longest_cell(frame: pl.DataFrame) -> int:
    """The characters in the frame's longest cell (0 when it has none); bytes are counted first, which is quick
    and never fewer."""
    if frame.height == 0 or frame.width == 0:
        return 0
    longest = frame.select(pl.max_horizontal(pl.all().str.len_bytes().max())).item() or 0
    if longest <= MAX_CELL_CHARS:
        return longest
    return frame.select(pl.max_horizontal(pl.all().str.len_chars().max())).item() or 0


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
    """Refuse a workbook whose parts unpack to more than `max_unpacked_bytes`, hold more than `max_cells` cells
    or hold a cell's text longer than Excel's 32,767 characters.

    The file's own size says little: XML compresses a thousandfold, so a 1 MB
    "zip bomb" unpacks to gigabytes, and a 0.5 MB file can hold one shared
    string of 480 MB, which the reader would make whole (several times over).
    Every part is decompressed here in chunks, counting the bytes actually
    produced (never trusting the sizes the zip declares), the cell tags in the
    worksheets and how far apart the cells' text lies (`_PartScan`); the check
    stops as soon as a limit is passed, so memory stays at one chunk.  Only a
    part where some cell could be that long (two cells over 32,767 bytes apart)
    is read again, streamed through an XML parser that counts each cell's
    characters without keeping them (`_long_text_in`).
    """
    unpacked = cells = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for part in archive.infolist():
                sheet = WORKSHEET.match(part.filename) is not None
                scan, box, tail = _PartScan(part.filename), _SheetBox(max_cells), b""
                with archive.open(part) as fh:
                    while chunk := fh.read(UNPACK_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > max_unpacked_bytes:
                            _fail("file_too_large", f"The workbook unpacks to more than {max_unpacked_bytes / MB:g} MB "
                                                    "of spreadsheet data, Radar's limit, so it was not opened. "
                                                    "Check it holds one month of one return, or send it as CSV.")
                        scan.feed(chunk)
                        if scan.offset == len(chunk):  # the part's first chunk, where its root tag is
                            _check_declared_counts(chunk, max_cells)
                        if sheet:
                            box.feed(chunk)
                            cells += len(CELL_TAG.findall(tail + chunk)) - len(CELL_TAG.findall(tail))
                            tail = chunk[-16:]
                            if cells > max_cells:
                                _fail("file_too_large", f"The workbook has more than {max_cells:,} cells, Radar's "
                                                        "limit, so it was not opened. Check it holds one month of "
                                                        "one return (and no formatted empty sheet), or send it as CSV.")
                if sheet:
                    box.finish()
                if scan.needs_parsing():
                    with archive.open(part) as fh:
                        if _long_text_in(fh):
                            _fail("cell_too_long", f"The workbook {CELL_TOO_LONG}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError):
        _fail("unreadable", "Radar could not open this file as an Excel workbook (.xlsx): "
                            "open it in Excel, save it as 'Excel Workbook' and send it again.")


def _check_declared_counts(head: bytes, max_cells: int) -> None:
    """Refuse shared strings that declare more strings than the workbook may have cells: the reader reserves
    room for them all at once (two billion would be 48 GB, and the process aborts)."""
    if any(int(count) > max_cells for tag in SST_TAG.findall(head[:65536]) for count in SST_COUNTS.findall(tag)):
        _fail("file_too_large", f"The workbook declares more than {max_cells:,} cells of text, Radar's limit, so "
                                "it was not opened. Check it holds one month of one return, or send it as CSV.")


class _SheetBox:
    """The grid a worksheet's cell positions span (`CELL_REF`), refused when it holds more than `max_cells`.

    Tags cut by a chunk's end are carried to the next chunk whole (no tag
    is longer than MAX_PLAIN_BYTES, see _PartScan).  Cells written without a
    position (`r`) are counted by CELL_TAG instead.
    """

    def __init__(self, max_cells: int) -> None:
        self.max_cells, self.carry, self.rows, self.columns = max_cells, b"", 0, 0

    def feed(self, chunk: bytes) -> None:
        data = self.carry + chunk
        cut = data.rfind(b"<")
        cut = len(data) if cut < 0 else cut
        self._measure(data[:cut])
        self.carry = data[cut:]

    def finish(self) -> None:
        self._measure(self.carry)

    def _measure(self, data: bytes) -> None:
        refs = CELL_REF.findall(data)
        if not refs:
            return
        columns, rows = zip(*refs)  # distinct values first: a row's number repeats in each of its cells
        self.columns = max(self.columns, *map(_column_number, set(columns)))
        self.rows = max(self.rows, *map(int, set(rows)))
        if self.rows * self.columns > self.max_cells:
            _fail("file_too_large", f"The workbook's cells span {self.rows:,} rows by {self.columns:,} columns, more "
                                    f"than Radar's limit of {self.max_cells:,} cells, so it was not opened. Delete "
                                    "anything typed far from the table (Ctrl+End shows the last cell Excel keeps) "
                                    "and send it again, or send it as CSV.")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - ord("A") + 1
    return number


class _PartScan:
    """What one chunked pass over a part says about its longest cell text, at the speed of a regex search.

    The reader takes a cell's text up to the first `</c>` (or `</si>`) after
    it, so no cell holds more characters than the bytes between two of them
    (or the part's start or end): when every such distance is within half
    Excel's limit the part needs nothing more.  A stretch without any '<' ten times
    the limit is refused at once; otherwise `needs_parsing` asks for the exact
    count.  Binary parts (images, a printer's settings) are not XML and skipped.
    """

    def __init__(self, name: str) -> None:
        self.xml: bool | None = True if name.lower().endswith(XML_NAMES) else None
        self.offset = 0  # bytes of the part before the current chunk
        self.last_open = -1  # where the last '<' was
        self.last_end = {kind: None for kind in ITEM_ENDS}  # where the last end of each kind was (None: none yet)
        self.wide = {kind: False for kind in ITEM_ENDS}  # whether two ends of a kind may be too far apart

    def feed(self, chunk: bytes) -> None:
        """Measure with `bytes.find` over windows (no Python per tag): a stretch longer than twice a window
        holds a whole window, so when every window holds a '<' (or an end) no stretch is longer."""
        if self.xml is None:
            self.xml = chunk.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")[:1] == b"<"
        if not self.xml:
            return
        if self._plain_stretch(chunk) > MAX_PLAIN_BYTES:
            _fail("cell_too_long", f"The workbook {CELL_TOO_LONG}")
        if (last := chunk.rfind(b"<")) >= 0:
            self.last_open = self.offset + last
        window = MAX_CELL_CHARS // 2
        for kind in ITEM_ENDS:
            first = chunk.find(kind)
            if first < 0:
                continue
            self.wide[kind] = self.wide[kind] or self.offset + first - (self.last_end[kind] or 0) > MAX_CELL_CHARS \
                or any(chunk.find(kind, start, start + window + len(kind)) < 0
                       for start in range(first, chunk.rfind(kind) - window, window))
            self.last_end[kind] = self.offset + chunk.rfind(kind)
        self.offset += len(chunk)

    def _plain_stretch(self, chunk: bytes) -> int:
        """The longest stretch without '<' that ends in this chunk or runs on from the last one (at least)."""
        window, longest = MAX_PLAIN_BYTES // 2, 0
        first = chunk.find(b"<")
        longest = self.offset + (len(chunk) if first < 0 else first) - self.last_open - 1
        for start in range(0, len(chunk), window):
            if chunk.find(b"<", start, start + window) < 0:
                before = chunk.rfind(b"<", 0, start)
                after = chunk.find(b"<", start + window)
                begins = self.offset + before if before >= 0 else self.last_open
                longest = max(longest, self.offset + (len(chunk) if after < 0 else after) - begins - 1)
        return longest

    def needs_parsing(self) -> bool:
        """Whether some cell could hold more than MAX_CELL_CHARS characters (the part's whole text, when it
        has no cells)."""
        if not self.xml:
            return False
        ends = [kind for kind, last in self.last_end.items() if last is not None]
        if not ends:
            return self.offset > MAX_CELL_CHARS
        return any(self.wide[kind] or self.offset - self.last_end[kind] > MAX_CELL_CHARS for kind in ends)


class _TooLong(Exception):
    pass


def _long_text_in(fh) -> bool:
    """Whether any cell of this XML part holds more than MAX_CELL_CHARS characters, counted as the parser
    streams them (never kept): the text of a `<c>` or `<si>` element's `<t>` and `<v>` elements together,
    and outside them any single run of text (a defined name, a header).  A part that is not well-formed
    XML, or declares a DTD (which could define entities that expand), is refused as unreadable: the
    reader is more lenient than this parser, so what it would make of it is not known.
    """
    depth = 0  # inside a cell: its element's depth there; 0 outside
    counting = False
    length = 0

    def start(name: str, _attributes) -> None:
        nonlocal depth, counting, length
        local = name.rpartition(":")[2]
        if depth:
            depth += 1
        elif local in ("c", "si"):
            depth, length = 1, 0
        else:
            length = 0
        counting = not depth or local in ("t", "v")

    def end(name: str) -> None:
        nonlocal depth, counting, length
        if depth:
            depth -= 1
        if not depth:
            length = 0
        counting = not depth

    def text(data: str) -> None:
        nonlocal length
        if counting:
            length += len(data)
            if length > MAX_CELL_CHARS:
                raise _TooLong

    def doctype(*_args) -> None:
        raise xml.parsers.expat.ExpatError("a DTD")

    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    parser.StartDoctypeDeclHandler = doctype
    try:
        while chunk := fh.read(UNPACK_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _TooLong:
        return True
    except xml.parsers.expat.ExpatError:
        _fail("unreadable", "Radar could not open this file as an Excel workbook (.xlsx): part of it is not "
                            "well-formed. Open it in Excel, save it as 'Excel Workbook' and send it again.")
    return False


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
