"""Seasonality and slow drift in monthly indicator series.

Safeguarding activity follows the school year: contacts from schools fall in
August and peak in the autumn term, so a month-on-month SPC chart can read the
summer dip as a signal.  These functions give the comparisons a partnership
board asks for instead (this month against the same month last year, the last
twelve months against the twelve before) and an opt-in seasonal adjustment a
seasonal indicator can take before SPC.

Every function takes a LONG frame of many series (the caller's key columns,
`period` as "YYYY-MM" and a Float64 `value` that may be null) and returns it
sorted by keys and period with columns added.  A missing month and a null value
are both "no data": they are never read as zero.

The small helpers at the top (`month_index`, `with_month`, `sorted_series`,
`consecutive_run`, `run_starts`) are shared with pipelines/spc.py.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from radar.core.periods import PATTERN, shift

MONTH = "_month"  # months since January of year 0: consecutive months differ by 1
SERIES = "_series"  # an integer id per series, cheaper to sort and window over than string keys
MONTH_SPAN = 2**17  # more than any month count of a four-digit year (9999 * 12 + 11)


def month_index(period: pl.Expr) -> pl.Expr:
    """Turn "YYYY-MM" into a month count so month arithmetic is integer arithmetic."""
    year = period.str.slice(0, 4).cast(pl.Int32)
    month = period.str.slice(5, 2).cast(pl.Int32)
    return year * 12 + month - 1


def with_month(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the month count of `period`, refusing any period that is not "YYYY-MM".

    Parsed explicitly: polars 2 no longer casts strings to dates, and a
    malformed period must fail loudly rather than land in the wrong month.
    The distinct periods (a few hundred at most, where a national frame has
    millions of rows) are checked and counted; each row then looks its
    month up by its period's code (`_codes`), not by parsing its string.
    """
    return frame.with_columns(_month_of(frame.get_column("period").unique().sort()).alias(MONTH))


def _month_of(periods: pl.Series) -> pl.Expr:
    """Each row's month count, looked up by its period's place in `periods` (its column's distinct values,
    sorted); refuses any that is not "YYYY-MM"."""
    bad = (~periods.str.contains(PATTERN)).fill_null(True).sum()
    if bad:
        raise ValueError(f"{bad} distinct period(s) are not of the form YYYY-MM")
    months = periods.to_frame("period").select(month_index(pl.col("period"))).to_series()
    return pl.lit(months).gather(_codes(pl.col("period"), periods))


def _codes(column: pl.Expr, values: pl.Series) -> pl.Expr:
    """Each row's place in `values` (sorted, distinct, no null): the string is hashed once, by the cast."""
    return column.cast(pl.Enum(values)).to_physical().cast(pl.Int64)


def sorted_series(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sort by series and month and number the series, refusing a repeated month.

    Every vectorised step here (shifts, runs, rolling windows) relies on each
    series' months being in order and unique; a repeated month would silently
    pair a month with itself.

    Sorting millions of rows on string keys is slow, so the rows are grouped
    by their keys once (`_series_order`: one hash of each row's keys, where
    numbering each key column and sorting the rows by the numbers cost twice
    that) and each series gets one integer in the keys' order.

    A frame that is this function's output already (it carries the private
    SERIES and MONTH columns, rows strictly in their order) is returned as it
    is, and so are its filtered subsets: `charting.charted_values` hands its
    numbering on to `seasonal_baseline` and `xmr`, where numbering the 2.4
    million national points again cost a quarter of a second.  Anything else
    carrying those columns is numbered afresh.
    """
    if SERIES in frame.columns and MONTH in frame.columns:
        if frame.select(_position().diff().min() > 0).item() is not False:  # strictly increasing (or one row)
            return frame.with_columns(pl.col(SERIES).set_sorted())
        frame = frame.drop(SERIES, MONTH)
    out = _series_order(with_month(frame), keys)
    position = out.select(_position()).to_series()
    repeats = (position == position.shift(1)).sum()
    if repeats:
        raise ValueError(f"{repeats} row(s) repeat a period already present in the same series")
    # Saying the ids are sorted lets polars window over contiguous slices of rows.
    return out.with_columns(pl.col(SERIES).set_sorted())


def _series_order(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`frame` (with its MONTH) ordered by series, the series in the order of their keys (nulls first), and
    by month within each, with SERIES: the series' place in that order.

    One group_by collects each series' row numbers in month order; only the
    distinct series (a hundredth of the rows) are sorted by their keys.
    """
    rows = (
        frame.select(*keys, MONTH).with_row_index("_row")
        .group_by(keys).agg(pl.col("_row").sort_by(MONTH))
        .sort(keys, nulls_last=False)
        .select(pl.int_range(pl.len(), dtype=pl.Int64).alias(SERIES), "_row")
        .explode("_row")
    )
    return frame[rows.get_column("_row")].with_columns(rows.get_column(SERIES))


