"""The national Signals computation as idiomatic vectorised pandas: the reference Radar is timed against.

It takes the same frames as bench/national_signals.py (converted with
`to_pandas`, so strings are pandas 3's Arrow-backed `str`) and computes the
same numbers: record counts with explicit zeros, totals, derived indicators,
the seasonal baseline, XmR limits (clamped to what each unit allows) and the
four MDC rules as NHSRplotthedots 0.2.2 has them, the summary, and the
concerns and improvements at the latest month.  It is written the way a
pandas user would write it for speed: groupby / transform / merge / shift over
the whole frame, the records' grouping columns as `category` and counted in
one groupby, series numbered once and windows keyed on integers, no Python
loop per series or per authority (the only loops are over catalogue
indicators, as in the polars path).  bench/national.py asserts both paths
agree on a sample before timing them.

It covers what the benchmark charts: no re-bases, no moving-range screening,
no fixed baseline, no targets (so no assurance icon).  Alert selection stops at
the rows that fire; Radar additionally writes each alert's message (a cost the
polars path carries and this one does not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.stopwatch import direct
from radar.core.alert_settings import AlertSettings, SpcSettings
from radar.core.catalogue import POPULATION, Catalogue
from radar.pipelines.charting import UNIT_BOUNDS
from radar.pipelines.indicators import derivations
from radar.pipelines.spc import D2, LIMIT_FACTOR, RULES

KEYS = ["la_code", "indicator", "breakdown"]
CELL = ["la_code", "period"]
VALUE_COLUMNS = [*CELL, "indicator", "breakdown", "value", "numerator", "denominator", "note"]


def month_index(period: pd.Series) -> pd.Series:
    """"YYYY-MM" as months since year 0, so consecutive months differ by 1."""
    return period.str.slice(0, 4).astype("int32") * 12 + period.str.slice(5, 7).astype("int32") - 1


# --- Indicators -------------------------------------------------------------------------


def count_records(catalogue: Catalogue, feed_id: str, records: pd.DataFrame, delivered: pd.DataFrame) -> pd.DataFrame:
    """Each record indicator per authority and delivered month, with explicit zeros.

    As a pandas user counting 20 million rows would: the grouping columns as
    `category` (each string hashed once), one groupby into cells that every
    row count is a sum of, one `nunique` groupby per breakdown of the distinct
    counts, and the rest on the small frames.
    """
    specs = [(ind, ind.from_records) for ind in catalogue.indicators_of(feed_id) if ind.from_records]
    columns = sorted({c for _, spec in specs for c in (spec.by, *spec.where) if c})
    coded = records[[*CELL, *columns]].astype("category")
    cells = coded.groupby([*CELL, *columns], observed=True, sort=False).size().rename("n").reset_index()
    frames = []
    for ind, spec in specs:
        parts = [_zero_filled(_counted(spec, cells, records, coded, CELL), delivered, CELL).assign(breakdown="")]
        if spec.by:
            grid = delivered.merge(pd.DataFrame({"breakdown": catalogue.breakdown_values(ind)}), how="cross")
            split = _counted(spec, cells, records, coded, [*CELL, spec.by]).rename_axis([*CELL, "breakdown"])
            parts.append(_zero_filled(split, grid, [*CELL, "breakdown"]))
        frames += [part.assign(indicator=ind.id) for part in parts]
    return pd.concat(frames, ignore_index=True)


def _counted(spec, cells: pd.DataFrame, records: pd.DataFrame, coded: pd.DataFrame, keys: list[str]) -> pd.Series:
    """One indicator's count by `keys` (the cell, or the cell and its breakdown): a sum of cells, or distinct values."""
    if spec.count == "rows":
        return cells[_where(cells, spec)].groupby(keys, observed=True)["n"].sum()
    values, groups = records[spec.column], coded[keys]
    if spec.where:
        kept = _where(coded, spec)
        values, groups = values[kept], groups[kept]
    return values.groupby([groups[k] for k in keys], observed=True).nunique()


