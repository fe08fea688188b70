"""Golden tests for the record-level alert rules: LADO settings and children missing repeatedly."""

import json
from datetime import date, timedelta

import polars as pl
import pytest

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.core.periods import month_range
from radar.pipelines.alerts.records import (
    poisson_tail,
    repeat_missing,
    repeat_missing_counts,
    setting_concentration,
)

SETTINGS = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
LA = "E09000006"


@pytest.mark.parametrize(
    ("count", "expected", "tail"),
    [
        # 1 - e^-0.8 (1 + 0.8 + 0.32 + 0.085333 + 0.017067) = 1 - 0.449329 x 2.2224 = 0.0014113
        (5, 0.8, 0.0014113),
        # 1 - e^-0.5 (1 + 0.5 + 0.125) = 1 - 0.606531 x 1.625 = 0.0143877
        (3, 0.5, 0.0143877),
        (1, 2.0, 0.8646647),  # 1 - e^-2
        (1, 0.0, 0.0),  # nothing is expected: one or more is impossible
        (0, 3.0, 1.0),  # zero or more is certain
    ],
)
def test_poisson_upper_tail(count, expected, tail):
    assert poisson_tail(count, expected) == pytest.approx(tail, abs=5e-8)


# --- LADO referrals about one setting -------------------------------------------------------------

REFERRAL_SCHEMA = {"received_date": pl.Date, "setting_ref": pl.String, "setting_type": pl.String, "period": pl.String}


def referrals(*groups: tuple[str, str, list[str]]) -> pl.DataFrame:
    """One referral per listed month (received on the 15th) for each (setting_ref, setting_type)."""
    rows = [
        (date(int(p[:4]), int(p[5:7]), 15), ref, kind, p)
        for ref, kind, periods in groups
        for p in periods
    ]
    return pl.DataFrame(rows, schema=REFERRAL_SCHEMA, orient="row")


# History Oct 2018 - Sep 2019 (12 months = two 6-month windows); window Oct 2019 - Mar 2020.
LADO = referrals(
    ("SET-0042", "school", ["2018-10", "2019-10", "2019-12", "2020-01", "2020-03", "2020-03"]),
    ("SET-0001", "school", ["2018-11", "2019-02", "2019-05", "2019-11", "2020-02", "2020-03"]),
    ("SET-0002", "school", ["2019-06"]),
    ("FC-7", "foster_care", ["2019-11", "2020-01", "2020-02"]),
    ("FC-8", "foster_care", ["2020-03", "2020-03"]),
)


def test_a_setting_with_far_more_referrals_than_it_and_its_kind_usually_see():
    alerts = setting_concentration(LADO, "2020-03", SETTINGS).to_dicts()
    assert [a["scope"] for a in alerts] == ["FC-7", "SET-0042"]
    fc7, school = alerts
    # Schools: 5 referrals in the history over 3 schools and 2 windows = 0.8333 per school per window;
    # SET-0042's own history (1 in 2 windows = 0.5) is lower, so 0.8333 is usual.  P(X >= 5 | 0.8333) = 0.00168.
    assert school["message"] == (
        "LADO referrals about setting SET-0042 (school): 5 in the 6 months to Mar 2020, where about 0.8 would be usual."
    )
    evidence = json.loads(school["evidence"])
    assert evidence["expected"] == pytest.approx(5 / 6, abs=1e-5)
    assert evidence["probability"] == pytest.approx(0.00168443, abs=1e-7)
    assert (evidence["count"], evidence["history_months"], evidence["settings_of_type"]) == (5, 12, 3)
    assert (school["key"], school["severity"], school["subgroup"], school["breakdown"]) == (
        "setting_concentration|lado_referrals|school|SET-0042", "high", "pci", "school",
    )
    # No foster carer had a referral in the history: three now is unusual (P = 0).
    assert fc7["message"] == (
        "LADO referrals about setting FC-7 (foster care): 3 in the 6 months to Mar 2020, "
        "where almost none would be usual."
    )


def test_no_alert_for_a_setting_within_its_own_usual_rate_or_below_the_minimum():
    scopes = setting_concentration(LADO, "2020-03", SETTINGS)["scope"].to_list()
    # SET-0001: 3 now, its own usual 3/2 = 1.5, P(X >= 3 | 1.5) = 0.191.  FC-8: only 2 referrals.
    assert "SET-0001" not in scopes and "FC-8" not in scopes


def test_no_alert_without_a_whole_window_of_history():
    recent = LADO.filter(pl.col("period") >= "2019-05")  # history May - Sep 2019: five months
    assert setting_concentration(recent, "2020-03", SETTINGS).is_empty()


def test_referrals_after_the_cycle_month_are_ignored():
    # Re-running Feb 2020 later must not see March's referrals: SET-0042 then has 3 in its window
    # (Sep 2019 - Feb 2020: Oct, Dec, Jan).  History Oct 2018 - Aug 2019 is 11/6 windows, so schools
    # usually see 5 / (11/6) / 3 = 0.909; P(X >= 3 | 0.909) = 0.064: no alert.  Counting March's two
    # would make it 5 and fire.
    alerts = setting_concentration(LADO, "2020-02", SETTINGS)
    assert "SET-0042" not in alerts["scope"].to_list()


# --- Children missing repeatedly ----------------------------------------------------------------

EPISODE_SCHEMA = {"child_ref": pl.String, "start_date": pl.Date, "period": pl.String}


