"""Rejection reports: contents, neutralised formulas, atomic writes."""

from __future__ import annotations

import csv

import pytest
from feedfiles import AGGREGATE_HEADER, aggregate_rows, write_aggregate, write_csv

from radar.validation.feeds import validate_file
from radar.validation.report import neutralise, write_report

LIMIT = 10 * 1024 * 1024



@pytest.mark.parametrize("text, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("plain", "plain"), ("", ""), ("a=b", "a=b"),
])
def test_neutralise(text, expected):
    assert neutralise(text) == expected


def bad_return(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", "2024-03")
    rows[0]["value"] = "=1+2"
    rows[1]["value"] = "-4"
    rows[2]["indicator"] = "cin_rate|x"
    return validate_file(write_csv(tmp_path / "police_monthly__2024-03.csv", AGGREGATE_HEADER, rows),
                         catalogue, LIMIT)


def test_csv_report(tmp_path, catalogue):
    result = bad_return(tmp_path, catalogue)
    csv_path, _ = write_report(result, "police_monthly__2024-03.csv", tmp_path / "reports")
    assert csv_path == tmp_path / "reports" / "police_monthly__2024-03.csv.report.csv"
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["file", "row", "column", "value", "rule", "message"]
    by_rule = {r["rule"]: r for r in rows}
    assert set(by_rule) == {"not_whole_number", "negative", "unknown_indicator", "missing_indicator"}
    assert by_rule["not_whole_number"]["value"] == "'=1+2"
    negative = by_rule["negative"]
    assert (negative["file"], negative["row"], negative["column"], negative["value"]) == (
        "police_monthly__2024-03.csv", "3", "value", "'-4")
    assert negative["message"] == "The value is below zero: a count cannot be negative."
    assert by_rule["missing_indicator"]["row"] == ""


def test_markdown_report(tmp_path, catalogue):
    result = bad_return(tmp_path, catalogue)
    _, md_path = write_report(result, "police_monthly__2024-03.csv", tmp_path)
    text = md_path.read_text(encoding="utf-8")
    assert text.startswith("# Radar report for police\\_monthly\\_\\_2024\\-03\\.csv\n")
    assert "This file is the `police_monthly` return for 2024-03, 3 data row(s)." in text
    assert "**not accepted**" in text
    assert "| Negative count | 1 | Counts cannot be below zero: correct the figure. |" in text
    assert "| Indicator missing | 1 |" in text
    assert "| 2 | value | \\'\\=1\\+2 |" in text
    assert "| 4 | indicator | cin\\_rate\\|x |" in text  # a pipe cannot break the table
    assert "| whole file | indicator |  | There is no row for sexual\\_offences" in text


def test_markdown_report_says_when_examples_are_a_sample(tmp_path, catalogue):
    rows = [{"period": "2024-03", "indicator": f"bogus_{i}", "breakdown": "", "value": "1"} for i in range(120)]
    result = validate_file(write_csv(tmp_path / "police_monthly__2024-03.csv", AGGREGATE_HEADER, rows),
                           catalogue, LIMIT)
    _, md_path = write_report(result, "police_monthly__2024-03.csv", tmp_path)
    text = md_path.read_text(encoding="utf-8")
    assert "| Unknown indicator | 120 |" in text
    assert "The first 103 of 123 problems" in text  # 100 unknown shown + 3 missing indicators


def test_report_for_an_unmatched_file_name(tmp_path, catalogue):
    path = tmp_path / "returns.csv"
    path.write_text("x\n")
    result = validate_file(path, catalogue, LIMIT)
    _, md_path = write_report(result, "returns.csv", tmp_path)
    text = md_path.read_text(encoding="utf-8")
    assert "This file is a file Radar could not match to a return." in text
    assert "| File name does not follow the pattern | 1 |" in text


def test_report_for_an_accepted_file(tmp_path, catalogue):
    result = validate_file(write_aggregate(tmp_path, "police_monthly", "2024-03", catalogue), catalogue, LIMIT)
    csv_path, md_path = write_report(result, "police_monthly__2024-03.csv", tmp_path)
    assert csv_path.read_text(encoding="utf-8-sig") == "file,row,column,value,rule,message\n"
    assert "passed every check" in md_path.read_text(encoding="utf-8")


def test_writes_are_atomic(tmp_path, catalogue, monkeypatch):
    """A failed write leaves the old report in place and no temporary file behind."""
    result = bad_return(tmp_path, catalogue)
    csv_path, _ = write_report(result, "f.csv", tmp_path / "out")
    before = csv_path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("radar.validation.report.os.replace", broken_replace)
    with pytest.raises(OSError):
        write_report(result, "f.csv", tmp_path / "out")
    assert csv_path.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f.csv.report.csv", "f.csv.report.md"]
