"""Radar's monthly Signals computation for every local authority at once (polars).

The indicator steps are the pipeline's own (`pipelines.indicators` with
`by=["la_code"]`), timed stage by stage.

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
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines.alert_rules import spc_signals
from radar.pipelines.charting import charted_values, limit_bounds, polarities
from radar.pipelines.indicators import RESULT_SCHEMA, add_totals, count_records, derive
from radar.pipelines.seasonal import seasonal_baseline
from radar.pipelines.spc import summarise, xmr
from radar.pipelines.spc_state import ChartState, materialise, update

BY = ["la_code"]
SERIES_KEYS = [*BY, "indicator", "breakdown"]


@dataclass(frozen=True)
class Signals:
    """The outputs of one national run: SPC points, one summary row per series, concerns and improvements."""

    points: pl.DataFrame
    summary: pl.DataFrame
    concerns: pl.DataFrame
    improvements: pl.DataFrame


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
        run("count records", count_records, catalogue, feed_id, frame, delivered[feed_id], BY)
        for feed_id, frame in records.items()
    ]
    base = pl.concat([run("add totals", add_totals, catalogue, observations, BY), *counted])
    values = base.with_columns(
        numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64), note=pl.lit("")
    )
    return pl.concat([values, run("derive", derive, catalogue, base, population, BY)]).select(*BY, *RESULT_SCHEMA)


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
    charted = run("seasonal baseline", charted_values, catalogue, values, SERIES_KEYS)
    no_rebases = None
    points = run(
        "xmr", xmr, charted, SERIES_KEYS, settings.spc_settings(), polarities(catalogue), no_rebases,
        limit_bounds(catalogue),
    )
    summary = run("summarise", summarise, points, SERIES_KEYS)
    concerns, improvements = run("alerts", alerts, catalogue, settings, points, period)
    return Signals(points, summary, concerns, improvements)


def next_month(
    catalogue: Catalogue, settings: AlertSettings, state: ChartState, points: pl.DataFrame, values: pl.DataFrame,
    added: pl.DataFrame, period: str, run=direct,
) -> tuple[ChartState, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(state, changed points, concerns, improvements) after one month's `added` values, incrementally.

    `values` and `points` are the previous month's.  A seasonal indicator's
    adjusted history moves with every month (its series' mean expected level
    does), so its series are recomputed: seasonal baseline and XmR over their
    whole history.  Every other series goes through `spc_state.update`.  The
    alerts read the new month's points, and the history of only the series
    that fire.
    """
    seasonal = [i.id for i in catalogue.indicators if i.seasonal]
    is_seasonal = pl.col("indicator").is_in(seasonal)
    adjusted = run(
        "seasonal baseline", seasonal_baseline,
        pl.concat([values.filter(is_seasonal), added.filter(is_seasonal)]).select(*SERIES_KEYS, "period", "value"),
        SERIES_KEYS,
    ).select(*SERIES_KEYS, "period", pl.col("deseasonalised").alias("value"))
    history = pl.concat([
        values.lazy().filter(~is_seasonal).select(*SERIES_KEYS, "period", "value"),
        added.lazy().filter(~is_seasonal).select(*SERIES_KEYS, "period", "value"),
        adjusted.lazy(),
    ])
    state, changed = run(
        "xmr", update, state, added.filter(~is_seasonal).select(*SERIES_KEYS, "period", "value"), history,
        SERIES_KEYS, settings.spc_settings(), polarities(catalogue), None, limit_bounds(catalogue),
        adjusted.select(SERIES_KEYS).unique(),
    )
    concerns, improvements = run("alerts", _fired, catalogue, settings, state, points, changed, period)
    return state, changed, concerns, improvements


def _fired(
    catalogue: Catalogue, settings: AlertSettings, state: ChartState, points: pl.DataFrame, changed: pl.DataFrame,
    period: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`alerts` on the whole (materialised) history of the series that signal at `period`."""
    firing = changed.filter(
        pl.col("period") == period, pl.col("signal").is_not_null(), pl.col("assessment").is_not_null()
    ).select(SERIES_KEYS)
    own = points.join(firing, on=SERIES_KEYS, how="semi")
    charts = materialise(own, state, changed.join(firing, on=SERIES_KEYS, how="semi"), SERIES_KEYS)
    return alerts(catalogue, settings, charts, period)