def consecutive_run(group: pl.Expr, month: pl.Expr, has_value: pl.Expr) -> pl.Expr:
    """An id shared by each run of consecutive months that all have a value, within a group.

    A row without a value gets an id of its own.  For a frame sorted by group
    and month, "the same run" then means "adjacent, observed and in the same
    group", which is what lets gaps break moving ranges, runs and rolling
    windows without a Python loop per series.  The id never decreases, and
    saying so (`set_sorted`) lets polars window over it several times faster.
    """
    continues = (group == group.shift(1)) & (month - month.shift(1) == 1) & has_value & has_value.shift(1)
    return (~continues.fill_null(False)).cum_sum().set_sorted()


def run_starts(keys: list[str]) -> pl.Expr:
    """True on the first row and on every row whose keys differ from the row before's (a missing key is a value).

    Finds the runs of equal keys in rows that come grouped by them by
    comparing neighbours, where grouping would hash every row's strings.
    """
    return pl.any_horizontal(pl.int_range(pl.len()) == 0, *(pl.col(k).ne_missing(pl.col(k).shift()) for k in keys))


def _position() -> pl.Expr:
    """Series x MONTH_SPAN + month: one integer that orders rows by series, then month.

    MONTH_SPAN exceeds any month count, so a month 12 x k earlier than one of
    a series' months never lands on another series' month, even below zero.
    """
    return pl.col(SERIES).cast(pl.Int64) * MONTH_SPAN + pl.col(MONTH)


def _same_month_earlier(series: pl.DataFrame, years_back: int, name: str) -> pl.DataFrame:
    """Add as `name` the value of the same month `years_back` years earlier (null when absent).

    Looked up by month number rather than by a shift, so a missing month is
    never mistaken for the one before it: `series` (from `sorted_series`) is
    ordered by `_position`.  In a series with no gap that month is the row
    12 x `years_back` rows up, which is checked; only the rows where it is
    not (a series' first years, a gap) are looked for by binary search (the
    search for every row was most of what a seasonal baseline cost).
    """
    lag = 12 * years_back
    position = series.select(_position()).to_series()
    target = position - lag
    row = pl.int_range(series.height, dtype=pl.Int64, eager=True) - lag
    missed = (position.shift(lag) != target).fill_null(True)
    if missed.any():
        found = position.search_sorted(target.filter(missed)).cast(pl.Int64)
        row = row.scatter(missed.arg_true(), found)
    row = row.clip(0, max(series.height - 1, 0))
    earlier = pl.DataFrame({"found": position.gather(row) == target, "value": series.get_column("value").gather(row)})
    return series.with_columns(earlier.select(pl.when("found").then("value")).to_series().alias(name))


