"""Aggregate returns: every rule, each with a file that fails it (the valid files pass)."""

from __future__ import annotations

import polars as pl
import pytest
from feedfiles import AGGREGATE_HEADER, aggregate_rows, write_aggregate, write_csv

from radar.validation.feeds import validate_file
from radar.validation.problems import RULES

LIMIT = 10 * 1024 * 1024
PERIOD = "2024-03"
CPP = ("neglect", "emotional_abuse", "physical_abuse", "sexual_abuse", "multiple")



def validate_rows(tmp_path, catalogue, feed_id, rows):
    result = validate_file(write_csv(tmp_path / f"{feed_id}__{PERIOD}.csv", AGGREGATE_HEADER, rows), catalogue, LIMIT)
    assert all(p.rule in RULES for p in result.problems)
    return result


def found(result):
    """(row, column, value, rule) of every problem, for exact comparison."""
    return sorted(((p.row or 0), p.column, p.value, p.rule) for p in result.problems)


def row_of(rows, indicator, breakdown=""):
    """The spreadsheet row of an indicator in a file written from `rows` (header is row 1)."""
    return next(n for n, r in enumerate(rows, start=2) if (r["indicator"], r["breakdown"]) == (indicator, breakdown))


def set_value(rows, indicator, value, breakdown=""):
    rows[row_of(rows, indicator, breakdown) - 2]["value"] = value


@pytest.mark.parametrize("feed_id", ["csc_monthly", "education_monthly", "health_monthly", "police_monthly",
                                     "yos_monthly", "probation_monthly", "substance_misuse_monthly",
                                     "early_help_monthly", "cdop_monthly", "training_monthly"])
def test_complete_returns_pass(tmp_path, catalogue, feed_id):
    result = validate_file(write_aggregate(tmp_path, feed_id, PERIOD, catalogue), catalogue, LIMIT)
    assert result.ok and result.problems == [] and result.problem_counts == {}


def test_typed_frame_of_an_accepted_return(tmp_path, catalogue):
    path = write_aggregate(tmp_path, "csc_monthly", PERIOD, catalogue,
                           overrides={("swa_completed", ""): "40", ("cpp_open", "multiple"): "0"})
    result = validate_file(path, catalogue, LIMIT)
    frame = result.frame
    assert frame.schema == pl.Schema({"row_number": pl.Int64, "period": pl.String, "indicator": pl.String,
                                      "breakdown": pl.String, "value": pl.Int64})
    # 30 sent indicators, one of them (cpp_open) with 5 breakdown values: 29 + 5 rows
    assert result.row_count == frame.height == 34
    assert frame.row(0) == (2, PERIOD, "swa_completed", "", 40)
    assert frame.filter(pl.col("indicator") == "cpp_open")["breakdown"].to_list() == list(CPP)
    assert frame.filter(breakdown="multiple")["value"].item() == 0
    assert frame["value"].sum() == 40 + 5 * 32  # 34 rows: one 40, one 0, the rest 5


def test_quarterly_return_in_a_quarter_month(tmp_path, catalogue):
    result = validate_file(write_aggregate(tmp_path, "board_attendance", "2024-06", catalogue), catalogue, LIMIT)
    assert result.ok and result.frame.height == 30  # 2 indicators x 15 board members


