"""Record-level feeds: column types and flags from the catalogue, keys, and hidden child references."""

from __future__ import annotations

import datetime

import polars as pl
import pytest
from feedfiles import record_rows, write_records

from radar.validation.failures import schema_problems
from radar.validation.feeds import validate_file
from radar.validation.problems import EXAMPLES_PER_RULE, HIDDEN, RULES, ProblemLog
from radar.validation.report import write_report
from radar.validation.schemas import schema_for

LIMIT = 10 * 1024 * 1024
PERIOD = "2024-03"



def validate(tmp_path, catalogue, feed_id, rows):
    result = validate_file(write_records(tmp_path, feed_id, PERIOD, rows), catalogue, LIMIT)
    assert all(p.rule in RULES for p in result.problems)
    return result


def found(result):
    """Where each problem is and what rule it broke (values are checked on their own: see shown_values)."""
    return [(p.row, p.column, p.rule) for p in result.problems]


def episodes(*changes):
    """Valid missing-episode rows, the i-th updated with changes[i]."""
    rows = record_rows("missing_episodes", PERIOD, len(changes))
    return [row | change for row, change in zip(rows, changes, strict=True)]


@pytest.mark.parametrize("feed_id", ["mash_contacts", "lado_referrals", "missing_episodes"])
def test_valid_files_pass(tmp_path, catalogue, feed_id):
    result = validate(tmp_path, catalogue, feed_id, record_rows(feed_id, PERIOD, 3))
    assert result.ok and result.row_count == 3 and result.problem_counts == {}


def test_typed_frame(tmp_path, catalogue):
    rows = episodes({"end_date": "", "rhi_offered": "TRUE", "rhi_completed": "True"},
                    {"start_date": "2024-03-31", "end_date": "2024-04-02", "looked_after": "true"})
    result = validate(tmp_path, catalogue, "missing_episodes", rows)
    assert result.frame.schema == pl.Schema({
        "row_number": pl.Int64, "episode_id": pl.String, "child_ref": pl.String, "start_date": pl.Date,
        "end_date": pl.Date, "looked_after": pl.Boolean, "rhi_offered": pl.Boolean, "rhi_completed": pl.Boolean})
    assert result.frame.rows() == [
        (2, "episode_id-1", "child_ref-1", datetime.date(2024, 3, 1), None, False, True, True),
        (3, "episode_id-2", "child_ref-2", datetime.date(2024, 3, 31), datetime.date(2024, 4, 2), True, False, False),
    ]


def test_required_cells(tmp_path, catalogue):
    rows = record_rows("lado_referrals", PERIOD, 2)
    rows[1]["setting_ref"] = ""
    result = validate(tmp_path, catalogue, "lado_referrals", rows)
    assert found(result) == [(3, "setting_ref", "blank")]
    assert result.problems[0].message == "setting_ref is empty: every row needs a setting_ref."


@pytest.mark.parametrize("text", ["31/03/2024", "2024-02-30", "2024-3-5", "yesterday", "2024-03-05T10:00"])
def test_not_a_date(tmp_path, catalogue, text):
    result = validate(tmp_path, catalogue, "missing_episodes", episodes({}, {"start_date": text}))
    assert found(result) == [(3, "start_date", "not_a_date")]
    assert "YYYY-MM-DD (for example 2024-03-15)" in result.problems[0].message


def test_dates_must_fall_in_the_month(tmp_path, catalogue):
    rows = episodes({"start_date": "2024-02-29"}, {"start_date": "2024-03-01"},
                    {"start_date": "2024-03-31"}, {"start_date": "2024-04-01"})
    result = validate(tmp_path, catalogue, "missing_episodes", rows)
    assert found(result) == [(2, "start_date", "date_outside_period"),
                             (5, "start_date", "date_outside_period")]
    assert "March 2024 (2024-03-01 to 2024-03-31)" in result.problems[0].message


def test_end_date_may_not_precede_start_date(tmp_path, catalogue):
    rows = episodes({"start_date": "2024-03-05", "end_date": "2024-03-04"},
                    {"start_date": "2024-03-05", "end_date": "2024-03-05"},
                    {"start_date": "2024-03-05", "end_date": "2025-01-01"},  # after the month is fine
                    {"start_date": "2024-03-05", "end_date": "04/03/2024"})  # reported once, as not a date
    result = validate(tmp_path, catalogue, "missing_episodes", rows)
    assert found(result) == [(2, "end_date", "date_order"),
                             (5, "end_date", "not_a_date")]
    assert result.problems[0].message == "end_date is before start_date: it cannot be earlier."


def test_true_false_in_any_case(tmp_path, catalogue):
    rows = episodes({"looked_after": "TRUE"}, {"looked_after": "False"}, {"looked_after": "yes"},
                    {"looked_after": "1"})
    result = validate(tmp_path, catalogue, "missing_episodes", rows)
    assert found(result) == [(4, "looked_after", "not_allowed"), (5, "looked_after", "not_allowed")]
    assert result.problems[0].message == "looked_after must be true or false."


