"""Incremental XmR: a chart state per series, so a new month costs a month's work.

`xmr` recomputes every series from its first month.  A monthly cycle adds one
point to each series, and at national scale that full recompute is most of the
cost of the month.  This module keeps what a new point can change, per series,
in `ChartState`, two polars frames that can be stored as they are:

- `series`, one row per series, about its latest segment: the running sums
  behind the mean and the mean moving range (over the baseline points), the
  count, minimum and maximum of its values (for the `too_short` and
  `constant` labels), its last month and value (the moving range into the
  next point), the limits in force, and for each of the five thresholds the
  rules compare a value with (lower limit, mean - zone, mean, mean + zone,
  upper limit) the nearest value of the segment at or below it and above it,
  and, with moving-range screening, the count and sum of the ranges kept and
  the nearest range either side of the screening cutoff;
- `tail`, the last 2 x run_length rows of that segment.

A new point moves its segment's mean and limits (MDC's limits use every point
of the segment unless `baseline_points` is set), so every earlier point's
side of the mean, closeness to a limit or place outside them could change,
and with them the shift, two-of-three and outside-limits flags.  They change
only if a threshold moves past one of the segment's values: the nearest
values either side of each threshold say whether it did, in O(1).  When none
did, each earlier point keeps its classes, and the only flags the new point
can change are those of the runs it extends and the three-point windows it
ends: the run_length - 1 rows before it, or 2 where run_length is 2
(`reach`).  Those are re-judged on the tail (2 x run_length rows is enough
to tell a run of run_length from a shorter one, and holds the two rows
before a three-point window) by the same `judge` as `xmr`.

Anything else recomputes the whole series from its history with `xmr`: a new
series, a month that is not after the last one (a replaced or late month),
more than one new month at once, a re-base, a label change (too_short -> ok),
a threshold passing a value (within a relative 1e-9, so rounding in the
running sums never decides a flag), and a new screening decision: with
screening on, the cutoff (3.267 x the mean of every range) moves with each
new range, and when it passes a range kept or dropped before, the kept set
changes.  The result is the same as
`xmr` over the whole history: tests/test_spc_state.py checks it on random
series with Hypothesis.

A seasonal series' adjusted values all move by one amount when a new month
moves its level (pipelines/seasonal.py, `next_seasonal_month`): `translate`
moves its state and `translate_points` its points, with nothing judged
again, since an XmR chart is blind to a translation (see `translate`).

How the monthly cycle uses it: keep `ChartState` beside the SPC points;
each month call `update(state, new_points, history, ...)`, where `history`
reads the current values of the series it asks for (a LazyFrame over the store
is enough: it is filtered to the recomputed series before it is collected),
store the returned state, and upsert the returned `changed` rows into the
points table (their keys + period).  The per-segment columns of the latest
segment's other rows are the state's (`materialise` shows the join that a
reader of the points table makes, or that a writer repeats).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from radar.core.alert_settings import SpcSettings
from radar.pipelines.seasonal import MONTH, SERIES, sorted_series
from radar.pipelines.spc import (
    OUTPUT_COLUMNS,
    X,
    clamp_limits,
    close_zone,
    judge,
    limits,
    numbered,
    screen_cutoff,
    xmr,
)

SEGMENT_COLUMNS = ("label", "mean", "mr_mean", "lower", "upper", "sigma")  # one value per segment
THRESHOLDS = ("lower", "close_low", "mean", "close_high", "upper")
RELATIVE_TOLERANCE = 1e-9
VALUES = ["period", "value"]
# What the state keeps of a segment's screened moving ranges (`_screening`).
SCREENING = {"n_kept": pl.UInt32, "sum_kept": pl.Float64, "screen_below": pl.Float64, "screen_above": pl.Float64}


@dataclass(frozen=True)
class ChartState:
    """Each series' latest segment (`series`) and its last rows (`tail`); see the module docstring."""

    series: pl.DataFrame
    tail: pl.DataFrame


