"""Writing sample files the way agencies deliver them: CSV (UTF-8, comma) or an Excel workbook."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import xlsxwriter

AGGREGATE_HEADER = ("period", "indicator", "breakdown", "value")


def file_name(feed_id: str, period: str, suffix: str = ".csv") -> str:
    """The name the file contract asks for: `<feed_id>__<YYYY-MM>.csv`."""
    return f"{feed_id}__{period}{suffix}"


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], created: datetime) -> Path:
    """One sheet, whole numbers as numbers; a fixed creation time keeps the bytes reproducible."""
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": created})
    sheet = workbook.add_worksheet("Return")
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [int(cell) if cell.lstrip("-").isdigit() else cell for cell in row])
    workbook.close()
    return path
