"""Reading files: encodings, workbooks, sizes, separators, headers and broken layouts."""

from __future__ import annotations

import datetime

import polars as pl
import pytest
import xlsxwriter
from feedfiles import (
    AGGREGATE_HEADER,
    aggregate_rows,
    record_rows,
    write_aggregate,
    write_csv,
    write_records,
)

from radar.validation.feeds import validate_file
from radar.validation.problems import RULES

LIMIT = 10 * 1024 * 1024



def only_problem(result):
    """The single problem of a file rejected as a whole, checked to be a known rule."""
    assert not result.ok and result.frame is None
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    assert problem.rule in RULES and result.problem_counts == {problem.rule: 1}
    return problem


def lado_row(**cells):
    return record_rows("lado_referrals", "2024-03", 1)[0] | cells


# --- encodings -------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_bom_and_windows_1252_are_read_correctly(tmp_path, catalogue, encoding):
    path = write_csv(tmp_path / "lado_referrals__2024-03.csv",
                     [c.name for c in catalogue.feed_by_id["lado_referrals"].columns],
                     [lado_row(setting_ref="Café £5 club")], encoding=encoding)
    result = validate_file(path, catalogue, LIMIT)
    assert result.ok, result.problems
    assert result.frame["setting_ref"].to_list() == ["Café £5 club"]
    assert result.frame.columns[1] == "referral_id"  # no byte-order mark glued to the first name


def test_bytes_that_are_neither_utf8_nor_windows_1252(tmp_path, catalogue):
    path = write_aggregate(tmp_path, "police_monthly", "2024-03", catalogue)
    path.write_bytes(path.read_bytes().replace(b"da_incidents", b"da_incid\x81nts"))
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "encoding" and "CSV UTF-8" in problem.message


def test_utf16_unicode_text_is_refused_with_the_fix(tmp_path, catalogue):
    path = write_aggregate(tmp_path, "police_monthly", "2024-03", catalogue)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "encoding" and "UTF-16" in problem.message


# --- workbooks ---------------------------------------------------------------

def test_xlsx_return_reads_like_the_csv(tmp_path, catalogue):
    (tmp_path / "x").mkdir()
    from_csv = validate_file(write_aggregate(tmp_path, "csc_monthly", "2024-03", catalogue), catalogue, LIMIT)
    from_xlsx = validate_file(write_aggregate(tmp_path / "x", "csc_monthly", "2024-03", catalogue, fmt="xlsx"),
                              catalogue, LIMIT)
    assert from_xlsx.ok, from_xlsx.problems
    assert from_xlsx.frame.equals(from_csv.frame)


def test_xlsx_date_and_number_cells_are_read_as_their_text(tmp_path, catalogue):
    """Excel users type real dates and numbers; they must read as YYYY-MM-DD and whole numbers."""
    path = tmp_path / "missing_episodes__2024-03.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet, as_date = workbook.add_worksheet(), workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, [c.name for c in catalogue.feed_by_id["missing_episodes"].columns])
    sheet.write_row(1, 0, ["E1", "C1"])
    sheet.write_datetime(1, 2, datetime.datetime(2024, 3, 9), as_date)
    sheet.write_datetime(1, 3, datetime.datetime(2024, 4, 2), as_date)
    sheet.write_row(1, 4, ["TRUE", "true", "False"])
    workbook.close()
    result = validate_file(path, catalogue, LIMIT)
    assert result.ok, result.problems
    assert result.frame.row(0) == (2, "E1", "C1", datetime.date(2024, 3, 9), datetime.date(2024, 4, 2),
                                   True, True, False)


def test_xlsx_with_an_empty_first_sheet(tmp_path, catalogue):
    path = tmp_path / "police_monthly__2024-03.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet("Notes")
    workbook.add_worksheet("Data").write_row(0, 0, AGGREGATE_HEADER)
    workbook.close()
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "empty_file" and "first sheet" in problem.message