def test_completed_only_when_offered(tmp_path, catalogue):
    rows = episodes({"rhi_offered": "false", "rhi_completed": "true"},
                    {"rhi_offered": "true", "rhi_completed": "true"},
                    {"rhi_offered": "true", "rhi_completed": "false"},
                    {"rhi_offered": "maybe", "rhi_completed": "true"})  # reported once, on rhi_offered
    result = validate(tmp_path, catalogue, "missing_episodes", rows)
    assert found(result) == [(2, "rhi_completed", "implies"), (5, "rhi_offered", "not_allowed")]
    assert "rhi_completed can only be true when rhi_offered is" in result.problems[0].message


def test_categories(tmp_path, catalogue):
    rows = record_rows("mash_contacts", PERIOD, 3)
    rows[0]["source"] = "Police"
    rows[1]["source"] = "schools"
    rows[2]["outcome"] = "nfa"
    result = validate(tmp_path, catalogue, "mash_contacts", rows)
    assert found(result) == [(2, "source", "not_allowed"), (4, "outcome", "not_allowed")]
    assert result.problems[0].message == (
        "source must be one of: police, health, schools, la_services, individual, other.")


def test_key_must_be_unique_but_a_child_may_repeat(tmp_path, catalogue):
    rows = record_rows("mash_contacts", PERIOD, 4)
    rows[3]["contact_id"] = rows[1]["contact_id"]
    rows[2]["child_ref"] = rows[0]["child_ref"]  # two contacts about one child is normal
    result = validate(tmp_path, catalogue, "mash_contacts", rows)
    assert found(result) == [(3, "contact_id", "duplicate"),
                             (5, "contact_id", "duplicate")]


def test_examples_are_capped_but_counts_are_not(tmp_path, catalogue):
    rows = record_rows("mash_contacts", PERIOD, 250)
    for row in rows:
        row["received_date"] = "2024-02-10"
    rows[7]["source"] = "radio"
    result = validate(tmp_path, catalogue, "mash_contacts", rows)
    assert result.problem_counts == {"date_outside_period": 250, "not_allowed": 1}
    assert len(result.problems) == EXAMPLES_PER_RULE + 1
    outside = [p.row for p in result.problems if p.rule == "date_outside_period"]
    assert outside == list(range(2, 2 + EXAMPLES_PER_RULE))


def test_long_values_are_shortened(tmp_path, catalogue):
    rows = record_rows("lado_referrals", PERIOD, 1)
    rows[0]["outcome"] = "x" * 500
    (problem,) = validate(tmp_path, catalogue, "lado_referrals", rows).problems
    assert problem.value == "x" * 79 + "…"


def test_shown_values_only_for_returns_without_child_references(tmp_path, catalogue):
    """A shifted column can put a child's reference anywhere, so a return holding them shows no cell at all."""
    lado = record_rows("lado_referrals", PERIOD, 1)
    lado[0]["outcome"] = "Pending"
    assert [p.value for p in validate(tmp_path, catalogue, "lado_referrals", lado).problems] == ["Pending"]
    mash = record_rows("mash_contacts", PERIOD, 2)
    mash[0]["source"] = "LCS1234567"  # a child reference shifted into the source column
    mash[1]["received_date"] = "LCS7654321"
    result = validate(tmp_path, catalogue, "mash_contacts", mash)
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (3, "received_date", HIDDEN), (2, "source", HIDDEN)]
    assert "LCS" not in repr(result.problems)


# --- child references never leave validation --------------------------------------

SECRET = "SECRET-CHILD"


def test_child_references_are_never_shown(tmp_path, catalogue):
    rows = record_rows("missing_episodes", PERIOD, 6)
    for i, row in enumerate(rows):
        row["child_ref"] = f"{SECRET}-{i}"
    rows[0]["start_date"] = "2023-01-01"
    rows[1]["rhi_completed"] = "true"
    rows[2]["episode_id"] = rows[3]["episode_id"]
    rows[4]["child_ref"] = ""
    rows[5]["looked_after"] = "x"
    result = validate(tmp_path, catalogue, "missing_episodes", rows)
    assert set(result.problem_counts) == {"date_outside_period", "implies", "duplicate", "blank", "not_allowed"}
    assert SECRET not in repr(result.problems)
    csv_report, md_report = write_report(result, "missing_episodes__2024-03.csv", tmp_path)
    assert SECRET not in csv_report.read_text(encoding="utf-8-sig") + md_report.read_text(encoding="utf-8")


def test_a_failing_child_reference_cell_is_hidden(catalogue):
    """Whatever check a pseudonymised column fails, its value is replaced before it becomes a Problem."""
    feed = catalogue.feed_by_id["mash_contacts"]
    cells = pl.DataFrame([r | {"contact_id": "SAME"} for r in record_rows("mash_contacts", PERIOD, 2)])
    log = ProblemLog()
    schema_problems(schema_for(feed, PERIOD, catalogue), cells, pl.Series([2, 3]), ["contact_id"], log)
    assert [(p.row, p.column, p.value, p.rule) for p in log.examples] == [
        (2, "contact_id", HIDDEN, "duplicate"), (3, "contact_id", HIDDEN, "duplicate")]