def _where(frame: pd.DataFrame, spec) -> pd.Series:
    """The rows an indicator counts."""
    kept = pd.Series(True, index=frame.index)
    for column, allowed in spec.where.items():
        kept &= frame[column].isin(allowed)
    return kept


def _zero_filled(counted: pd.Series, grid: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`counted` (indexed by `keys`) on every row of `grid`, zero where nothing was counted."""
    counted = counted.rename("value").reset_index()
    counted[keys] = counted[keys].astype({k: grid[k].dtype for k in keys})
    out = grid.merge(counted, on=keys, how="left")
    return out.assign(value=out["value"].fillna(0).astype("float64"))


def add_totals(catalogue: Catalogue, observations: pd.DataFrame) -> pd.DataFrame:
    broken_down = [i.id for i in catalogue.indicators if i.is_sent and catalogue.dimension_of[i.id]]
    totals = (
        observations[observations["indicator"].isin(broken_down)]
        .groupby([*CELL, "indicator"], sort=False)["value"].sum()
        .reset_index()
        .assign(breakdown="")
    )
    return pd.concat([observations, totals], ignore_index=True)


def derive(catalogue: Catalogue, base: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    spec = derivations(catalogue).to_pandas()
    numerators = spec.merge(base.rename(columns={"indicator": "numerator_id", "value": "numerator"}), on="numerator_id")
    numerators = numerators[numerators["by_breakdown"] | (numerators["breakdown"] == "")]
    population_rows = population[CELL].assign(
        denominator_id=POPULATION,
        denominator=population["population"].astype("float64"),
        population_note=np.where(
            population["carried_forward"],
            "child population: mid-" + population["population_year"].astype(str) + " estimate carried forward",
            "",
        ),
    )
    denominators = base.rename(columns={"indicator": "denominator_id", "value": "denominator"})
    own_breakdown = numerators["denominator_by_breakdown"]
    on_population = numerators["denominator_id"] == POPULATION
    joined = pd.concat([
        numerators[own_breakdown].merge(denominators, on=[*CELL, "denominator_id", "breakdown"], how="left"),
        numerators[~own_breakdown & ~on_population].merge(
            denominators[denominators["breakdown"] == ""].drop(columns="breakdown"),
            on=[*CELL, "denominator_id"], how="left",
        ),
        numerators[on_population].merge(population_rows, on=[*CELL, "denominator_id"], how="left"),
    ], ignore_index=True)
    denominator = joined["denominator"]
    return joined.assign(
        value=(joined["numerator"] / denominator * joined["scale"]).where(denominator > 0),
        note=np.select(
            [denominator.isna(), denominator == 0],
            ["no " + joined["denominator_id"] + " for this month", joined["denominator_id"] + " is zero: no rate"],
            joined["population_note"].fillna(""),
        ),
    )[VALUE_COLUMNS]


def compute_indicators(
    catalogue: Catalogue,
    observations: pd.DataFrame,
    records: dict[str, pd.DataFrame],
    delivered: dict[str, pd.DataFrame],
    population: pd.DataFrame,
    run=direct,
) -> pd.DataFrame:
    counted = [
        run("count records", count_records, catalogue, feed_id, frame, delivered[feed_id])
        for feed_id, frame in records.items()
    ]
    base = pd.concat([run("add totals", add_totals, catalogue, observations), *counted], ignore_index=True)
    values = base.assign(numerator=np.nan, denominator=np.nan, note="")
    return pd.concat([values, run("derive", derive, catalogue, base, population)], ignore_index=True)[VALUE_COLUMNS]


# --- SPC --------------------------------------------------------------------------------


def sorted_series(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted by series and month, with the month count and an integer id per series."""
    out = frame.assign(month=month_index(frame["period"])).sort_values([*KEYS, "month"], ignore_index=True)
    return out.assign(series=(out[KEYS] != out[KEYS].shift()).any(axis=1).cumsum())


def seasonal_baseline(values: pd.DataFrame, years: int = 3) -> pd.DataFrame:
    """`pipelines.seasonal.seasonal_baseline`: the value less the same month's mean over the previous `years`
    years (at least two of them), plus the series' mean expectation."""
    out = sorted_series(values)
    earlier = pd.concat(
        [out[["series", "month", "value"]].assign(month=out["month"] + 12 * lag) for lag in range(1, years + 1)]
    )
    expected = earlier.groupby(["series", "month"])["value"].agg(["mean", "count"]).reset_index()
    out = out.merge(expected, on=["series", "month"], how="left")
    seasonal_expected = out["mean"].where(out["count"] >= 2)
    return out.assign(
        deseasonalised=out["value"] - seasonal_expected + seasonal_expected.groupby(out["series"]).transform("mean")
    )


def charted_values(catalogue: Catalogue, values: pd.DataFrame) -> pd.DataFrame:
    is_seasonal = values["indicator"].isin(catalogue.seasonal_ids)
    adjusted = seasonal_baseline(values[is_seasonal])
    return pd.concat([
        values.loc[~is_seasonal, [*KEYS, "period", "value"]],
        adjusted[[*KEYS, "period"]].assign(value=adjusted["deseasonalised"]),
    ], ignore_index=True)


def xmr(
    frame: pd.DataFrame,
    settings: SpcSettings,
    polarity: dict[str, str],
    bounds: dict[str, tuple[float, float | None]] | None = None,
) -> pd.DataFrame:
    """XmR limits, label, the four MDC rules and the signal of every point, as `pipelines.spc.xmr` defines them.

    `bounds` maps an indicator to its (floor, ceiling): the stored limits are
    clipped to them, the rules judged against the limits as computed.  Only
    MDC's default limits (every point, no screening): the shipped settings.
    """
    if settings.screen_moving_ranges or settings.baseline_points is not None:
        raise ValueError("the pandas reference charts with MDC's default limits only (radar/core/alerts.yaml: "
                         "screen_moving_ranges false, baseline_points null)")
    points = sorted_series(frame)
    x, series = points["value"], points["series"]
    has = x.notna()
    continues = (series == series.shift()) & (points["month"].diff() == 1) & has & has.shift(fill_value=False)
    block = (~continues).cumsum()

    def neighbour(values: pd.Series, offset: int, fill) -> pd.Series:
        """`values` `offset` rows away (negative: later) within the same block, else `fill`."""
        return values.shift(offset, fill_value=fill).where(block.shift(offset, fill_value=-1) == block, fill)

    def run_length(values: pd.Series) -> pd.Series:
        run = ((block != block.shift()) | (values != values.shift())).cumsum()
        return run.groupby(run).transform("size")

    mr = (x - neighbour(x, 1, np.nan)).abs()
    by_series = x.groupby(series)
    observed = by_series.transform("count")
    label = pd.Series(np.select(
        [observed == 0, observed < settings.min_points, by_series.transform("max") == by_series.transform("min")],
        ["no_data", "too_short", "constant"], "ok",
    ))
    estimable = ~label.isin(["no_data", "too_short"])
    mean = by_series.transform("mean").where(estimable)
    mr_mean = mr.groupby(series).transform("mean").where(estimable)
    upper, lower = mean + LIMIT_FACTOR * mr_mean, mean - LIMIT_FACTOR * mr_mean

    n = settings.run_length
    side = np.sign(x - mean).fillna(0)
    step = np.sign(x - neighbour(x, 1, np.nan)).fillna(0)
    outside = (x > upper) | (x < lower)
    close = ((x - mean).abs() > 2 / 3 * LIMIT_FACTOR * mr_mean) & ~outside
    in_step = (step != 0) & (run_length(step) >= n - 1)
    ok = label == "ok"
    rules = [
        ok & outside,
        ok & (in_step | neighbour(in_step, -1, False)),
        ok & _two_of_three(close, side, neighbour),
        ok & (side != 0) & (run_length(side) >= n),
    ]
    # A trend is high when rising (the step after a point if that step is in a trend, else the one into it);
    # every other rule by the point's side of the mean.
    trend_step = neighbour(step, -1, 0).where(neighbour(in_step, -1, False), step)
    by_side = np.where(side > 0, "high", "low")
    directions = [by_side, np.where(trend_step > 0, "high", "low"), by_side, by_side]
    direction = pd.Series(np.select(rules, directions, None))
    polarity_of = points["indicator"].map(polarity)
    high = direction == "high"
    assessment = np.select(
        [direction.isna(), polarity_of == "up_is_bad", polarity_of == "down_is_bad"],
        [None, np.where(high, "concern", "improvement"), np.where(high, "improvement", "concern")],
        None,
    )
    if bounds is not None:
        indicator = points["indicator"]
        floors = {k: floor for k, (floor, _) in bounds.items()}
        ceilings = {k: ceiling for k, (_, ceiling) in bounds.items() if ceiling is not None}
        lower, upper = lower.clip(lower=indicator.map(floors)), upper.clip(upper=indicator.map(ceilings))
    return points.assign(
        segment=0, label=label, mean=mean, mr=mr, mr_mean=mr_mean, lower=lower, upper=upper, sigma=mr_mean / D2,
        **dict(zip(RULES, rules)), signal=np.select(rules, RULES, None), direction=direction, assessment=assessment,
    )


def _two_of_three(close: pd.Series, side: pd.Series, neighbour) -> pd.Series:
    """Close points in a window of three consecutive points, at least two close, all on one side of the mean."""
    count = close.astype(int) + neighbour(close, 1, False).astype(int) + neighbour(close, 2, False).astype(int)
    one_side = (side != 0) & (neighbour(side, 1, 0) == side) & (neighbour(side, 2, 0) == side)
    fires = one_side & (count >= 2)
    return close & (fires | neighbour(fires, -1, False) | neighbour(fires, -2, False))


def summarise(points: pd.DataFrame) -> pd.DataFrame:
    """Each series' latest point with a value, and its MDC variation icon."""
    latest = (
        points.assign(has_value=points["value"].notna())
        .sort_values([*KEYS, "has_value", "month"])
        .drop_duplicates(KEYS, keep="last")
    )
    variation = np.select(
        [~latest["label"].isin(["ok", "constant"]), latest["signal"].isna()],
        [None, "common_cause"],
        "special_cause_" + latest["assessment"].fillna("neither") + "_" + latest["direction"],
    )
    columns = [*KEYS, "period", "value", "label", "variation", "assurance"]
    return latest.assign(variation=variation, assurance=None)[columns]


def firing(points: pd.DataFrame, period: str, alert_on_breakdowns: bool) -> pd.DataFrame:
    """The points at `period` whose signal is a concern or an improvement: what `spc_signals` turns into alerts."""
    chosen = (
        (points["period"] == period) & (points["label"] == "ok") & points["signal"].notna()
        & points["assessment"].isin(["concern", "improvement"])
    )
    if not alert_on_breakdowns:
        chosen &= points["breakdown"] == ""
    return points.loc[chosen, [*KEYS, "signal", "assessment"]]


def signals(
    catalogue: Catalogue, settings: AlertSettings, values: pd.DataFrame, period: str, run=direct
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(points, summary, firing) for every authority's series, stage by stage as in the polars path."""
    polarity = {i.id: i.polarity for i in catalogue.indicators}
    bounds = {i.id: UNIT_BOUNDS[i.unit] for i in catalogue.indicators}
    charted = run("seasonal baseline", charted_values, catalogue, values)
    points = run("xmr", xmr, charted, settings.spc_settings(), polarity, bounds)
    summary = run("summarise", summarise, points)
    return points, summary, run("alerts", firing, points, period, settings.spc.alert_on_breakdowns)
