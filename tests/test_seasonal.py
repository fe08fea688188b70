"""Golden tests for year-on-year change, rolling years and the seasonal baseline (pipelines/seasonal.py)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radar.pipelines.charting import event_counts
from radar.pipelines.seasonal import SERIES, rolling_12, seasonal_baseline, sorted_series, year_on_year

KEYS = ["indicator"]


def frame(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    schema = {"indicator": pl.String, "period": pl.String, "value": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def months(n: int, start_year: int = 2020) -> list[str]:
    return [f"{start_year + m // 12}-{m % 12 + 1:02d}" for m in range(n)]


def by_period(out: pl.DataFrame, column: str, indicator: str = "a") -> dict[str, float | None]:
    rows = out.filter(pl.col("indicator") == indicator)
    return dict(zip(rows["period"].to_list(), rows[column].to_list()))


def test_year_on_year_change_and_percent():
    out = year_on_year(
        frame(
            [
                ("a", "2020-01", 10), ("a", "2020-02", 0), ("a", "2020-03", None),
                ("a", "2021-01", 12), ("a", "2021-02", 5), ("a", "2021-03", 7), ("a", "2021-04", 4),
                ("b", "2020-01", 100), ("b", "2021-01", 50),
            ]
        ),
        KEYS,
    )
    change, percent = by_period(out, "yoy_change"), by_period(out, "yoy_percent")
    assert change["2021-01"] == 2 and percent["2021-01"] == pytest.approx(20.0)  # 12 against 10
    assert change["2021-02"] == 5 and percent["2021-02"] is None  # zero base: no percent
    assert change["2021-03"] is None and percent["2021-03"] is None  # last year null
    assert change["2021-04"] is None and percent["2021-04"] is None  # last year absent
    assert change["2020-01"] is None  # no earlier year at all
    assert by_period(out, "yoy_change", "b")["2021-01"] == -50
    assert by_period(out, "yoy_percent", "b")["2021-01"] == pytest.approx(-50.0)
    assert out.height == 9


def test_rolling_year_needs_twelve_consecutive_months():
    # Values 1..14: the year to month 12 sums 1..12 = 78 ; to month 13,
    # 2..13 = 90; to month 14, 3..14 = 102.
    out = rolling_12(frame([("a", p, float(v)) for v, p in enumerate(months(14), start=1)]), KEYS, ["a"])
    assert out["rolling_12_total"].to_list() == [None] * 11 + [78, 90, 102]


def test_rolling_year_across_a_null_and_a_missing_month():
    # 24 months valued 1..24, month 5 null: no year ending in months 12-16
    # contains twelve values; the year to month 17 is 6..17 = 138.
    rows = [("a", p, None if v == 5 else float(v)) for v, p in enumerate(months(24), start=1)]
    totals = by_period(rolling_12(frame(rows), KEYS, ["a"]), "rolling_12_total")
    assert [totals[p] for p in months(24)[11:17]] == [None] * 5 + [138]
    # The same with month 5 absent instead of null.
    totals = by_period(rolling_12(frame([r for r in rows if r[2] is not None]), KEYS, ["a"]), "rolling_12_total")
    assert totals["2021-04"] is None and totals["2021-05"] == 138


def test_rolling_year_of_a_short_history_is_null():
    out = rolling_12(frame([("a", p, 1.0) for p in months(11)]), KEYS, ["a"])
    assert out["rolling_12_total"].to_list() == [None] * 11


def test_rolling_total_only_for_indicators_that_add_up():
    # Twelve months of 2 for a count of events ("a") total 24; the same values
    # for a percentage or a month-end stock ("b") total nothing.
    rows = [(indicator, p, 2.0) for indicator in ("a", "b") for p in months(12)]
    out = rolling_12(frame(rows), KEYS, ["a"])
    assert by_period(out, "rolling_12_total", "a")["2020-12"] == 24
    assert set(by_period(out, "rolling_12_total", "b").values()) == {None}


def test_only_counts_of_events_are_summable(catalogue):
    summable = set(event_counts(catalogue))
    assert {"mash_enquiries", "child_deaths"} <= summable  # contacts and deaths in a month: events
    # A month-end stock, a percentage, a rate, an average of days and a total of days (a flow, but of days).
    not_summable = {"cpp_open", "mash_conversion", "cin_rate", "adoption_timeliness", "adoption_days_total"}
    assert summable.isdisjoint(not_summable)


# January and July over four years.
SEASONAL = [
    ("a", "2019-01", 10), ("a", "2020-01", 12), ("a", "2021-01", 14), ("a", "2022-01", 20),
    ("a", "2019-07", 30), ("a", "2020-07", 32), ("a", "2021-07", 34), ("a", "2022-07", 30),
]


def test_seasonal_baseline_from_earlier_years():
    # Expected: Jan 2021 = (10+12)/2 = 11, Jan 2022 = (10+12+14)/3 = 12,
    # Jul 2021 = (30+32)/2 = 31, Jul 2022 = (30+32+34)/3 = 32; 2019 and 2020
    # have fewer than two earlier years.  Mean expected (11+12+31+32)/4 = 21.5,
    # so Jan 2022 deseasonalised = 20 - 12 + 21.5 = 29.5.
    out = seasonal_baseline(frame(SEASONAL), KEYS)
    expected, adjusted = by_period(out, "seasonal_expected"), by_period(out, "deseasonalised")
    assert expected == {
        "2019-01": None, "2019-07": None, "2020-01": None, "2020-07": None,
        "2021-01": 11, "2021-07": 31, "2022-01": 12, "2022-07": 32,
    }
    assert adjusted["2022-01"] == pytest.approx(29.5)
    assert adjusted["2022-07"] == pytest.approx(19.5)  # 30 - 32 + 21.5
    assert adjusted["2021-01"] == adjusted["2021-07"] == pytest.approx(24.5)  # 14 - 11 + 21.5; 34 - 31 + 21.5
    assert adjusted["2020-01"] is None


def test_seasonal_baseline_over_two_years_and_with_a_missing_year():
    two_years = by_period(seasonal_baseline(frame(SEASONAL), KEYS, years=2), "seasonal_expected")
    assert two_years["2022-01"] == 13  # (12 + 14) / 2
    # Without January 2020, January 2021 has one earlier year (too few) and
    # January 2022 still has two: (10 + 14) / 2 = 12.
    gappy = [r for r in SEASONAL if r[1] != "2020-01"]
    expected = by_period(seasonal_baseline(frame(gappy), KEYS), "seasonal_expected")
    assert expected["2021-01"] is None
    assert expected["2022-01"] == 12


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.booleans(), max_size=60), min_size=1, max_size=4))
def test_the_same_month_a_year_earlier_is_found_whatever_months_are_missing(present):
    """Each series' months are a random subset of five years (True: the month has a row): last year's
    month, found by row offset where no month is missing and by search where some are, is a look-up's."""
    value = {(f"s{i}", p): float(i * 100 + m) for i, has in enumerate(present)
             for m, (p, here) in enumerate(zip(months(60), has)) if here}
    out = year_on_year(frame([(i, p, v) for (i, p), v in value.items()]), KEYS)
    for indicator, period, change in out.select("indicator", "period", "yoy_change").iter_rows():
        year, month = period.split("-")
        before = value.get((indicator, f"{int(year) - 1}-{month}"))
        assert change == (None if before is None else value[(indicator, period)] - before)