def _thresholds(mean: pl.Expr, mr_mean: pl.Expr) -> dict[str, pl.Expr]:
    """The five values a point is compared with by the rules, unclamped, as `xmr` computes them."""
    lower, upper, _ = limits(mean, mr_mean)
    zone = close_zone(mr_mean)
    return {"lower": lower, "close_low": mean - zone, "mean": mean, "close_high": mean + zone, "upper": upper}


def _tail_length(settings: SpcSettings) -> int:
    return 2 * settings.run_length


def reach(settings: SpcSettings) -> int:
    """How many of a series' last rows a new point can change when its limits stay: the new row and those
    before it in the runs it extends (run_length) or the three-point windows it ends (two of three)."""
    return max(settings.run_length, 3)


def chart_state(points: pl.DataFrame, keys: list[str], settings: SpcSettings) -> ChartState:
    """The state of every series in `points` (the output of `xmr` over each series' whole history).

    One group_by over an integer series id (`sorted_series`), with the rows
    in series and month order: the string keys are hashed once, and the
    brackets around each threshold read the segment's own mean and mean
    moving range from each row, where a second group_by would join them back.
    """
    ordered = sorted_series(points, keys)
    latest = ordered.filter(pl.col("segment") == pl.col("segment").max().over(SERIES))
    x = pl.col("value").fill_nan(None)
    in_baseline = x.is_not_null()
    if settings.baseline_points is not None:
        in_baseline &= x.is_not_null().cum_sum().over(SERIES) <= settings.baseline_points
    latest = latest.with_columns(x.alias(X), in_baseline.alias("_baseline"))
    base_x = pl.when(pl.col("_baseline")).then(pl.col(X))
    base_mr = pl.when(pl.col("_baseline")).then(pl.col("mr"))
    thresholds = _thresholds(pl.col("mean"), pl.col("mr_mean"))
    series = latest.group_by(SERIES).agg(
        *_screening(base_mr, settings),
        *[pl.col(k).first() for k in keys],
        pl.col("segment").first(),
        *[pl.col(c).first() for c in SEGMENT_COLUMNS],
        pl.col(X).count().alias("n_obs"),
        base_x.count().alias("n_base"),
        base_x.sum().alias("sum_x"),
        base_mr.count().alias("n_mr"),
        base_mr.sum().alias("sum_mr"),
        pl.col(X).min().alias("x_min"),
        pl.col(X).max().alias("x_max"),
        pl.col("period").last().alias("last_period"),
        pl.col(X).last().alias("last_x"),
        # The nearest values either side of each threshold, from the segment's values.
        *[
            expr
            for name, t in thresholds.items()
            for expr in (
                pl.when(pl.col(X) <= t).then(pl.col(X)).max().alias(f"{name}_below"),
                pl.when(pl.col(X) > t).then(pl.col(X)).min().alias(f"{name}_above"),
            )
        ],
    )
    tail = latest.group_by(SERIES, maintain_order=True).tail(_tail_length(settings))
    return ChartState(series=series.sort(SERIES).drop(SERIES), tail=tail.select(*keys, *VALUES, "segment"))


def _screening(base_mr: pl.Expr, settings: SpcSettings) -> list[pl.Expr]:
    """A segment's screened moving ranges, as aggregations: the count and sum of those kept (below the
    cutoff) and the nearest range either side of the cutoff; nulls when screening is off."""
    if not settings.screen_moving_ranges:
        return [pl.lit(None, dtype).alias(name) for name, dtype in SCREENING.items()]
    cutoff = screen_cutoff(base_mr.mean())
    kept = pl.when(base_mr < cutoff).then(base_mr)
    return [
        kept.count().alias("n_kept"),
        kept.sum().alias("sum_kept"),
        pl.when(base_mr <= cutoff).then(base_mr).max().alias("screen_below"),
        pl.when(base_mr > cutoff).then(base_mr).min().alias("screen_above"),
    ]


