"""Golden tests for pipelines.feed_status: expected files and their status."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from radar.core.catalogue import load_catalogue
from radar.core.periods import month_range, shift
from radar.pipelines.feed_status import (
    expected_submissions,
    feed_status,
    feeds_to_chase,
)

SUBMISSION_SCHEMA = {
    "feed_id": pl.String, "period": pl.String, "status": pl.String,
    "is_current": pl.Boolean, "received_at": pl.Datetime("us"),
}


def submissions(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SUBMISSION_SCHEMA, orient="row")


def expected(*feeds: tuple[str, date]) -> pl.DataFrame:
    return pl.DataFrame(
        [(feed, "2025-03", due) for feed, due in feeds],
        schema={"feed_id": pl.String, "period": pl.String, "due_date": pl.Date},
        orient="row",
    )


def test_months_cross_a_year_and_include_both_ends():
    assert month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_range("2025-03", "2025-03") == ["2025-03"]
    assert month_range("2025-04", "2025-03") == []


def test_shift_period_goes_both_ways_across_years():
    assert shift("2025-01", -1) == "2024-12"
    assert shift("2024-12", 1) == "2025-01"
    assert shift("2025-03", -11) == "2024-04"


@pytest.mark.parametrize("bad", ["2025-13", "2025-3", "March 2025", "2025-00"])
def test_a_malformed_period_is_refused(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_range(bad, "2025-03")


def test_expected_submissions_use_partnership_due_days_and_quarterly_cadence():
    catalogue = load_catalogue()
    frame = expected_submissions(catalogue, {"csc_monthly": 10, "mash_contacts": 7}, "2024-12", "2025-02")
    # 13 monthly feeds x 3 months; board_attendance (quarterly) is due for December only.
    assert frame.height == 13 * 3 + 1
    assert frame.columns == ["feed_id", "period", "due_date"]
    rows = {(r["feed_id"], r["period"]): r["due_date"] for r in frame.iter_rows(named=True)}
    assert rows[("mash_contacts", "2024-12")] == date(2025, 1, 7)
    assert rows[("csc_monthly", "2025-02")] == date(2025, 3, 10)
    # Not named in due_days: the catalogue default (10th).
    assert rows[("cdop_monthly", "2025-01")] == date(2025, 2, 10)
    assert [p for f, p in rows if f == "board_attendance"] == ["2024-12"]


def test_expected_submissions_for_an_empty_range_is_an_empty_typed_frame():
    frame = expected_submissions(load_catalogue(), {}, "2025-04", "2025-03")
    assert frame.is_empty()
    assert frame.schema["due_date"] == pl.Date


DUE = date(2025, 4, 10)


def test_each_status_from_the_submission_history():
    exp = expected(
        ("on_time_at_midnight", DUE), ("late_by_a_minute", DUE), ("corrected", DUE),
        ("late_then_corrected", DUE), ("rejected_twice", DUE), ("rejected_then_late", DUE),
        ("nothing", DUE), ("nothing_due_today", date(2025, 4, 15)),
        ("rejected_early", date(2025, 5, 10)), ("with_duplicate", DUE),
    )
    subs = submissions(
        ("on_time_at_midnight", "2025-03", "accepted", True, datetime(2025, 4, 10, 23, 59, 59)),
        ("late_by_a_minute", "2025-03", "accepted", True, datetime(2025, 4, 11, 0, 1)),
        ("corrected", "2025-03", "accepted", False, datetime(2025, 4, 9, 9, 0)),
        ("corrected", "2025-03", "replaced", True, datetime(2025, 4, 12, 9, 0)),
        ("late_then_corrected", "2025-03", "accepted", False, datetime(2025, 4, 11, 9, 0)),
        ("late_then_corrected", "2025-03", "replaced", True, datetime(2025, 4, 13, 9, 0)),
        ("rejected_twice", "2025-03", "rejected", False, datetime(2025, 4, 8, 9, 0)),
        ("rejected_twice", "2025-03", "rejected", False, datetime(2025, 4, 9, 9, 0)),
        ("rejected_then_late", "2025-03", "rejected", False, datetime(2025, 4, 8, 9, 0)),
        ("rejected_then_late", "2025-03", "accepted", True, datetime(2025, 4, 12, 9, 0)),
        ("rejected_early", "2025-03", "rejected", False, datetime(2025, 4, 2, 9, 0)),
        ("with_duplicate", "2025-03", "accepted", True, datetime(2025, 4, 1, 9, 0)),
        ("with_duplicate", "2025-03", "duplicate", False, datetime(2025, 4, 20, 9, 0)),
        # Another month and another feed: not expected here, so ignored.
        ("nothing", "2025-02", "accepted", True, datetime(2025, 3, 1, 9, 0)),
        ("unknown_feed", "2025-03", "accepted", True, datetime(2025, 4, 1, 9, 0)),
    )
    result = feed_status(exp, subs, today=date(2025, 4, 15))
    assert result.columns == ["feed_id", "period", "due_date", "status", "received_at", "days_late", "submissions"]
    got = {r["feed_id"]: (r["status"], r["received_at"], r["submissions"]) for r in result.iter_rows(named=True)}
    assert got == {
        "on_time_at_midnight": ("on_time", datetime(2025, 4, 10, 23, 59, 59), 1),
        "late_by_a_minute": ("late", datetime(2025, 4, 11, 0, 1), 1),
        "corrected": ("replaced", datetime(2025, 4, 9, 9, 0), 2),
        "late_then_corrected": ("late", datetime(2025, 4, 11, 9, 0), 2),
        "rejected_twice": ("rejected", datetime(2025, 4, 9, 9, 0), 2),
        "rejected_then_late": ("late", datetime(2025, 4, 12, 9, 0), 2),
        "nothing": ("missing", None, 0),
        "nothing_due_today": ("not_due", None, 0),
        "rejected_early": ("rejected", datetime(2025, 4, 2, 9, 0), 1),
        "with_duplicate": ("on_time", datetime(2025, 4, 1, 9, 0), 2),
    }
    assert result["feed_id"].to_list() == exp["feed_id"].to_list()
    late = {r["feed_id"]: r["days_late"] for r in result.iter_rows(named=True) if r["days_late"] is not None}
    assert late == {"late_by_a_minute": 1, "late_then_corrected": 1, "rejected_then_late": 2}


def test_a_file_nine_days_late_is_received_late_and_still_chased():
    # The demo's education return for March 2020: due 12 April, first (and only) version on 21 April.
    exp = expected(("education_monthly", date(2020, 4, 12)))
    subs = submissions(("education_monthly", "2025-03", "accepted", True, datetime(2020, 4, 21, 12, 34)))
    result = feed_status(exp, subs, today=date(2025, 4, 15))
    assert result.select("status", "days_late").row(0) == ("late", 9)
    assert feeds_to_chase(result, "2025-03")["feed_id"].to_list() == ["education_monthly"]


def test_a_month_judged_on_its_as_of_date_counts_a_later_corrected_file_late_only_up_to_that_day():
    """The demo's March 2020, judged on 30 Apr 2020, with the police file corrected through `radar serve` on
    6 Dec 2026: 20 days late as of the day judged, not 2429."""
    exp = expected(("police_monthly", date(2020, 4, 10)))
    subs = submissions(("police_monthly", "2025-03", "rejected", False, datetime(2020, 4, 9, 9)),
                       ("police_monthly", "2025-03", "accepted", True, datetime(2026, 12, 6, 10, 15)))
    assert feed_status(exp, subs, today=date(2020, 4, 30)).select("status", "days_late").row(0) == ("late", 20)
    assert feed_status(exp, subs, today=date(2026, 12, 6)).select("status", "days_late").row(0) == ("late", 2431)


def test_with_no_submissions_past_months_are_missing_and_future_ones_not_due():
    exp = expected(("a", date(2025, 4, 14)), ("b", date(2025, 4, 15)))
    result = feed_status(exp, submissions(), today=date(2025, 4, 15))
    assert result["status"].to_list() == ["missing", "not_due"]
    assert result["submissions"].to_list() == [0, 0]


def test_feeds_to_chase_keeps_late_missing_and_rejected_for_the_month():
    status = pl.DataFrame({
        "feed_id": ["a", "b", "c", "d", "e", "a"],
        "period": ["2025-03"] * 5 + ["2025-02"],
        "status": ["late", "on_time", "missing", "rejected", "not_due", "late"],
    })
    assert feeds_to_chase(status, "2025-03")["feed_id"].to_list() == ["a", "c", "d"]


def test_utc_arrival_times_are_judged_by_the_uk_calendar_day():
    # 23:30 UTC on 10 April 2025 is 00:30 on the 11th in British Summer Time.
    exp = expected(("sent_late_evening", DUE), ("sent_after_midnight_bst", DUE))
    subs = submissions(
        ("sent_late_evening", "2025-03", "accepted", True, datetime(2025, 4, 10, 22, 30)),
        ("sent_after_midnight_bst", "2025-03", "accepted", True, datetime(2025, 4, 10, 23, 30)),
    ).with_columns(pl.col("received_at").dt.replace_time_zone("UTC"))
    result = feed_status(exp, subs, today=date(2025, 4, 15))
    assert result["status"].to_list() == ["on_time", "late"]
    assert result["received_at"][1] == datetime(2025, 4, 11, 0, 30, tzinfo=ZoneInfo("Europe/London"))
