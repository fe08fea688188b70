"""Radar's monthly Signals computation for every local authority at once (polars).

`pipelines.indicators` works on one partnership's frames: its group-bys and
joins are keyed on period, indicator and breakdown, and `add_totals` even
selects away any other column, so an extra `la_code` column would be dropped
or cross-joined between authorities.  `count_records`, `add_totals` and
`derive` below are the same polars expressions with extra group keys (`by`);
tests/test_bench_national.py checks that they give, authority by authority,
exactly what `pipelines.indicators.compute_indicators` gives.  If the
pipeline took `by` itself, these three would go.

SPC, the series summary and the alert rule are the real pipeline functions:
`pipelines.seasonal.seasonal_baseline`, `pipelines.spc.xmr` and `summarise`
take the series keys as an argument, so (la_code, indicator, breakdown) runs
every authority's charts in one frame; `pipelines.alert_rules.spc_signals`
is called once per authority (its scope) on that authority's points.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from bench.stopwatch import direct
from pipelines.alert_rules import spc_signals
from pipelines.alert_settings import AlertSettings
from pipelines.indicators import BASE_SCHEMA, RESULT_SCHEMA, _derivations
from pipelines.seasonal import seasonal_baseline
from pipelines.spc import summarise, xmr
from radar.catalogue import POPULATION, Catalogue

BY = ["la_code"]
SERIES_KEYS = [*BY, "indicator", "breakdown"]
BASE_COLUMNS = [*BY, *BASE_SCHEMA]


@dataclass(frozen=True)
class Signals:
    """The outputs of one national run: SPC points, one summary row per series, concerns and improvements."""

    points: pl.DataFrame
    summary: pl.DataFrame
    concerns: pl.DataFrame
    improvements: pl.DataFrame


def count_records(catalogue: Catalogue, feed_id: str, records: pl.DataFrame, delivered: pl.DataFrame) -> pl.DataFrame:
    """`pipelines.indicators.count_records` per authority: `delivered` holds (la_code, period) of current files."""
    frames = []
    month_grid = delivered.select(*BY, "period")
    for ind in catalogue.indicators_of(feed_id):
        spec = ind.from_records
        if spec is None:
            continue
        rows = records
        for column, allowed in spec.where.items():
            rows = rows.filter(pl.col(column).is_in(list(allowed)))
        measure = pl.len() if spec.count == "rows" else pl.col(spec.column).n_unique()
        total = month_grid.join(
            rows.group_by(*BY, "period").agg(measure.alias("value")), on=[*BY, "period"], how="left"
        )
        parts = [total.with_columns(breakdown=pl.lit(""))]
        if spec.by:
            grid = month_grid.join(pl.DataFrame({"breakdown": catalogue.breakdown_values(ind)}), how="cross")
            by = rows.group_by(*BY, "period", pl.col(spec.by).alias("breakdown")).agg(measure.alias("value"))
            parts.append(grid.join(by, on=[*BY, "period", "breakdown"], how="left"))
        frames += [p.with_columns(indicator=pl.lit(ind.id)) for p in parts]
    return (
        pl.concat(frames, how="diagonal")
        .with_columns(pl.col("value").fill_null(0).cast(pl.Float64))
        .select(BASE_COLUMNS)
    )


def add_totals(catalogue: Catalogue, observations: pl.DataFrame) -> pl.DataFrame:
    """`pipelines.indicators.add_totals` per authority."""
    observations = observations.select(BASE_COLUMNS).cast(BASE_SCHEMA)
    broken_down = [i.id for i in catalogue.indicators if i.is_sent and catalogue.dimension_of[i.id]]
    totals = (
        observations.filter(pl.col("indicator").is_in(broken_down))
        .group_by(*BY, "period", "indicator")
        .agg(pl.col("value").sum())
        .with_columns(breakdown=pl.lit(""))
        .select(BASE_COLUMNS)
    )
    return pl.concat([observations, totals])


def derive(catalogue: Catalogue, base: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """`pipelines.indicators.derive` per authority: `population` has la_code besides its usual columns."""
    spec = _derivations(catalogue)
    numerators = spec.join(
        base.rename({"indicator": "numerator_id", "value": "numerator"}), on="numerator_id"
    ).filter(pl.col("by_breakdown") | (pl.col("breakdown") == ""))
    population_rows = population.select(
        *BY,
        "period",
        pl.lit(POPULATION).alias("denominator_id"),
        pl.col("population").cast(pl.Float64).alias("denominator"),
        pl.when(pl.col("carried_forward"))
        .then(pl.format("child population: mid-{} estimate carried forward", pl.col("population_year")))
        .otherwise(pl.lit(""))
        .alias("population_note"),
    )
    denominators = base.select(
        *BY, "period", pl.col("indicator").alias("denominator_id"), "breakdown", pl.col("value").alias("denominator")
    )
    by_breakdown = numerators.filter(pl.col("denominator_by_breakdown")).join(
        denominators, on=[*BY, "period", "denominator_id", "breakdown"], how="left"
    )
    on_total = numerators.filter(~pl.col("denominator_by_breakdown") & (pl.col("denominator_id") != POPULATION)).join(
        denominators.filter(pl.col("breakdown") == "").drop("breakdown"),
        on=[*BY, "period", "denominator_id"],
        how="left",
    )
    on_population = numerators.filter(pl.col("denominator_id") == POPULATION).join(
        population_rows, on=[*BY, "period", "denominator_id"], how="left"
    )
    joined = pl.concat([by_breakdown, on_total, on_population], how="diagonal")
    return joined.select(
        *BY,
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
    run=direct,
) -> pl.DataFrame:
    """`pipelines.indicators.compute_indicators` per authority, left unsorted (`xmr` sorts what it charts)."""
    counted = [
        run("count records", count_records, catalogue, feed_id, frame, delivered[feed_id])
        for feed_id, frame in records.items()
    ]
    base = pl.concat([run("add totals", add_totals, catalogue, observations), *counted])
    values = base.with_columns(
        numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64), note=pl.lit("")
    )
    return pl.concat([values, run("derive", derive, catalogue, base, population)]).select(*BY, *RESULT_SCHEMA)


def charted_values(catalogue: Catalogue, values: pl.DataFrame) -> pl.DataFrame:
    """The series SPC runs on, as `flows.signals.charted_values` makes them: seasonal indicators deseasonalised."""
    seasonal = [i.id for i in catalogue.indicators if i.seasonal]
    adjusted = seasonal_baseline(values.filter(pl.col("indicator").is_in(seasonal)), SERIES_KEYS)
    return pl.concat([
        values.filter(~pl.col("indicator").is_in(seasonal)).select(*SERIES_KEYS, "period", "value"),
        adjusted.select(*SERIES_KEYS, "period", pl.col("deseasonalised").alias("value")),
    ])


def polarities(catalogue: Catalogue) -> pl.DataFrame:
    return pl.DataFrame({
        "indicator": [i.id for i in catalogue.indicators], "polarity": [i.polarity for i in catalogue.indicators],
    })


def alerts(
    catalogue: Catalogue, settings: AlertSettings, points: pl.DataFrame, period: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`spc_signals` (concerns, improvements) at `period` for each authority, on the series that may alert."""
    alerting = points if settings.spc.alert_on_breakdowns else points.filter(pl.col("breakdown") == "")
    found = [
        spc_signals(frame, catalogue, period, la_code, settings)
        for (la_code,), frame in alerting.partition_by("la_code", as_dict=True).items()
    ]
    return pl.concat([c for c, _ in found]).sort("key"), pl.concat([i for _, i in found]).sort("key")


def signals(catalogue: Catalogue, settings: AlertSettings, values: pl.DataFrame, period: str, run=direct) -> Signals:
    """SPC over every series (no re-bases: they are each partnership's own), its summary, and the alerts at `period`."""
    charted = run("seasonal baseline", charted_values, catalogue, values)
    points = run("xmr", xmr, charted, SERIES_KEYS, settings.spc_settings(), polarities(catalogue))
    summary = run("summarise", summarise, points, SERIES_KEYS)
    concerns, improvements = run("alerts", alerts, catalogue, settings, points, period)
    return Signals(points, summary, concerns, improvements)