def update(
    state: ChartState,
    new: pl.DataFrame,
    history: pl.DataFrame | pl.LazyFrame,
    keys: list[str],
    settings: SpcSettings = SpcSettings(),  # noqa: B008 - frozen, so one shared default is safe
    polarity: pl.DataFrame | None = None,
    rebases: pl.DataFrame | None = None,
    bounds: pl.DataFrame | None = None,
    recompute: pl.DataFrame | None = None,
) -> tuple[ChartState, pl.DataFrame]:
    """(the state after `new`, the point rows `new` changed), equal to `xmr` over the whole history.

    `new`: keys + period + value, the months added or replaced since `state`.
    `history`: keys + period + value of every current month, `new` included;
    only the series that must be recomputed are read from it.  The other
    arguments are `xmr`'s; `recompute` (keys) names series whose history
    changed in a way the state cannot see (a seasonal level, a new screening
    decision), recomputed whatever `new` holds.  `changed` has `xmr`'s
    columns: for a recomputed series every row, otherwise the new row and the
    rows before it that it can change (`reach`); the other rows of the latest
    segment take the state's segment columns.
    """
    new = new.select(*keys, *VALUES).with_columns(pl.col("value").cast(pl.Float64))
    candidates = _advanced(state.series, new, keys, settings, rebases)
    fast = candidates.filter(pl.col("_fast"))
    if recompute is not None:
        fast = fast.join(recompute.select(keys), on=keys, how="anti")
    touched = new.select(keys).unique()
    if recompute is not None:
        touched = pl.concat([touched, recompute.select(keys)]).unique()
    slow_keys = touched.join(fast.select(keys), on=keys, how="anti")

    recomputed = _recompute(history, slow_keys, keys, settings, polarity, rebases, bounds)
    slow_state = chart_state(recomputed, keys, settings)
    window = pl.concat([
        state.tail.join(fast.select(keys), on=keys),
        fast.select(*keys, *VALUES, "segment"),
    ])
    judged = _judged(window, fast, keys, settings, polarity, bounds)
    changed = judged.filter(pl.int_range(pl.len()).reverse().over(keys) < reach(settings))
    # The state keeps the limits as stored (clamped), like the points; the rules used them unclamped.
    clamped = judged.filter(pl.col("period") == pl.col("period").max().over(keys)).select(*keys, "lower", "upper")
    fast = fast.drop("lower", "upper").join(clamped, on=keys)

    series = pl.concat([
        state.series.join(touched, on=keys, how="anti"),
        fast.select(state.series.columns),
        slow_state.series.select(state.series.columns),
    ]).sort(keys)
    tail = pl.concat([
        state.tail.join(touched, on=keys, how="anti"),
        window.sort(*keys, "period").group_by(keys, maintain_order=True).tail(_tail_length(settings)),
        slow_state.tail,
    ])
    columns = [*keys, *VALUES, *OUTPUT_COLUMNS]
    return ChartState(series, tail), pl.concat([changed.select(columns), recomputed.select(columns)])


def translate(
    state: ChartState, shifts: pl.DataFrame, keys: list[str], bounds: pl.DataFrame | None = None
) -> tuple[ChartState, pl.DataFrame]:
    """(the state with every value of each series in `shifts` (keys + level_shift) moved by it, the series
    that must be recomputed instead).

    A seasonal series' deseasonalised values all move when its level does
    (`seasonal.next_seasonal_month`).  An XmR chart is blind to that: moving
    ranges, each point's side of the mean, its closeness to a limit and its
    place outside them stay as they were, and the mean and limits move with
    the values.  So the state moves (sums, extremes, brackets, tail) and
    nothing is judged again; `translate_points` moves the stored points the
    same way.  A value within rounding of a threshold could be judged the
    other way by a recompute, so such a series is returned to be recomputed.
    """
    shifts = shifts.select(*keys, "level_shift")
    d = pl.col("level_shift")
    moving = state.series.join(shifts, on=keys, how="inner")
    thresholds = _thresholds(pl.col("mean"), pl.col("mr_mean"))
    near = pl.any_horizontal(
        (t - pl.col(f"{name}_below") <= _slack(t)) | (pl.col(f"{name}_above") - t <= _slack(t))
        for name, t in thresholds.items()
    ).fill_null(False)
    unsure = moving.filter((pl.col("label") == "ok") & near).select(keys)
    moved = moving.with_columns(
        *[(pl.col(c) + d).alias(c) for c in ("mean", "x_min", "x_max", "last_x")],
        *[(pl.col(f"{name}_{side}") + d).alias(f"{name}_{side}") for name in THRESHOLDS for side in ("below", "above")],
        (pl.col("sum_x") + pl.col("n_base") * d).alias("sum_x"),
    )
    moved = _limits_at_mean(moved, keys, bounds)
    tail = state.tail.join(shifts, on=keys, how="left").with_columns((pl.col("value") + d.fill_null(0.0)).alias("value"))
    series = pl.concat([state.series.join(shifts, on=keys, how="anti"), moved.select(state.series.columns)]).sort(keys)
    return ChartState(series, tail.select(state.tail.columns)), unsure