def test_period_must_match_the_file_name(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[1]["period"] = "2024-02"
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert found(result) == [(3, "period", "2024-02", "period_mismatch")]
    assert "must be 2024-03" in result.problems[0].message and "March 2024" in result.problems[0].message


def test_unknown_indicator_is_reported_and_the_real_one_missing(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[2]["indicator"] = "sexual_offenses"
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert found(result) == [(0, "indicator", None, "missing_indicator"),
                             (4, "indicator", "sexual_offenses", "unknown_indicator")]
    assert result.problems[1].message.startswith("There is no row for sexual_offences:")


@pytest.mark.parametrize("indicator", ["swa_timeliness", "cin_rate", "cpp_rate"])  # derived by Radar
def test_derived_indicators_are_not_sent(tmp_path, catalogue, indicator):
    rows = [*aggregate_rows(catalogue, "csc_monthly", PERIOD),
            {"period": PERIOD, "indicator": indicator, "breakdown": "", "value": "50"}]
    result = validate_rows(tmp_path, catalogue, "csc_monthly", rows)
    assert found(result) == [(36, "indicator", indicator, "not_sent_here")]


def test_another_agencys_indicator_is_not_sent_here(tmp_path, catalogue):
    rows = [*aggregate_rows(catalogue, "police_monthly", PERIOD),
            {"period": PERIOD, "indicator": "first_time_entrants", "breakdown": "", "value": "2"}]
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert found(result) == [(5, "indicator", "first_time_entrants", "not_sent_here")]
    assert "not part of the police_monthly return" in result.problems[0].message


def test_breakdown_on_an_indicator_without_breakdowns(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["breakdown"] = "female"
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    # the breakdown row does not stand for the indicator's total, so the total is missing too
    assert found(result) == [(0, "indicator", None, "missing_indicator"), (2, "breakdown", "female", "breakdown")]
    assert result.problems[0].message == "Leave breakdown empty for every indicator."


def test_breakdown_values_must_be_declared(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "csc_monthly", PERIOD)
    wrong = row_of(rows, "cpp_open", "multiple")
    rows[wrong - 2]["breakdown"] = "Multiple"
    result = validate_rows(tmp_path, catalogue, "csc_monthly", rows)
    assert found(result) == [(0, "indicator", None, "missing_indicator"), (wrong, "breakdown", "Multiple", "breakdown")]
    breakdown, missing = result.problems
    assert "cpp_open: neglect, emotional_abuse, physical_abuse, sexual_abuse, multiple" in breakdown.message
    assert missing.message.startswith("There is no row for cpp_open with breakdown multiple:")


def test_a_total_row_for_a_broken_down_indicator_is_refused(tmp_path, catalogue):
    rows = [*aggregate_rows(catalogue, "csc_monthly", PERIOD),
            {"period": PERIOD, "indicator": "cpp_open", "breakdown": "", "value": "25"}]
    result = validate_rows(tmp_path, catalogue, "csc_monthly", rows)
    assert found(result) == [(36, "breakdown", "", "breakdown")]


def test_missing_indicator_is_an_error_not_a_zero(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "education_monthly", PERIOD)
    rows = [r for r in rows if (r["indicator"], r["breakdown"]) not in {("ehe_registered", ""),
                                                                      ("cme_referrals", "schools")}]
    result = validate_rows(tmp_path, catalogue, "education_monthly", rows)
    assert result.problem_counts == {"missing_indicator": 2}
    assert {p.message.split(":")[0] for p in result.problems} == {
        "There is no row for ehe_registered", "There is no row for cme_referrals with breakdown schools"}
    assert all(p.row is None for p in result.problems)


def test_duplicate_rows_are_all_shown(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows.append(dict(rows[1], value="9"))
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert found(result) == [(3, "indicator", "da_incidents", "duplicate"),
                             (5, "indicator", "da_incidents", "duplicate")]


@pytest.mark.parametrize("value, rules", [
    ("2.5", ["not_whole_number"]), ("12.0", ["not_whole_number"]), ("ten", ["not_whole_number"]),
    ("1,200", ["not_whole_number"]), ("-3", ["negative"]), ("-0.5", ["not_whole_number"]),
    ("12345678901234567890", ["not_whole_number"]),  # does not fit a 64-bit count
])
def test_counts_must_be_whole_numbers_of_zero_or_more(tmp_path, catalogue, value, rules):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["value"] = value
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert found(result) == [(2, "value", value, rule) for rule in rules]


def test_blank_cells(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["value"] = ""
    rows[1]["period"] = " "
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert found(result) == [(2, "value", None, "blank"), (3, "period", None, "blank")]
    assert [p.message for p in result.problems] == ["value is empty: every row needs a value.",
                                                    "period is empty: every row needs a period."]


def test_numerator_may_not_exceed_denominator(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "csc_monthly", PERIOD)
    set_value(rows, "swa_completed", "10")
    set_value(rows, "swa_within_45_days", "11")
    set_value(rows, "icpc_held", "4")
    set_value(rows, "icpc_within_15_days", "4")  # equal is fine
    set_value(rows, "icpc_to_plan", "3")
    set_value(rows, "adoption_placements", "2")
    set_value(rows, "adoption_days_total", "800")  # days per child: a total, meant to be larger
    result = validate_rows(tmp_path, catalogue, "csc_monthly", rows)
    assert found(result) == [(3, "value", "11", "numerator_above_denominator")]
    assert result.problems[0].message.startswith("swa_within_45_days (11) is more than swa_completed (10):")


def test_numerator_is_compared_breakdown_by_breakdown(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "board_attendance", "2024-06")
    set_value(rows, "board_seats", "2", "police")
    set_value(rows, "board_seats_filled", "3", "police")
    set_value(rows, "board_seats_filled", "3", "ccg")  # 3 > 5 is false: fine
    result = validate_file(write_csv(tmp_path / "board_attendance__2024-06.csv", AGGREGATE_HEADER, rows),
                           catalogue, LIMIT)
    assert found(result) == [(row_of(rows, "board_seats_filled", "police"), "value", "3",
                              "numerator_above_denominator")]
    assert "(3) is more than board_seats (2) for police" in result.problems[0].message


def test_invalid_counts_are_not_compared(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "csc_monthly", PERIOD)
    set_value(rows, "swa_completed", "-10")
    result = validate_rows(tmp_path, catalogue, "csc_monthly", rows)
    assert result.problem_counts == {"negative": 1}


def test_all_problems_are_collected_at_once(tmp_path, catalogue):
    rows = aggregate_rows(catalogue, "police_monthly", PERIOD)
    rows[0]["value"] = "x"
    rows[1]["period"] = "2023-03"
    rows[2]["indicator"] = "cin_rate"
    result = validate_rows(tmp_path, catalogue, "police_monthly", rows)
    assert result.problem_counts == {"not_whole_number": 1, "period_mismatch": 1, "not_sent_here": 1,
                                     "missing_indicator": 1}
    assert result.frame is None and not result.ok