def test_a_text_file_named_xlsx_is_unreadable(tmp_path, catalogue):
    path = tmp_path / "police_monthly__2024-03.xlsx"
    path.write_text("period,indicator,breakdown,value\n")
    assert only_problem(validate_file(path, catalogue, LIMIT)).rule == "unreadable"


def test_a_workbook_named_csv_says_so(tmp_path, catalogue):
    workbook = write_aggregate(tmp_path, "police_monthly", "2024-03", catalogue, fmt="xlsx")
    path = workbook.rename(tmp_path / "police_monthly__2024-03.csv")
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "unreadable" and "rename it to .xlsx" in problem.message


# --- size and emptiness --------------------------------------------------------

def test_too_large_is_refused_without_reading(tmp_path, catalogue, monkeypatch):
    path = write_aggregate(tmp_path, "csc_monthly", "2024-03", catalogue)
    path.write_bytes(path.read_bytes() + b"\n" * (3 * 1024 * 1024))  # 3.0 MB and a little

    def must_not_read(_):
        raise AssertionError("a file over the limit was read")

    monkeypatch.setattr("radar.validation.feeds.read_cells", must_not_read)
    problem = only_problem(validate_file(path, catalogue, 2 * 1024 * 1024))
    assert problem.rule == "file_too_large"
    assert "3.0 MB" in problem.message and "limit of 2 MB" in problem.message


@pytest.mark.parametrize("content", [b"", b"\n\n\r\n", b" , ,\n"])
def test_empty_files(tmp_path, catalogue, content):
    path = tmp_path / "police_monthly__2024-03.csv"
    path.write_bytes(content)
    assert only_problem(validate_file(path, catalogue, LIMIT)).rule == "empty_file"


def test_header_only(tmp_path, catalogue):
    path = write_csv(tmp_path / "police_monthly__2024-03.csv", AGGREGATE_HEADER, [])
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "no_rows" and problem.row is None