def year_on_year(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Add `yoy_change` and `yoy_percent` against the same month a year earlier.

    Comparing like months removes the school-year pattern without modelling
    it.  Both are null when last year's month is missing or null; the percent
    is also null when last year's value was zero (no base to divide by).
    """
    change = pl.col("value") - pl.col("_base")
    return (
        _same_month_earlier(sorted_series(frame, keys), 1, "_base")
        .with_columns(
            change.alias("yoy_change"),
            pl.when(pl.col("_base") != 0).then(100 * change / pl.col("_base")).alias("yoy_percent"),
        )
        .drop(MONTH, SERIES, "_base")
    )


def rolling_12(frame: pl.DataFrame, keys: list[str], summable: Collection[str]) -> pl.DataFrame:
    """Add `rolling_12_total`: the sum of the twelve months ending here, for counts of events only.

    A rolling year smooths seasonality and shows slow drift.  Only indicators
    in `summable` (ids; `keys` include `indicator`) get a total: a year of
    contacts is a number of contacts, but twelve month-end stocks,
    percentages, rates or averages add up to nothing, and a total shown for
    them would invite a reader to trust it.  The total is also null unless
    the twelve months are all present with a value, because a year with a
    hole in it would read as a fall.
    """
    out = sorted_series(frame, keys)
    run = consecutive_run(pl.col(SERIES), pl.col(MONTH), pl.col("value").is_not_null())
    total = pl.col("value").rolling_sum(12, min_samples=12).over(run)
    summed = pl.col("indicator").is_in(list(summable))
    return out.with_columns(pl.when(summed).then(total).alias("rolling_12_total")).drop(MONTH, SERIES)


def seasonal_baseline(frame: pl.DataFrame, keys: list[str], years: int = 3) -> pl.DataFrame:
    """Add `seasonal_expected` and `deseasonalised` so a seasonal indicator can opt in before SPC.

    `seasonal_expected` is the mean of the same calendar month in the previous
    `years` years, needing at least two of them with a value (one year is an
    anecdote, not a season).  `deseasonalised` is value - expected + the
    series' mean expected value: the month's own pattern is taken out while the
    series keeps its level, so limits computed on it stay in the indicator's
    units.
    """
    if years < 2:
        raise ValueError("seasonal_baseline needs years >= 2: the expected value needs at least two years")
    out = sorted_series(frame, keys)
    earlier = [f"_year_{lag}" for lag in range(1, years + 1)]
    for lag, name in enumerate(earlier, start=1):
        out = _same_month_earlier(out, lag, name)
    enough = pl.sum_horizontal(pl.col(earlier).is_not_null()) >= 2
    expected = pl.col("seasonal_expected")
    return (
        out.with_columns(pl.when(enough).then(pl.mean_horizontal(earlier)).alias("seasonal_expected"))
        .with_columns((pl.col("value") - expected + expected.mean().over(SERIES)).alias("deseasonalised"))
        .drop(MONTH, SERIES, *earlier)
    )


def seasonal_levels(adjusted: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """keys, expected_sum, expected_n: what each series' level (the mean expected value
    `seasonal_baseline` adds back) is made of, from its output.

    Kept between months so that `next_seasonal_month` moves the level by one
    month's expected value instead of reading the series' whole history.
    """
    expected = pl.col("seasonal_expected")
    return adjusted.group_by(keys).agg(expected.sum().alias("expected_sum"), expected.count().alias("expected_n"))


def next_seasonal_month(
    levels: pl.DataFrame, history: pl.DataFrame, new: pl.DataFrame, keys: list[str], years: int = 3
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the levels after `new`, `new` with `seasonal_expected`, `deseasonalised` and `level_shift`).

    `new`: keys, period, value: one month of each of its series, later than
    any month the series had.  `history`: keys, period, value of the earlier
    months (only the same month in the `years` before is read).  `levels`:
    `seasonal_levels` of the series before this month.

    The new month's expected value joins its series' level, so the level
    moves, and with it every earlier deseasonalised value of the series, all
    by the same amount: `level_shift`.  The result is `seasonal_baseline` over
    the whole history: its new month's row, and its earlier rows are each the
    row before plus `level_shift`.
    """
    period = new.get_column("period").unique()
    if period.len() > 1 or new.select(keys).is_duplicated().any():
        raise ValueError("next_seasonal_month takes one month of each series; recompute the history for more")
    lags = [shift(period.item(), -12 * lag) for lag in range(1, years + 1)] if period.len() else []
    earlier = history.filter(pl.col("period").is_in(lags)).join(new.select(keys), on=keys, how="semi")
    expected = pl.col("seasonal_expected")
    rows = (
        seasonal_baseline(pl.concat([earlier.select(new.columns), new]), keys, years)
        .join(new.select(*keys, "period"), on=[*keys, "period"], how="semi")
        .drop("deseasonalised")
        .join(levels, on=keys, how="left")
        .with_columns(pl.col("expected_sum").fill_null(0.0), pl.col("expected_n").fill_null(0))
    )
    before = pl.when(pl.col("expected_n") > 0).then(pl.col("expected_sum") / pl.col("expected_n"))
    rows = rows.with_columns(
        before.alias("_before"),
        (pl.col("expected_sum") + expected.fill_null(0.0)).alias("expected_sum"),
        (pl.col("expected_n") + expected.is_not_null().cast(pl.UInt32)).alias("expected_n"),
    )
    after = pl.when(pl.col("expected_n") > 0).then(pl.col("expected_sum") / pl.col("expected_n"))
    rows = rows.with_columns(
        (pl.col("value") - expected + after).alias("deseasonalised"),
        (after - pl.col("_before")).fill_null(0.0).alias("level_shift"),
    )
    moved = pl.concat([levels.join(new.select(keys), on=keys, how="anti"), rows.select(levels.columns)])
    return moved, rows.select(*new.columns, "seasonal_expected", "deseasonalised", "level_shift")
