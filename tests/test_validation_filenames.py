"""The file-name contract: <feed_id>__YYYY-MM.<csv|xlsx>."""

from __future__ import annotations

import pytest

from radar.validation.filenames import FileNameError, parse_file_name


@pytest.mark.parametrize("name, expected", [
    ("csc_monthly__2024-03.csv", ("csc_monthly", "2024-03")),
    ("mash_contacts__2023-12.xlsx", ("mash_contacts", "2023-12")),
    ("MASH_export/../mash_contacts__2024-01.CSV", ("mash_contacts", "2024-01")),  # folder ignored, extension any case
    ("board_attendance__2024-06.csv", ("board_attendance", "2024-06")),
])
def test_good_names(name, expected, catalogue):
    assert parse_file_name(name, catalogue) == expected


@pytest.mark.parametrize("name, words", [
    ("csc_monthly_2024-03.csv", ["<feed_id>__YYYY-MM.csv", "two underscores"]),
    ("csc_monthly__March 2024.csv", ["<feed_id>__YYYY-MM.csv"]),
    ("csc_monthly__2024-03.xls", ["'.xls'", ".csv and .xlsx"]),
    ("csc_monthly__2024-13.csv", ["'2024-13'", "01 to 12"]),
    ("csc_montly__2024-03.csv", ["'csc_montly' is not a Radar feed", "Did you mean 'csc_monthly'?", "mash_contacts"]),
    ("board_attendance__2024-04.csv", ["quarterly", "April 2024"]),
])
def test_bad_names_say_what_is_expected(name, words, catalogue):
    with pytest.raises(FileNameError) as caught:
        parse_file_name(name, catalogue)
    problem = caught.value.problem
    assert (problem.rule, problem.row, problem.column) == ("file_name", None, None)
    for word in words:
        assert word in problem.message


def test_unknown_feed_lists_every_feed_id(catalogue):
    with pytest.raises(FileNameError) as caught:
        parse_file_name("xyz__2024-03.csv", catalogue)
    assert all(feed.id in caught.value.problem.message for feed in catalogue.feeds)
    assert "Did you mean" not in caught.value.problem.message