def test_blank_rows_and_trailing_commas_are_ignored_and_rows_keep_their_numbers(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", "2024-03")  # 3 indicators
    lines = ["period,indicator,breakdown,value,", *[f"{r['period']},{r['indicator']},, 7 ," for r in rows]]
    lines.insert(2, ",,,,")
    path = tmp_path / "police_monthly__2024-03.csv"
    path.write_text("\r\n".join(lines) + "\r\n\r\n")
    result = validate_file(path, catalogue, LIMIT)
    assert result.ok, result.problems
    assert result.row_count == 3
    assert result.frame["row_number"].to_list() == [2, 4, 5]  # row 3 was the empty one
    assert result.frame["value"].to_list() == [7, 7, 7]


# --- separators and layout -------------------------------------------------------

@pytest.mark.parametrize("delimiter, named", [(";", "';'"), ("\t", "tabs")])
def test_wrong_delimiter(tmp_path, catalogue, delimiter, named):
    path = write_csv(tmp_path / "police_monthly__2024-03.csv", AGGREGATE_HEADER,
                     aggregate_rows(catalogue, "police_monthly", "2024-03"), delimiter=delimiter)
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "delimiter"
    assert problem.message.startswith(f"The file uses {named} between columns; Radar needs commas")


def test_row_wider_than_the_header(tmp_path, catalogue):
    lines = ["period,indicator,breakdown,value", "2024-03,da_offences,,5", "2024-03,da_incidents,,1,200",
             "2024-03,sexual_offences,,2", "2024-03,x,,1,2,3"]
    path = tmp_path / "police_monthly__2024-03.csv"
    path.write_text("\n".join(lines) + "\n")
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert (problem.rule, problem.row) == ("row_length", 3)
    assert "2 row(s) like this" in problem.message


def test_unclosed_quote(tmp_path, catalogue):
    path = tmp_path / "police_monthly__2024-03.csv"
    path.write_text('period,indicator,breakdown,value\n2024-03,"da_offences,,5\n')
    assert only_problem(validate_file(path, catalogue, LIMIT)).rule == "unreadable"


# --- header ------------------------------------------------------------------------

def header_messages(tmp_path, catalogue, header, feed_id="police_monthly"):
    path = write_csv(tmp_path / f"{feed_id}__2024-03.csv", header, [dict.fromkeys(header, "1")])
    result = validate_file(path, catalogue, LIMIT)
    assert not result.ok and {p.rule for p in result.problems} == {"header"}
    assert all(p.row == 1 for p in result.problems)
    return [p.message for p in result.problems]


def test_misspelt_column_suggests_the_expected_name(tmp_path, catalogue):
    assert header_messages(tmp_path, catalogue, ["period", "indicator", "breakdown", "vaule"]) == [
        "Column 'vaule' is not expected: did you mean 'value'?"]


def test_capitalised_column_is_matched(tmp_path, catalogue):
    assert header_messages(tmp_path, catalogue, ["Period", "indicator", "breakdown", "value"]) == [
        "Column 'Period' is not expected: did you mean 'period'?"]


def test_all_capitalised_header_is_still_recognised_as_a_header(tmp_path, catalogue):
    assert header_messages(tmp_path, catalogue, ["Period", "Indicator", "Breakdown", "Value"]) == [
        f"Column '{name}' is not expected: did you mean '{name.lower()}'?"
        for name in ["Period", "Indicator", "Breakdown", "Value"]]


def test_missing_and_extra_columns(tmp_path, catalogue):
    messages = header_messages(tmp_path, catalogue, ["period", "indicator", "value", "notes"])
    assert messages == ["Column 'notes' is not part of this return: delete it.",
                        "Column 'breakdown' is missing: add it (columns are period, indicator, breakdown, value)."]


def test_wrong_order(tmp_path, catalogue):
    assert header_messages(tmp_path, catalogue, ["indicator", "period", "breakdown", "value"]) == [
        "The columns are in a different order: they must be period, indicator, breakdown, value, in that order."]


def test_repeated_column(tmp_path, catalogue):
    messages = header_messages(tmp_path, catalogue, ["period", "indicator", "breakdown", "value", "value"])
    assert messages == ["Column 'value' appears more than once in the header: keep one."]


def test_column_without_a_name(tmp_path, catalogue):
    path = tmp_path / "police_monthly__2024-03.csv"
    path.write_text("period,indicator,breakdown,value,\n2024-03,da_offences,,5,oops\n")
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "header" and problem.message.startswith("Column 5 has values but no name")


def test_missing_header_row_does_not_repeat_the_first_row(tmp_path, catalogue):
    """Without a header the first row is data, perhaps a child's reference: it must not be echoed."""
    rows = record_rows("mash_contacts", "2024-03", 2)
    rows[0]["child_ref"] = "CHILD-SECRET-77"
    path = write_records(tmp_path, "mash_contacts", "2024-03", rows)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:]) + "\n")
    problem = only_problem(validate_file(path, catalogue, LIMIT))
    assert problem.rule == "header" and "add the header row" in problem.message
    assert "CHILD-SECRET-77" not in repr(problem)
    assert problem.value is None and problem.column is None


def test_header_problems_stop_before_the_cells(tmp_path, catalogue):
    path = write_csv(tmp_path / "police_monthly__2024-03.csv", ["period", "indicator", "breakdown", "vaule"],
                     [{"period": "1999-01", "indicator": "nope", "vaule": "-1"}])
    result = validate_file(path, catalogue, LIMIT)
    assert result.problem_counts == {"header": 1}
    assert result.row_count == 1


def test_every_cell_is_read_as_text(tmp_path):
    """Leading zeros, formulas and long digit strings survive reading unchanged."""
    from radar.validation.reading import read_cells

    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n007,=SUM(A1:A2),12345678901234567890\n")
    cells = read_cells(path)
    assert cells.dtypes == [pl.String] * 3
    assert cells.row(1) == ("007", "=SUM(A1:A2)", "12345678901234567890")