def translate_points(points: pl.DataFrame, shifts: pl.DataFrame, keys: list[str],
                     bounds: pl.DataFrame | None = None) -> pl.DataFrame:
    """The points of the series in `shifts` (keys + level_shift), each moved by it (see `translate`)."""
    moved = points.join(shifts.select(*keys, "level_shift"), on=keys, how="inner").with_columns(
        (pl.col(c) + pl.col("level_shift")).alias(c) for c in ("value", "mean")
    )
    return _limits_at_mean(moved, keys, bounds).select(points.columns)


def _limits_at_mean(rows: pl.DataFrame, keys: list[str], bounds: pl.DataFrame | None) -> pl.DataFrame:
    """`rows` whose mean moved, with the (clamped) limits around it."""
    lower, upper, _ = limits(pl.col("mean"), pl.col("mr_mean"))
    return clamp_limits(rows.with_columns(lower.alias("lower"), upper.alias("upper")), keys, bounds)


def _slack(threshold: pl.Expr) -> pl.Expr:
    """How near a threshold a value is within rounding: relative to the threshold's size."""
    return RELATIVE_TOLERANCE * (1 + threshold.abs())


def _recompute(
    history: pl.DataFrame | pl.LazyFrame, wanted: pl.DataFrame, keys: list[str], settings: SpcSettings,
    polarity: pl.DataFrame | None, rebases: pl.DataFrame | None, bounds: pl.DataFrame | None,
) -> pl.DataFrame:
    """`xmr` over the whole history of the `wanted` series."""
    values = history.lazy().join(wanted.lazy(), on=keys, how="semi").select(*keys, *VALUES).collect()
    return xmr(values.with_columns(pl.col("value").cast(pl.Float64)), keys, settings, polarity, rebases, bounds)