def test_seasonal_baseline_needs_two_years():
    with pytest.raises(ValueError, match="years >= 2"):
        seasonal_baseline(frame(SEASONAL), KEYS, years=1)


def test_repeated_month_is_refused():
    with pytest.raises(ValueError, match="repeat a period"):
        year_on_year(frame([("a", "2020-01", 1), ("a", "2020-01", 2)]), KEYS)


@pytest.mark.parametrize("distinct", [3, 70_000], ids=["few keys: mixed-radix ids", "keys too many to pack"])
def test_series_are_numbered_and_sorted_in_the_order_of_their_keys(distinct):
    """Series ids order the rows as a sort by the keys (nulls first) and month would, and one id is one series."""
    n = 70_000
    rows = pl.DataFrame({
        "a": [None if i % 7 == 0 else f"a{(i * 7919) % distinct}" for i in range(n)],
        "b": [f"b{(i * 104729) % distinct}" for i in range(n)],
        "c": [f"c{(i * 1299709) % distinct}" for i in range(n)],
        "period": [f"{2020 + i % 3}-{(i * 5) % 12 + 1:02d}" for i in range(n)],
        "value": [float(i) for i in range(n)],
    }).unique(["a", "b", "c", "period"])
    keys = ["a", "b", "c"]
    out = sorted_series(rows, keys)
    assert out.select(*keys, "period").equals(rows.sort(*keys, "period", nulls_last=False).select(*keys, "period"))
    assert out.select(pl.struct(keys).n_unique()).item() == out[SERIES].n_unique()
    assert out.group_by(SERIES).agg(pl.struct(keys).n_unique().alias("n"))["n"].max() == 1


def test_series_with_keys_that_are_not_strings_are_sorted_too():
    rows = pl.DataFrame({"k": [2, 1, 2, None], "period": ["2020-01", "2020-01", "2019-12", "2020-01"],
                         "value": [1.0, 2.0, 3.0, 4.0]})
    out = sorted_series(rows, ["k"])
    assert out.select("k", "period").rows() == [(None, "2020-01"), (1, "2020-01"), (2, "2019-12"), (2, "2020-01")]


def test_a_numbered_frame_and_its_subsets_keep_their_numbering_and_anything_else_is_numbered_afresh():
    rows = frame([("b", "2020-01", 1), ("a", "2020-02", 2), ("a", "2020-01", 3), ("b", "2019-12", 4)])
    numbered = sorted_series(rows, KEYS)
    subset = numbered.filter(pl.col("value") != 3)
    assert sorted_series(subset, KEYS).equals(subset)  # handed on as it is: not numbered again
    # Rows out of their order are numbered afresh: a's rows are one series again.
    stacked = pl.concat([numbered.filter(pl.col(KEYS[0]) == "b"), numbered.filter(pl.col(KEYS[0]) == "a")])
    again = sorted_series(stacked, KEYS)
    assert again.equals(numbered)
