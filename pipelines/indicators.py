"""Monthly indicator values from what agencies sent (pure polars, no I/O).

Three steps, each one statistical idea:

1. `count_records`: record-level feeds become monthly counts (rows or distinct
   values, optionally filtered and broken down), with explicit zeros for
   breakdown values that had no records in a month that was delivered.
2. `add_totals`: indicators sent by breakdown get a total row (breakdown "")
   computed here, because agencies never send totals.
3. `derive`: percentages, rates per 10,000 children and averages are computed
   from their numerator and denominator indicators (never typed in); a zero
   or missing denominator gives a missing value with a note, not a number.

`compute_indicators` chains them.  Every frame is long:
period (YYYY-MM), indicator, breakdown ("" = total), value, preceded by the
group keys `by`: none for one partnership, `["la_code"]` to compute many
authorities at once (a regional hub, or the national benchmark).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from radar.core.catalogue import POPULATION, UNIT_SCALE, Catalogue, FromRecords

KEYS = ["period", "indicator", "breakdown"]
BASE_SCHEMA = {"period": pl.String, "indicator": pl.String, "breakdown": pl.String, "value": pl.Float64}
RESULT_SCHEMA = BASE_SCHEMA | {"numerator": pl.Float64, "denominator": pl.Float64, "note": pl.String}


def count_records(
    catalogue: Catalogue, feed_id: str, records: pl.DataFrame, delivered: pl.DataFrame, by: Sequence[str] = ()
) -> pl.DataFrame:
    """Count a record feed's rows into its indicators for each delivered month.

    `records` holds the current rows of the feed with a `period` column;
    `delivered` ((`by`,) period) lists the months for which a current file
    exists, so a month whose file had no rows of some kind gets a true zero
    rather than nothing.

    The records are read once, not once per indicator: one group_by by month
    and every column an indicator breaks down or filters by gives the cells
    every row count is a sum of; distinct counts, which do not add up across
    cells, share a second group_by (only for feeds that have them).  The keys
    are grouped as categoricals (`_counted_cells`) and the small results are
    then shaped into (indicator, breakdown) rows.
    """
    by = list(by)
    keys = [*by, "period"]
    counted = [i for i in catalogue.indicators_of(feed_id) if i.from_records is not None]
    if not counted:
        return pl.DataFrame(schema={k: delivered.schema[k] for k in by} | BASE_SCHEMA)
    lazy = _categorical_keys(records.lazy(), keys)
    queries = _row_counts(lazy, [i for i in counted if i.from_records.count == "rows"], keys)
    queries += _distinct_counts(lazy, [i for i in counted if i.from_records.count == "distinct"], keys)
    found = pl.concat(pl.collect_all(queries), how="vertical").with_columns(
        [pl.col(k).cast(pl.String) for k in keys if records.schema[k] == pl.String]
    )
    wanted = pl.DataFrame(
        [(i.id, b) for i in counted for b in ("", *(catalogue.breakdown_values(i) if i.from_records.by else ()))],
        schema={"indicator": pl.String, "breakdown": pl.String}, orient="row",
    )
    grid = delivered.select(*by, pl.col("period").cast(pl.String)).join(wanted, how="cross")
    return (
        grid.join(found, on=[*keys, "indicator", "breakdown"], how="left")
        .with_columns(pl.col("value").fill_null(0).cast(pl.Float64))
        .select(*by, *BASE_SCHEMA)
    )


def _categorical_keys(records: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """The string keys as categoricals: grouping hashes each distinct string once, not once per row."""
    schema = records.collect_schema()
    return records.with_columns([pl.col(k).cast(pl.Categorical) for k in keys if schema[k] == pl.String])


def _where(spec: FromRecords) -> pl.Expr:
    """The rows an indicator counts (every row when it has no `where`)."""
    return pl.all_horizontal(
        [pl.lit(True), *(pl.col(column).is_in(list(allowed)) for column, allowed in spec.where.items())]
    )


def _long(frame: pl.LazyFrame, keys: list[str], indicator: pl.Expr, breakdown: pl.Expr) -> pl.LazyFrame:
    """One frame of counts in the long shape: keys, indicator, breakdown, value."""
    return frame.select(*keys, indicator=indicator, breakdown=breakdown, value=pl.col("value").cast(pl.Float64))


def _row_counts(records: pl.LazyFrame, indicators: list, keys: list[str]) -> list[pl.LazyFrame]:
    """Every row-count indicator and breakdown from one group_by into cells (sums of cell sizes)."""
    if not indicators:
        return []
    columns = sorted({c for i in indicators for c in (*i.from_records.where, i.from_records.by) if c})
    cells = records.group_by(*keys, *columns).agg(n=pl.len())
    parts = []
    for ind in indicators:
        spec = ind.from_records
        kept = cells.filter(_where(spec))
        total = kept.group_by(*keys).agg(value=pl.col("n").sum())
        parts.append(_long(total, keys, pl.lit(ind.id), pl.lit("")))
        if spec.by:
            split = kept.group_by(*keys, spec.by).agg(value=pl.col("n").sum())
            parts.append(_long(split, keys, pl.lit(ind.id), pl.col(spec.by).cast(pl.String)))
    return parts


def _distinct_counts(records: pl.LazyFrame, indicators: list, keys: list[str]) -> list[pl.LazyFrame]:
    """Distinct-count indicators: one group_by for every total, one per breakdown column."""
    def counts(group: list[str], inds: list) -> pl.LazyFrame:
        return records.group_by(*keys, *group).agg(
            pl.col(i.from_records.column).filter(_where(i.from_records)).n_unique().alias(i.id) for i in inds
        ).unpivot(index=[*keys, *group], variable_name="indicator", value_name="value")

    if not indicators:
        return []
    parts = [_long(counts([], indicators), keys, pl.col("indicator"), pl.lit(""))]
    for column in sorted({i.from_records.by for i in indicators if i.from_records.by}):
        split = counts([column], [i for i in indicators if i.from_records.by == column])
        parts.append(_long(split, keys, pl.col("indicator"), pl.col(column).cast(pl.String)))
    return parts


def add_totals(catalogue: Catalogue, observations: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Add the total row of every indicator sent by breakdown."""
    by = list(by)
    observations = observations.select(*by, *BASE_SCHEMA).cast(BASE_SCHEMA)
    broken_down = [i.id for i in catalogue.indicators if i.is_sent and catalogue.dimension_of[i.id]]
    totals = (
        observations.filter(pl.col("indicator").is_in(broken_down))
        .group_by(*by, "period", "indicator")
        .agg(pl.col("value").sum())
        .with_columns(breakdown=pl.lit(""))
        .select(*by, *BASE_SCHEMA)
    )
    return pl.concat([observations, totals])


