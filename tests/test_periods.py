"""Month arithmetic and month names: one module, every caller (radar.core.periods)."""

from datetime import date

import pytest

from radar.core import periods


def test_labels_are_written_for_people():
    assert periods.label("2019-09") == "Sep 2019"
    assert periods.label("2024-12") == "Dec 2024"
    assert periods.long_label("2024-03") == "March 2024"
    assert periods.day_label(date(2020, 4, 7)) == "7 Apr 2020"


def test_financial_years():
    assert periods.financial_year("2020-03") == 2019
    assert periods.financial_year("2020-04") == 2020
    assert periods.financial_year_label(2020) == "2019-20"
    assert periods.financial_year_label(2000) == "1999-00"
    assert periods.financial_year_of("2020-03") == "2019-20"
    assert periods.financial_year_of("2020-04") == "2020-21"


def test_month_days_and_due_dates():
    assert periods.first_day("2024-02") == date(2024, 2, 1)
    assert periods.last_day("2024-02") == date(2024, 2, 29)
    assert periods.last_day("2023-02") == date(2023, 2, 28)
    assert periods.due_date("2024-12", 7) == date(2025, 1, 7)
    assert periods.due_date("2025-02", 28) == date(2025, 3, 28)
    assert periods.of_date(date(2020, 3, 31)) == "2020-03"


def test_shift_and_range_cross_years():
    assert periods.shift("2020-01", -1) == "2019-12"
    assert periods.shift("2019-12", 13) == "2021-01"
    assert periods.month_range("2019-11", "2020-02") == ["2019-11", "2019-12", "2020-01", "2020-02"]
    assert periods.month_range("2020-02", "2020-01") == []


@pytest.mark.parametrize("text", ["２０１９-05", "2019-5", "2019-13", "2019-00", "19-05", "2019-05 ", "2019/05", ""])
def test_only_ascii_yyyy_mm_is_a_period(text):
    assert not periods.is_period(text)
    with pytest.raises(ValueError, match="YYYY-MM"):
        periods.parse_period(text)


def test_an_old_month_is_judged_as_of_the_end_of_the_month_after_it():
    assert periods.as_of("2020-03", date(2026, 11, 30)) == date(2020, 4, 30)
    assert periods.as_of("2026-10", date(2026, 11, 12)) == date(2026, 11, 12)  # last month: today