def _advanced(
    series: pl.DataFrame, new: pl.DataFrame, keys: list[str], settings: SpcSettings, rebases: pl.DataFrame | None
) -> pl.DataFrame:
    """The state rows of the series `new` touches, moved on by their new point, with `_fast` where that is exact.

    `_fast` is false for a series needing a full recompute (see the module
    docstring); its other columns are then meaningless.
    """
    one_each = new.filter(pl.len().over(keys) == 1)
    rows = one_each.join(series, on=keys, how="inner", suffix="_new")
    x = pl.col("value").fill_nan(None)
    consecutive = _month(pl.col("period")) == _month(pl.col("last_period")) + 1
    mr = pl.when(consecutive).then((x - pl.col("last_x")).abs())
    joins = x.is_not_null()
    if settings.baseline_points is not None:
        joins &= pl.col("n_base") < settings.baseline_points
    new_mr = pl.when(joins).then(mr)  # the moving range the new point adds to the baseline, if any
    screened = settings.screen_moving_ranges
    rows = rows.with_columns(
        _segment_of(rows, keys, rebases).alias("_segment"),
        (pl.col("n_obs") + x.is_not_null().cast(pl.UInt32)).alias("n_obs"),
        (pl.col("n_base") + joins.cast(pl.UInt32)).alias("n_base"),
        (pl.col("sum_x") + pl.when(joins).then(x).otherwise(0.0)).alias("sum_x"),
        (pl.col("n_mr") + new_mr.is_not_null().cast(pl.UInt32)).alias("n_mr"),
        (pl.col("sum_mr") + new_mr.fill_null(0.0)).alias("sum_mr"),
        pl.min_horizontal("x_min", x).alias("x_min"),
        pl.max_horizontal("x_max", x).alias("x_max"),
        pl.col("period").alias("last_period"),
        pl.col("last_period").alias("_previous_period"),
        x.alias("last_x"),
        pl.col("label").alias("_old_label"),
        *[pl.col(c).alias(f"_old_{c}") for c in ("mean", "mr_mean")],
        *([_cutoff().alias("_old_cutoff"), new_mr.alias("_new_mr")] if screened else []),
    )
    if screened:
        rows = _screened(rows)
    n_obs = pl.col("n_obs")
    label = (
        pl.when(n_obs == 0).then(pl.lit("no_data"))
        .when(n_obs < settings.min_points).then(pl.lit("too_short"))
        .when(pl.col("x_max") == pl.col("x_min")).then(pl.lit("constant"))
        .otherwise(pl.lit("ok"))
    )
    estimable = label.is_in(["constant", "ok"])
    mean = pl.when(estimable & (pl.col("n_base") > 0)).then(pl.col("sum_x") / pl.col("n_base"))
    n_mr, sum_mr = ("n_kept", "sum_kept") if screened else ("n_mr", "sum_mr")
    mr_mean = pl.when(estimable & (pl.col(n_mr) > 0)).then(pl.col(sum_mr) / pl.col(n_mr))
    rows = rows.with_columns(label.alias("label"), mean.alias("mean"), mr_mean.alias("mr_mean"))
    lower, upper, sigma = limits(pl.col("mean"), pl.col("mr_mean"))
    rows = rows.with_columns(lower.alias("lower"), upper.alias("upper"), sigma.alias("sigma"))

    old = _thresholds(pl.col("_old_mean"), pl.col("_old_mr_mean"))
    now = _thresholds(pl.col("mean"), pl.col("mr_mean"))
    stable = [_stays_between(name, old[name], now[name]) for name in THRESHOLDS]
    fast = (
        (pl.col("_segment") == pl.col("segment"))
        & (_month(pl.col("period")) > _month(pl.col("_previous_period")))
        & (pl.col("label") == pl.col("_old_label"))
        & ((pl.col("label") != "ok") | pl.all_horizontal(stable))
    )
    if screened:
        fast &= pl.col("_screen_stays")
    rows = rows.with_columns(fast.fill_null(False).alias("_fast"))
    # Fold the new value into the brackets around the new thresholds.
    return rows.with_columns(
        expr
        for name, t in now.items()
        for expr in (
            pl.max_horizontal(f"{name}_below", pl.when(x <= t).then(x)).alias(f"{name}_below"),
            pl.min_horizontal(f"{name}_above", pl.when(x > t).then(x)).alias(f"{name}_above"),
        )
    )


def _cutoff() -> pl.Expr:
    """The screening cutoff of a state row's moving ranges (every baseline range, before screening)."""
    return screen_cutoff(pl.when(pl.col("n_mr") > 0).then(pl.col("sum_mr") / pl.col("n_mr")))


def _screened(rows: pl.DataFrame) -> pl.DataFrame:
    """`_advanced` rows with the new moving range (`_new_mr`) screened against the new cutoff.

    The ranges kept before stay kept, and the dropped stay dropped, only if
    the cutoff moved past none of them (`_screen_stays`, from the nearest
    range either side of it, as for the thresholds); the new range must not
    sit within rounding of the cutoff either, where a recompute's mean could
    class it the other way.
    """
    new_mr, cutoff = pl.col("_new_mr"), pl.col("_cutoff")
    kept = (new_mr < cutoff).fill_null(False)
    clear = new_mr.is_null() | ((new_mr - cutoff).abs() > _slack(cutoff))
    rows = rows.with_columns(_cutoff().alias("_cutoff"))
    return rows.with_columns(
        (pl.col("n_kept") + kept.cast(pl.UInt32)).alias("n_kept"),
        (pl.col("sum_kept") + pl.when(kept).then(new_mr).otherwise(0.0)).alias("sum_kept"),
        pl.max_horizontal("screen_below", pl.when(new_mr <= cutoff).then(new_mr)).alias("screen_below"),
        pl.min_horizontal("screen_above", pl.when(new_mr > cutoff).then(new_mr)).alias("screen_above"),
        (clear & _stays_between("screen", pl.col("_old_cutoff"), cutoff)).alias("_screen_stays"),
    )