def episodes(*rows: tuple[str, date]) -> pl.DataFrame:
    return pl.DataFrame([(c, d, f"{d:%Y-%m}") for c, d in rows], schema=EPISODE_SCHEMA, orient="row")


def test_repeat_missing_counts_children_with_three_episodes_in_the_90_days_to_month_end():
    data = episodes(
        # A: three episodes Jan 2 - Mar 5: counts for March (window Jan 2 - Mar 31); in April's
        # (Feb 1 - Apr 30) only two remain.
        ("A", date(2020, 1, 2)), ("A", date(2020, 2, 10)), ("A", date(2020, 3, 5)),
        # B: Jan 1 falls outside March's window (starts Jan 2); April's window includes Feb 1 and Apr 30.
        ("B", date(2020, 1, 1)), ("B", date(2020, 2, 1)), ("B", date(2020, 3, 1)), ("B", date(2020, 4, 30)),
        # C: four episodes in March counts once, in March and in April.
        *[("C", date(2020, 3, d)) for d in (3, 9, 17, 25)],
        # D: three in April.
        ("D", date(2020, 4, 3)), ("D", date(2020, 4, 10)), ("D", date(2020, 4, 20)),
        # E: May is after the cycle month.
        *[("E", date(2020, 5, d)) for d in (1, 2, 3)],
    )
    counts = repeat_missing_counts(data, "2020-04", SETTINGS, month_range("2020-01", "2020-04"))
    # January and February windows reach back before the first data (Jan 2020): the series starts in March.
    assert counts.rows() == [("2020-03", 2.0), ("2020-04", 3.0)]


EVERY_MONTH = month_range("2019-01", "2020-03")  # a file was accepted for every month


def monthly_repeaters(per_month: list[int], start: str = "2019-01") -> pl.DataFrame:
    """`k` new children each month, each with three episodes on the 15th, 16th and 17th.

    Each child is then counted in that month and the next two (a window of 90 days
    ending at month end reaches back at least to the 15th two months earlier, and
    never to the 15th three months earlier), so the monthly count is a rolling
    three-month sum of `per_month`.
    """
    rows = []
    for i, (p, k) in enumerate(zip(month_range(start, "2099-12"), per_month)):
        first = date(int(p[:4]), int(p[5:7]), 15)
        rows += [(f"SECRET-CHILD-{i:02d}-{j}", first + timedelta(days=d)) for j in range(k) for d in range(3)]
    return episodes(*rows)


def test_an_upward_special_cause_in_repeat_missing_is_an_alert_with_counts_only():
    # k alternates 1, 2 for Jan 2019 - Feb 2020, then 10 in Mar 2020.  The series (Mar 2019 - Mar 2020) is
    # 4, 5, 4, 5, ... (12 points) then 1 + 2 + 10 = 13.  Mean 67/13 = 5.1538; moving ranges eleven 1s and
    # an 8: mean 19/12 = 1.5833; limits 5.1538 -/+ 2.66 x 1.5833 = 0.942 and 9.366.  13 is above.
    data = monthly_repeaters([1, 2] * 7 + [10])
    counts = repeat_missing_counts(data, "2020-03", SETTINGS, EVERY_MONTH)
    assert counts["value"].to_list() == [4.0, 5.0] * 6 + [13.0]
    alerts = repeat_missing(data, "2020-03", LA, SETTINGS, EVERY_MONTH)
    alert = alerts.row(0, named=True)
    assert alerts.height == 1
    assert alert["message"] == (
        "13 children went missing 3 or more times in the 90 days to 31 Mar 2020, more than usual: "
        "above the usual range of 1 to 9."
    )
    assert (alert["key"], alert["severity"], alert["subgroup"], alert["feed"]) == (
        "repeat_missing|||E09000006", "high", "pci", "missing_episodes",
    )
    evidence = json.loads(alert["evidence"])
    assert evidence["children"] == 13
    assert evidence["upper"] == pytest.approx(9.36551, abs=1e-4)
    # No child reference anywhere in what leaves the rule.
    for frame in (alerts, counts):
        text = frame.write_csv()
        assert "SECRET-CHILD" not in text
    assert "child_ref" not in counts.columns


def test_no_repeat_missing_alert_in_an_ordinary_month():
    data = monthly_repeaters([1, 2] * 7 + [2])  # ends 1 + 2 + 2 = 5, inside the limits
    assert repeat_missing(data, "2020-03", LA, SETTINGS, EVERY_MONTH).is_empty()


def test_no_repeat_missing_alert_without_episodes():
    assert repeat_missing(episodes(), "2020-03", LA, SETTINGS, EVERY_MONTH).is_empty()


def test_a_month_whose_file_never_arrived_is_left_out_not_counted_as_zero():
    # No file for Jun 2019: the 90-day windows ending 30 Jun, 31 Jul and 31 Aug reach into June
    # (31 Aug - 89 days = 3 Jun), so those three months drop out; Sep's window (from 3 Jul) stays.
    data = monthly_repeaters([1, 2] * 7 + [10]).filter(pl.col("period") != "2019-06")
    received = [m for m in EVERY_MONTH if m != "2019-06"]
    counts = repeat_missing_counts(data, "2020-03", SETTINGS, received)
    assert counts["period"].to_list() == ["2019-03", "2019-04", "2019-05", *month_range("2019-09", "2020-03")]
    # Sep 2019 counts the children of Jul, Aug and Sep (1 + 2 + 1): whole, not lowered by the gap.
    assert counts.filter(pl.col("period") == "2019-09")["value"].to_list() == [4.0]