def derivations(catalogue: Catalogue) -> pl.DataFrame:
    """One row per derived indicator: its inputs, scale and whether it keeps breakdowns."""
    rows = [
        {
            "indicator": i.id,
            "numerator_id": i.derived.numerator,
            "denominator_id": i.derived.denominator,
            "scale": UNIT_SCALE[i.unit],
            "by_breakdown": catalogue.dimension_of[i.id] is not None,
            "denominator_by_breakdown": i.derived.denominator != POPULATION
            and catalogue.dimension_of[i.derived.denominator] is not None,
        }
        for i in catalogue.indicators
        if i.derived
    ]
    return pl.DataFrame(
        rows,
        schema={"indicator": pl.String, "numerator_id": pl.String, "denominator_id": pl.String,
                "scale": pl.Float64, "by_breakdown": pl.Boolean, "denominator_by_breakdown": pl.Boolean},
    )


def derive(catalogue: Catalogue, base: pl.DataFrame, population: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Compute every derived indicator from `base` (counts incl. totals) and the child population.

    `population` has columns (`by`,) period, population, population_year and
    carried_forward (bool): a rate that used a carried-forward estimate says so.
    """
    by = list(by)
    spec = derivations(catalogue)
    numerators = spec.join(
        base.rename({"indicator": "numerator_id", "value": "numerator"}), on="numerator_id"
    ).filter(pl.col("by_breakdown") | (pl.col("breakdown") == ""))
    population_rows = population.select(
        *by,
        "period",
        pl.lit(POPULATION).alias("denominator_id"),
        pl.col("population").cast(pl.Float64).alias("denominator"),
        pl.when(pl.col("carried_forward"))
        .then(pl.format("child population: mid-{} estimate carried forward", pl.col("population_year")))
        .otherwise(pl.lit(""))
        .alias("population_note"),
    )
    denominators = base.select(
        *by, "period", pl.col("indicator").alias("denominator_id"), "breakdown", pl.col("value").alias("denominator")
    )
    by_breakdown = numerators.filter(pl.col("denominator_by_breakdown")).join(
        denominators, on=[*by, "period", "denominator_id", "breakdown"], how="left"
    )
    on_total = numerators.filter(~pl.col("denominator_by_breakdown") & (pl.col("denominator_id") != POPULATION)).join(
        denominators.filter(pl.col("breakdown") == "").drop("breakdown"), on=[*by, "period", "denominator_id"],
        how="left",
    )
    on_population = numerators.filter(pl.col("denominator_id") == POPULATION).join(
        population_rows, on=[*by, "period", "denominator_id"], how="left"
    )
    joined = pl.concat([by_breakdown, on_total, on_population], how="diagonal")
    if "population_note" not in joined.columns:
        joined = joined.with_columns(population_note=pl.lit(""))
    return joined.select(
        *by,
        "period",
        "indicator",
        "breakdown",
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator") * pl.col("scale"))
        .otherwise(None)
        .alias("value"),
        "numerator",
        "denominator",
        pl.when(pl.col("denominator").is_null())
        .then(pl.format("no {} for this month", pl.col("denominator_id")))
        .when(pl.col("denominator") == 0)
        .then(pl.format("{} is zero: no rate", pl.col("denominator_id")))
        .otherwise(pl.col("population_note").fill_null(""))
        .alias("note"),
    )


def compute_indicators(
    catalogue: Catalogue,
    observations: pl.DataFrame,
    records: dict[str, pl.DataFrame],
    delivered: dict[str, pl.DataFrame],
    population: pl.DataFrame,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """Every indicator value the delivered data supports, as one long frame sorted by series and month.

    `observations`: current aggregate rows ((`by`,) period, indicator,
    breakdown, value); `records`: current rows of each record feed;
    `delivered`: for each record feed, the ((`by`,) period) it has a current
    file for; `population`: see `derive`.
    """
    by = list(by)
    counted = [count_records(catalogue, feed_id, frame, delivered[feed_id], by) for feed_id, frame in records.items()]
    base = pl.concat([add_totals(catalogue, observations, by), *counted])
    values = base.with_columns(
        numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64), note=pl.lit("")
    )
    derived = derive(catalogue, base, population, by)
    return pl.concat([values, derived]).select(*by, *RESULT_SCHEMA).sort(*by, *KEYS)
