"""Statistical process control: NHS England "Making Data Count" (MDC) XmR charts.

A partnership board needs to tell a real change in an indicator from the
month-to-month noise every process has.  MDC's answer, used across the NHS and
increasingly by local authorities, is the XmR chart: a mean, process limits at
mean +/- 2.66 x the mean moving range, and four rules for special-cause
variation.  Reporting the same icons (variation, assurance) as NHS partners
means a Safeguarding Children Partnership reads its data the way its health
members already do.

Everything is vectorised over a LONG frame holding many series at once, because
a national benchmark runs it on every local authority x indicator x breakdown
x month (millions of rows).  Each frame is sorted by series and month once;
from then on a series, a segment and a run of consecutive observed months are
integer ids, and every rule is a shift or a window over one of those ids; there
is no Python loop per series.

Gaps (a missing month or a null value) end a "block" of consecutive observed
points.  Moving ranges and all runs stay inside a block, so a gap never creates
a spurious signal.  Limits are recomputed only at an explicit re-base (a
`rebases` row with its reason), never automatically: MDC re-bases only for a
known, sustained change in the process, and limits that chased every signal
would absorb the very changes they are meant to show.

The rules follow NHSRplotthedots (NHS-R Community's implementation of MDC) as
of its 0.2.2 fixes: two of three points near a limit count only when all three
sit on the same side of the mean, and a trend is judged by its direction.
docs/signals.md lists where Radar differs from it on purpose, and why.
"""

from __future__ import annotations

import polars as pl

from radar.core.alert_settings import SpcSettings
from radar.pipelines.seasonal import (
    MONTH,
    MONTH_SPAN,
    SERIES,
    consecutive_run,
    run_starts,
    sorted_series,
    with_month,
)

# MDC / Wheeler constants for moving ranges of two points.
D2 = 1.128  # bias correction: sigma = mean moving range / d2
LIMIT_FACTOR = 2.66  # 3 / d2: process limits at mean +/- 2.66 x mean moving range
MR_SCREEN_FACTOR = 3.267  # D4: upper range limit; a larger moving range is itself unusual

POLARITIES = ("up_is_bad", "down_is_bad", "neutral")
RULES = ("outside_limits", "trend", "two_of_three", "shift")  # in MDC priority order
LABELS = ("no_data", "too_short", "constant", "ok")  # a segment's, from no chart to a chart that is tested
OUTPUT_COLUMNS = (
    "segment", "label", "mean", "mr", "mr_mean", "lower", "upper", "sigma",
    *RULES, "signal", "direction", "assessment",
)

SEGMENT = "_segment_id"  # global id of a (series, segment)
BLOCK = "_block"  # global id of a run of consecutive observed months inside a segment
X = "_x"  # the value, null where it is null or NaN


