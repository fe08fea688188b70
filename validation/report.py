"""The rejection report a data lead receives: a CSV of problems and a one-page summary.

Both are written next to each other as `<file name>.report.csv` and
`<file name>.report.md`.  A report opened in Excel must not run anything the
agency sent, and a Markdown viewer must not turn a cell into a link or an
image: every cell goes through validation/inert.py (`neutralise` for the CSV,
`markdown_text` for the summary).  Writes are atomic: a reader never sees half
a report.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from radar.validation.feeds import ValidatedFile
from radar.validation.inert import markdown_text, neutralise
from radar.validation.problems import RULES, Problem

CSV_COLUMNS = ["file", "row", "column", "value", "rule", "message"]


def write_report(result: ValidatedFile, file_name: str, out_dir: Path, stem: str | None = None) -> tuple[Path, Path]:
    """Write the CSV and Markdown reports for `result` into `out_dir`; return their paths.

    The reports are named `<stem>.report.csv|md`; the ingest flow passes the
    quarantined copy's name (unique per delivery and short enough for any
    filesystem), so a second rejection never overwrites the first one's report.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or file_name
    csv_path, md_path = out_dir / f"{stem}.report.csv", out_dir / f"{stem}.report.md"
    _write_atomically(csv_path, _csv_text(result, file_name), encoding="utf-8-sig")  # Excel reads the BOM
    _write_atomically(md_path, _markdown_text(result, file_name), encoding="utf-8")
    return csv_path, md_path


def _csv_text(result: ValidatedFile, file_name: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in result.problems:
        writer.writerow([neutralise(_text(cell)) for cell in (file_name, p.row, p.column, p.value, p.rule, p.message)])
    return out.getvalue()


def _markdown_text(result: ValidatedFile, file_name: str) -> str:
    what = (f"the `{result.feed_id}` return for {result.period}, {result.row_count} data row(s)"
            if result.feed_id else "a file Radar could not match to a return")
    lines = [f"# Radar report for {_cell(file_name)}", "", f"This file is {what}.", ""]
    if result.ok:
        return "\n".join([*lines, "It passed every check and has been accepted.", ""])
    lines += [
        "It was **not accepted**: nothing from it has been stored. " + _what_next(result), "",
        "| Problem | How many rows | What to do |", "| --- | --- | --- |",
    ]
    for rule, count in result.problem_counts.items():
        info = RULES[rule]
        lines.append(f"| {info.title} | {count} | {info.advice} |")  # Radar's own words: nothing to escape
    shown = len(result.problems)
    total = sum(result.problem_counts.values())
    lines += ["", "## Examples", ""]
    if shown < total:
        lines += [f"The first {shown} of {total} problems (the CSV report lists the same).", ""]
    lines += ["| Row | Column | Value | Problem |", "| --- | --- | --- | --- |"]
    lines += [_example_row(p) for p in result.problems]
    return "\n".join([*lines, ""])


def _what_next(result: ValidatedFile) -> str:
    """One instruction for the whole file: a wrong name is fixed by renaming, anything else by correcting."""
    if "file_name" in result.problem_counts:
        return "Rename the file as the problem below explains (keep its contents) and send it again."
    return ("Correct the problems below and send the whole file again with the same name "
            f"({result.feed_id}__{result.period} with its extension).")


def _example_row(problem: Problem) -> str:
    row = "whole file" if problem.row is None else str(problem.row)
    return f"| {row} | {_cell(problem.column)} | {_cell(problem.value)} | {_cell(problem.message)} |"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _cell(value: str | None) -> str:
    """A table cell: shown literally, with nothing a Markdown viewer would render or a table would split on."""
    return markdown_text(neutralise(_text(value)))


def _write_atomically(path: Path, text: str, encoding: str) -> None:
    """Write to a temporary file in the same folder, then rename over `path` in one step."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".tmp")  # short: any name fits
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