def _month(period: pl.Expr) -> pl.Expr:
    return period.str.slice(0, 4).cast(pl.Int32) * 12 + period.str.slice(5, 2).cast(pl.Int32)


def _stays_between(name: str, old: pl.Expr, now: pl.Expr) -> pl.Expr:
    """True when moving a threshold from `old` to `now` passes none of the segment's earlier values."""
    low, high = pl.min_horizontal(old, now), pl.max_horizontal(old, now)
    slack = _slack(high)
    below, above = pl.col(f"{name}_below"), pl.col(f"{name}_above")
    clear = (below.is_null() | (below < low - slack)) & (above.is_null() | (above > high + slack))
    return (old == now).fill_null(old.is_null() & now.is_null()) | (old.is_not_null() & now.is_not_null() & clear)


def _segment_of(rows: pl.DataFrame, keys: list[str], rebases: pl.DataFrame | None) -> pl.Expr:
    """The segment the new point falls in: the number of re-bases at or before its month."""
    if rebases is None:
        return pl.lit(0, dtype=pl.Int64)
    counted = rows.select(*keys, "period").join(
        rebases.select(*keys, pl.col("period").alias("_start")).unique(), on=keys, how="left"
    ).group_by([*keys, "period"]).agg((pl.col("_start") <= pl.col("period")).sum().cast(pl.Int64).alias("_n"))
    return pl.Series(rows.join(counted, on=[*keys, "period"], how="left", maintain_order="left")["_n"])


def _judged(
    window: pl.DataFrame, fast: pl.DataFrame, keys: list[str], settings: SpcSettings,
    polarity: pl.DataFrame | None, bounds: pl.DataFrame | None,
) -> pl.DataFrame:
    """The window's rows judged by `xmr`'s rules against each series' new segment columns."""
    points = numbered(sorted_series(window, keys), keys, polarity).drop(SERIES, MONTH)
    x = pl.col(X)
    same_block = pl.col("_block").shift(1) == pl.col("_block")
    points = points.join(fast.select(*keys, *SEGMENT_COLUMNS), on=keys, how="left", maintain_order="left")
    return judge(points.with_columns(pl.when(same_block).then((x - x.shift(1)).abs()).alias("mr")), keys, settings,
                 bounds)


def materialise(points: pl.DataFrame, state: ChartState, changed: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The points table after an `update`: `changed` rows replace theirs; the latest segment takes the state's limits.

    What `xmr` over the whole history returns (sorted by keys and period).
    """
    kept = points.join(changed.select(*keys, "period"), on=[*keys, "period"], how="anti")
    return pl.concat([with_segment_columns(kept, state, keys), changed.select(points.columns)]).sort(*keys, "period")


def with_segment_columns(points: pl.DataFrame, state: ChartState, keys: list[str]) -> pl.DataFrame:
    """`points` (in any order) with each series' latest segment taking the state's segment columns."""
    segment = state.series.select(*keys, "segment", *[pl.col(c).alias(f"_{c}") for c in SEGMENT_COLUMNS])
    joined = points.join(segment, on=[*keys, "segment"], how="left")
    return joined.with_columns(
        pl.when(pl.col("_label").is_not_null()).then(pl.col(f"_{c}")).otherwise(pl.col(c)).alias(c)
        for c in SEGMENT_COLUMNS
    ).select(points.columns)