def xmr(
    frame: pl.DataFrame,
    keys: list[str],
    settings: SpcSettings = SpcSettings(),  # noqa: B008 - frozen, so one shared default is safe
    polarity: pl.DataFrame | None = None,
    rebases: pl.DataFrame | None = None,
    bounds: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """XmR limits and MDC special-cause rules for every series in `frame`.

    `frame` holds `keys` + `period` ("YYYY-MM") + `value` (Float64, may be
    null).  `polarity` (a subset of keys, at least `indicator`, + `polarity`)
    turns a signal's direction into a concern or an improvement.  `rebases`
    (keys + `period` + `reason`) starts a new segment with its own limits from
    that month on.  `bounds` (a subset of keys + `floor` + `ceiling`, either
    may be null) is what the indicator's unit allows: a count is never below
    0, a percentage never above 100.  Returns one row per input row, sorted by
    keys and period, with the columns in OUTPUT_COLUMNS added.

    The stored limits are clamped to the bounds, because a chart whose lower
    limit is -3 children says something untrue.  The rules are judged against
    the limits as computed: no value can pass a bound, so a clamped limit
    never makes a point "outside" by itself, and a point sitting on the bound
    (no child this month, 100%) is inside, as MDC's strict inequality has it.

    Each step adds columns the next one reads: polars runs a window nested in
    another window many times slower than two windows one after the other.
    """
    points = _prepare(frame, keys, polarity, rebases)
    points = _with_label(points, settings)
    points = _with_limits(points, settings)
    given = [c for c in frame.columns if c not in (SERIES, MONTH)]  # `sorted_series`' numbering stays inside
    return judge(points, keys, settings, bounds).select(*given, *OUTPUT_COLUMNS)


def judge(points: pl.DataFrame, keys: list[str], settings: SpcSettings, bounds: pl.DataFrame | None) -> pl.DataFrame:
    """The rules, the signal and the clamped limits of points that already carry their segment's limits.

    Shared by `xmr` and the incremental chart (pipelines/spc_state.py), which
    judges only the last points of a series against limits kept as running
    sums: one definition of the rules, so the two cannot drift apart.
    """
    return clamp_limits(_with_signal(_with_rules(points, settings)), keys, bounds)


def limits(mean: pl.Expr, mr_mean: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(lower, upper, sigma) of a segment from its mean and mean moving range, before any clamping."""
    return mean - LIMIT_FACTOR * mr_mean, mean + LIMIT_FACTOR * mr_mean, mr_mean / D2


def screen_cutoff(mr_mean: pl.Expr) -> pl.Expr:
    """The moving range at or above which screening drops a range: D4 x the segment's mean moving range."""
    return MR_SCREEN_FACTOR * mr_mean


def close_zone(mr_mean: pl.Expr) -> pl.Expr:
    """How far from the mean a point must be to count as close to a limit (beyond 2 sigma)."""
    return 2 / 3 * LIMIT_FACTOR * mr_mean


def summarise(points: pl.DataFrame, keys: list[str], targets: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per series: its latest point and the MDC variation and assurance icons.

    The latest point is the latest month with a value (a late return should not
    blank the icon).  `variation` comes from that point's signal:
    `common_cause`, or `special_cause_{concern|improvement|neither}_{high|low}`.
    `assurance` needs a target (`targets`: a subset of keys + `target` +
    `polarity`): `consistently_passing` or `consistently_failing` when the
    target lies outside the process limits (the process cannot help but pass,
    or cannot pass, without a change to it), `hit_and_miss` when it lies within
    them.  Both icons are null for a `no_data` or `too_short` segment: a
    chart without limits supports neither claim.  A `constant` segment has
    limits (both at its mean) and no signals, so it reads as common cause.
    """
    latest = _latest_points(points, keys).sort(keys)
    charted = pl.col("label").is_in(["ok", "constant"])
    variation = (
        pl.when(~charted)
        .then(None)
        .when(pl.col("signal").is_null())
        .then(pl.lit("common_cause"))
        .otherwise(
            pl.concat_str(
                pl.lit("special_cause_"),
                pl.col("assessment").fill_null("neither"),
                pl.lit("_"),
                pl.col("direction"),
            )
        )
    )
    latest = latest.with_columns(variation.alias("variation"))
    if targets is None:
        latest = latest.with_columns(pl.lit(None, dtype=pl.String).alias("assurance"))
    else:
        _check_polarity(targets)
        latest = _join_subset(latest, keys, targets, ["target", "polarity"])
        latest = latest.with_columns(_assurance(charted).alias("assurance"))
    return latest.select(*keys, "period", "value", "label", "variation", "assurance")


def _latest_points(points: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Each series' latest month with a value, or its latest month when none has a value.

    `points` gives each month of a series once, as `xmr` does, so exactly one
    row per series is the latest.  `xmr` returns each series' rows together
    and in month order; then the series are runs of equal keys (found by
    comparing each row with the one before, no string hashed) and a series'
    latest row is its last with a value, found in one lazy pass: neither are
    the periods parsed nor the millions of rows grouped by their string keys
    (most of what this cost nationally).  Points in any other order (a
    series' rows apart, or a month before the one above it) are grouped by
    their keys and their periods compared as month counts.
    """
    start, row = pl.col("_start"), pl.int_range(pl.len())
    ends = (
        points.lazy()
        .select(*keys, "period", "value", run_starts(keys).alias("_start"))
        .select(
            *keys,
            (start | (pl.col("period") > pl.col("period").shift())).fill_null(False).all().alias("_in_order"),
            pl.when(start).then(row).forward_fill().alias("_first"),  # the first row of the row's run
            pl.when(pl.col("value").is_not_null()).then(row).forward_fill().alias("_valued"),  # the latest so far
            row.alias("_row"),
            start.shift(-1, fill_value=True).alias("_end"),  # the last row of its run
        )
        .filter("_end")
        .collect()
    )
    if ends.height and ends.item(0, "_in_order") and not ends.select(keys).is_duplicated().any():
        latest = ends.select(pl.when(pl.col("_valued") >= pl.col("_first")).then("_valued").otherwise("_row"))
        return points[latest.to_series()]
    rank = pl.col("value").is_not_null().cast(pl.Int64) * MONTH_SPAN + pl.col(MONTH)
    return with_month(points).filter(rank == rank.max().over(keys)).drop(MONTH)


def _prepare(
    frame: pl.DataFrame, keys: list[str], polarity: pl.DataFrame | None, rebases: pl.DataFrame | None
) -> pl.DataFrame:
    """Sort, number series, segments and blocks, and attach polarity."""
    return numbered(_segments(sorted_series(frame, keys), keys, rebases), keys, polarity)


def numbered(points: pl.DataFrame, keys: list[str], polarity: pl.DataFrame | None) -> pl.DataFrame:
    """Add the value as X, segment and block ids and polarity to `sorted_series` output with a `segment` column."""
    value = pl.col("value").cast(pl.Float64)
    points = (
        points.with_columns(pl.when(value.is_not_nan()).then(value).alias(X))
        .with_columns(pl.struct(SERIES, "segment").rle_id().alias(SEGMENT))
        .with_columns(consecutive_run(pl.col(SEGMENT), pl.col(MONTH), pl.col(X).is_not_null()).alias(BLOCK))
    )
    return _with_polarity(points, keys, polarity)


def _segments(points: pl.DataFrame, keys: list[str], rebases: pl.DataFrame | None) -> pl.DataFrame:
    """Number each series' segments: 0 before its first re-base, then 1, 2, ...

    An as-of join, so a re-base month need not itself be in the data (a re-base
    can fall in a gap).
    """
    if rebases is None:
        return points.with_columns(pl.lit(0, dtype=pl.Int64).alias("segment"))
    starts = (
        with_month(rebases.select(*keys, "period"))
        .select(*keys, MONTH)
        .unique()
        .sort([*keys, MONTH])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(keys).alias("segment"))
    )
    # Both frames are sorted by month within each series, which is all join_asof needs.
    segmented = points.join_asof(starts, on=MONTH, by=keys, strategy="backward", check_sortedness=False)
    return segmented.with_columns(pl.col("segment").fill_null(0))


def _join_subset(points: pl.DataFrame, keys: list[str], other: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Left-join `columns` of a lookup keyed on some of the series keys (e.g. polarity by indicator).

    The joined columns are prefixed "_" so they never clash with the caller's
    own columns.  (Points numbered by `sorted_series` are looked up a series
    at a time.)  Refuses (through validate="m:1") a lookup with two rows for
    one series, which would otherwise duplicate points.
    """
    on = [c for c in other.columns if c in keys]
    if not on:
        raise ValueError(f"a lookup of {columns} must share at least one key column with {keys}")
    lookup = other.select(*on, *[pl.col(c).alias(f"_{c}") for c in columns])
    if SERIES not in points.columns:
        return points.join(lookup, on=on, how="left", validate="m:1", maintain_order="left")
    # Numbered points (`sorted_series`) come in runs of one series: each run's keys are looked up once and
    # the result repeated down the run, where joining millions of rows hashed as many strings.
    starts = points.select(pl.col(SERIES).ne_missing(pl.col(SERIES).shift())).to_series()
    found = points.select(on).filter(starts).join(lookup, on=on, how="left", validate="m:1", maintain_order="left")
    run = starts.cum_sum() - 1
    return points.with_columns(found.get_column(f"_{c}").gather(run) for c in columns)


def _check_polarity(lookup: pl.DataFrame) -> None:
    """Refuse a polarity the icons cannot read (a typo would silently judge nothing)."""
    bad = set(lookup.get_column("polarity").drop_nulls()) - set(POLARITIES)
    if bad:
        raise ValueError(f"unknown polarity {sorted(bad)}; expected one of {POLARITIES}")


def _with_polarity(points: pl.DataFrame, keys: list[str], polarity: pl.DataFrame | None) -> pl.DataFrame:
    if polarity is None:
        return points.with_columns(pl.lit(None, dtype=pl.String).alias("_polarity"))
    _check_polarity(polarity)
    return _join_subset(points, keys, polarity, ["polarity"])


def _neighbour(expr: pl.Expr, offset: int) -> pl.Expr:
    """`expr` on the point `offset` rows away (negative: later) if it is in the same block, else null.

    Being in the same block means consecutive observed months of the same
    segment, so a moving range or a run can never reach across a gap or a
    re-base.
    """
    block = pl.col(BLOCK)
    return pl.when(block.shift(offset) == block).then(expr.shift(offset))


def _run_length(expr: pl.Expr) -> pl.Expr:
    """The length of the run of equal values of `expr` (never null) each point belongs to, within its block."""
    return pl.len().over(pl.struct(pl.col(BLOCK), expr).rle_id())


def _with_limits(points: pl.DataFrame, settings: SpcSettings) -> pl.DataFrame:
    """Add the moving range, mean, mean moving range, limits and sigma of each segment.

    The mean and mean MR come from the baseline: the first `baseline_points`
    observed points of the segment, or all of them.  With screening (MDC's
    optional step), moving ranges of 3.267 x the first mean MR or more are
    dropped (NHSRplotthedots keeps only those below) and the mean MR
    recomputed once, so one wild month does not widen the limits enough to
    hide itself.

    A segment too short to estimate limits (`_with_label`) has no baseline,
    so its mean, limits and sigma are missing as they are worked out, not
    blanked afterwards (five more columns of millions of points).
    """
    x = pl.col(X)
    in_baseline = x.is_not_null() & (pl.col("_label") >= LABELS.index("constant"))
    if settings.baseline_points is not None:
        in_baseline &= x.is_not_null().cum_sum().over(SEGMENT) <= settings.baseline_points
    points = points.with_columns((x - _neighbour(x, 1)).abs().alias("mr"), in_baseline.alias("_baseline"))
    baseline_mr = pl.when(pl.col("_baseline")).then(pl.col("mr"))
    points = points.with_columns(
        pl.when(pl.col("_baseline")).then(x).mean().over(SEGMENT).alias("mean"),
        baseline_mr.mean().over(SEGMENT).alias("mr_mean"),
    )
    if settings.screen_moving_ranges:
        usual = baseline_mr < screen_cutoff(pl.col("mr_mean"))
        points = points.with_columns(pl.when(usual).then(baseline_mr).mean().over(SEGMENT).alias("mr_mean"))
    lower, upper, sigma = limits(pl.col("mean"), pl.col("mr_mean"))
    return points.with_columns(lower.alias("lower"), upper.alias("upper"), sigma.alias("sigma"))


def _with_label(points: pl.DataFrame, settings: SpcSettings) -> pl.DataFrame:
    """Label each segment `no_data`, `too_short`, `constant` or `ok`; only `ok` is tested for signals.

    Too few points cannot estimate limits, so those segments get no mean,
    limits or sigma (`_with_limits`).  A constant segment (every value equal, a mean MR of 0)
    keeps its mean as both limits but raises no signal: with zero-width limits
    every later wobble would otherwise be "outside".
    """
    x = pl.col(X)
    observed = x.count().over(SEGMENT)
    label = (
        pl.when(observed == 0)
        .then(0)
        .when(observed < settings.min_points)
        .then(1)
        .when(x.max().over(SEGMENT) == x.min().over(SEGMENT))
        .then(2)
        .otherwise(3)
    )
    points = points.with_columns(label.alias("_label"))
    return points.with_columns(_named(pl.col("_label"), LABELS).alias("label"))


def _with_rules(points: pl.DataFrame, settings: SpcSettings) -> pl.DataFrame:
    """Add the four MDC special-cause rules, flagging every point that takes part, and each rule's direction.

    - outside_limits: a point above the upper or below the lower limit; high
      or low by its side of the mean.
    - trend: `run_length` consecutive points all strictly rising or all
      strictly falling (a repeat value breaks it); high when rising, whichever
      side of the mean its points lie (NHSRplotthedots 0.2.2, its issue #171).
    - two_of_three: two of three consecutive points close to a limit (beyond
      2 sigma, 2/3 of the way from the mean to a limit, but inside it), all
      three on the same side of the mean (its issue #143); the close points
      are flagged, high or low by their side.
    - shift: `run_length` consecutive points all above or all below the mean; a
      point exactly on the mean breaks the run; high or low by side.
    Only segments labelled `ok` are tested.
    """
    x, mean, upper, lower = pl.col(X), pl.col("mean"), pl.col("upper"), pl.col("lower")
    n = settings.run_length
    outside = (x > upper) | (x < lower)
    zone = close_zone(pl.col("mr_mean"))
    points = points.with_columns(
        (x - mean).sign().fill_null(0).alias("_side"),
        (x - _neighbour(x, 1)).sign().fill_null(0).alias("_step"),
        ((x - mean).abs() > zone).and_(~outside).fill_null(False).alias("_close"),
    )
    side, step = pl.col("_side"), pl.col("_step")
    points = points.with_columns(
        ((step != 0) & (_run_length(step) >= n - 1)).alias("_in_trend_step"),
        _three_fire(pl.col("_close"), side).alias("_fires"),
        ((side != 0) & (_run_length(side) >= n)).alias("_shift"),
    )
    in_step = pl.col("_in_trend_step")
    # A point's trend direction is that of the step after it when that step is
    # part of a trend, else of the step into it: the reference's "right side
    # first", which decides the peak two opposite trends share.
    trend_step = pl.when(_neighbour(in_step, -1).fill_null(False)).then(_neighbour(step, -1)).otherwise(step)
    ok = pl.col("label") == "ok"
    return points.with_columns(
        (ok & outside).fill_null(False).alias("outside_limits"),
        (ok & (in_step | _neighbour(in_step, -1).fill_null(False))).alias("trend"),
        (ok & _two_of_three(pl.col("_close"), pl.col("_fires"))).alias("two_of_three"),
        (ok & pl.col("_shift")).alias("shift"),
        # Directions as booleans (True: high) rather than "high"/"low" strings:
        # only the one a point reports is spelt out, and string columns of
        # millions of rows would be most of the cost of this step.
        (side > 0).alias("_by_side_high"),
        (trend_step > 0).alias("_trend_high"),
    )


def _three_fire(close: pl.Expr, side: pl.Expr) -> pl.Expr:
    """True where a window of three consecutive points ends that has two or more close points, all three on
    one side of the mean.

    A window ends at each point and reaches back two points within the block,
    so it needs three consecutive observed months: two close points separated
    by a gap never count together, nor do points on opposite sides (or on the
    mean) of an otherwise qualifying window.
    """
    count = close.cast(pl.Int8) + sum(_neighbour(close, k).fill_null(False).cast(pl.Int8) for k in (1, 2))
    one_side = ((side != 0) & (_neighbour(side, 1) == side) & (_neighbour(side, 2) == side)).fill_null(False)
    return one_side & (count >= 2)


def _two_of_three(close: pl.Expr, fires: pl.Expr) -> pl.Expr:
    """Flag the close points of every window that fires (`_three_fire`, a column of its own: read three
    times here, it would otherwise be worked out three times)."""
    return close & (fires | _neighbour(fires, -1).fill_null(False) | _neighbour(fires, -2).fill_null(False))


def _with_signal(points: pl.DataFrame) -> pl.DataFrame:
    """Add the highest-priority rule a point fires, its direction and what that means given polarity.

    up_is_bad: high is a concern, low an improvement; down_is_bad the reverse;
    neutral (or no polarity): neither.  Each is worked out as a small integer
    and spelt out once (`_named`).
    """
    rule = pl.when(pl.col(RULES[0])).then(0)
    for i, name in enumerate(RULES[1:], start=1):
        rule = rule.when(pl.col(name)).then(i)
    points = points.with_columns(rule.alias("_rule"))
    # A trend is high or low by its direction, every other rule by the point's side of the mean.
    rule = pl.col("_rule")
    is_high = pl.when(rule == RULES.index("trend")).then(pl.col("_trend_high")).when(rule.is_not_null()).then(
        pl.col("_by_side_high")
    )
    points = points.with_columns(is_high.alias("_high"))
    polarity, high = pl.col("_polarity"), pl.col("_high")
    # 0: concern, 1: improvement, by whether high is bad for this indicator.
    assessment = pl.when(polarity == "up_is_bad").then(~high).when(polarity == "down_is_bad").then(high)
    return points.with_columns(
        _named(rule, RULES).alias("signal"),
        _named((~high).cast(pl.Int8), ("high", "low")).alias("direction"),
        _named(assessment.cast(pl.Int8), ("concern", "improvement")).alias("assessment"),
    )


def _named(code: pl.Expr, names: tuple[str, ...]) -> pl.Expr:
    """`names[code]` (null for a null code): a string column from a small integer, several times faster than
    a chain of string literals over millions of points."""
    return pl.lit(pl.Series(names)).gather(code)


def clamp_limits(points: pl.DataFrame, keys: list[str], bounds: pl.DataFrame | None) -> pl.DataFrame:
    """Clamp the stored limits to what the unit allows (`bounds`: floor, ceiling; null is no bound)."""
    if bounds is None:
        return points
    points = _join_subset(points, keys, bounds, ["floor", "ceiling"])
    lower, upper, floor, ceiling = pl.col("lower"), pl.col("upper"), pl.col("_floor"), pl.col("_ceiling")
    return points.with_columns(
        pl.when(floor > lower).then(floor).otherwise(lower).alias("lower"),
        pl.when(ceiling < upper).then(ceiling).otherwise(upper).alias("upper"),
    )


def _assurance(charted: pl.Expr) -> pl.Expr:
    """MDC assurance: where the target sits against the latest segment's process limits."""
    target, polarity = pl.col("_target"), pl.col("_polarity")
    lower_is_better = polarity == "up_is_bad"
    passing, failing = pl.lit("consistently_passing"), pl.lit("consistently_failing")
    return (
        pl.when(~charted | target.is_null() | ~polarity.is_in(["up_is_bad", "down_is_bad"]).fill_null(False))
        .then(None)
        .when(target > pl.col("upper"))  # the whole process runs below the target
        .then(pl.when(lower_is_better).then(passing).otherwise(failing))
        .when(target < pl.col("lower"))  # the whole process runs above the target
        .then(pl.when(lower_is_better).then(failing).otherwise(passing))
        .otherwise(pl.lit("hit_and_miss"))
    )
