"""Radar's monthly Signals computation for every local authority at once (polars).

The indicator steps are the pipeline's own (`pipelines.indicators` with
`by=["la_code"]`), timed stage by stage.

SPC, the series summary and the alert rule are the real pipeline functions:
`pipelines.seasonal.seasonal_baseline`, `pipelines.spc.xmr` and `summarise`
take the series keys as an argument, so (la_code, indicator, breakdown) runs
every authority's charts in one frame; `pipelines.alerts.spc.spc_signals`
takes each series' authority as its scope (`scope_by`).

`full` runs all of it on the authorities split into one shard per core, each
in a thread of its own: every step works on each authority's series alone,
so the shards' results put together are the whole run's, while a single
frame of every authority left a core idle through polars' one-threaded
passes (shifts, runs, sorts and the like): the seasonal baseline and XmR
took a fifth less wall time in two shards on two cores.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from itertools import pairwise

import polars as pl

from bench.stopwatch import direct
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines.alerts.spc import spc_signals
from radar.pipelines.charting import charted_values, limit_bounds, polarities
from radar.pipelines.indicators import RESULT_SCHEMA, add_totals, count_records, derive
from radar.pipelines.seasonal import next_seasonal_month
from radar.pipelines.spc import summarise, xmr
from radar.pipelines.spc_state import (
    ChartState,
    materialise,
    translate,
    translate_points,
    update,
    with_segment_columns,
)

BY = ["la_code"]
SERIES_KEYS = [*BY, "indicator", "breakdown"]
SHARDS = os.cpu_count() or 1


@dataclass(frozen=True)
class Signals:
    """The outputs of one national run: SPC points, one summary row per series, concerns and improvements."""

    points: pl.DataFrame
    summary: pl.DataFrame
    concerns: pl.DataFrame
    improvements: pl.DataFrame


def full(
    catalogue: Catalogue, settings: AlertSettings, observations: pl.DataFrame, records: dict[str, pl.DataFrame],
    delivered: dict[str, pl.DataFrame], population: pl.DataFrame, period: str, run=direct, shards: int = SHARDS,
) -> tuple[pl.DataFrame, Signals]:
    """(values, signals) of every authority: `compute_indicators`, then `signals` at `period`, on `shards`
    shards of authorities at once, put together in authority order (see the module docstring)."""
    feeds = list(records)
    frames = [_sorted_by_authority(f) for f in (observations, population, *records.values(), *delivered.values())]
    cuts = _cuts(max(frames, key=len), shards)
    parts = zip(*(_by_authority(frame, cuts) for frame in frames))

    def shard(part: tuple[pl.DataFrame, ...]) -> tuple[pl.DataFrame, Signals]:
        own_observations, own_population, *rest = part
        values = compute_indicators(catalogue, own_observations, dict(zip(feeds, rest[:len(feeds)])),
                                    dict(zip(feeds, rest[len(feeds):])), own_population, run)
        return values, signals(catalogue, settings, values, period, run)

    with ThreadPoolExecutor(len(cuts) + 1) as threads:
        results = list(threads.map(shard, parts))
    points, summary, concerns, improvements = (pl.concat([getattr(s, f.name) for _, s in results])
                                               for f in fields(Signals))
    # Points and summary are in series order, and so are the shards; alerts come in key order (candidate_frame).
    together = Signals(points, summary, *(f.sort("key", maintain_order=True) for f in (concerns, improvements)))
    return pl.concat([values for values, _ in results]), together


def _cuts(frame: pl.DataFrame, shards: int) -> list[str]:
    """The first authority of each shard after the first: `frame` (sorted by authority; the largest, whose rows
    are most of the work) cut into `shards` nearly equal parts, at authorities' edges."""
    codes = frame.get_column("la_code")
    return sorted({codes[len(codes) * k // shards] for k in range(1, shards)} - {codes[0]}) if len(codes) else []


def _by_authority(frame: pl.DataFrame, cuts: list[str]) -> list[pl.DataFrame]:
    """`frame` in one slice per shard (no copy), each holding the authorities from its cut to the next."""
    frame = _sorted_by_authority(frame)
    ends = frame.get_column("la_code").search_sorted(pl.Series(cuts, dtype=pl.String)).to_list()
    edges = [0, *ends, frame.height]
    return [frame.slice(start, end - start) for start, end in pairwise(edges)]


def _sorted_by_authority(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` as it is when it says it is sorted by authority (the national history does,
    bench/national_data.py: checking 20 million codes took 4% of the run), else sorted."""
    return frame if frame.get_column("la_code").flags["SORTED_ASC"] else frame.sort("la_code", maintain_order=True)


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
    """`spc_signals` (concerns, improvements) at `period`, each authority its own scope, in one call."""
    return spc_signals(points, catalogue, period, "", settings, scope_by="la_code")


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
    catalogue: Catalogue, settings: AlertSettings, state: ChartState, levels: pl.DataFrame, points: pl.DataFrame,
    values: pl.DataFrame, added: pl.DataFrame, period: str, run=direct,
) -> tuple[ChartState, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(state, seasonal levels, changed points, concerns, improvements) after one month's `added` values.

    `state`, `levels` (`seasonal.seasonal_levels`), `points` and `values` are
    the previous month's.  A seasonal series' new month moves its level, and
    with it every earlier adjusted value by one amount
    (`seasonal.next_seasonal_month`); its chart moves with them
    (`spc_state.translate`, `translate_points`: those points are changed
    rows).  Then every series takes its new point through `spc_state.update`.
    The alerts read the new month's points, and the history of only the
    series that fire.
    """
    is_seasonal = pl.col("indicator").is_in(catalogue.seasonal_ids)
    bounds = limit_bounds(catalogue)
    levels, adjusted = run(
        "seasonal baseline", next_seasonal_month,
        levels, values, added.filter(is_seasonal).select(*SERIES_KEYS, "period", "value"), SERIES_KEYS,
    )
    shifts = adjusted.select(*SERIES_KEYS, "level_shift")
    state, unsure = run("xmr", translate, state, shifts, SERIES_KEYS, bounds)
    moved = run("xmr", translate_points, points.filter(is_seasonal), shifts, SERIES_KEYS, bounds)
    charted = pl.concat([
        added.filter(~is_seasonal).select(*SERIES_KEYS, "period", "value"),
        adjusted.select(*SERIES_KEYS, "period", pl.col("deseasonalised").alias("value")),
    ])
    history = pl.concat([points.lazy().filter(~is_seasonal), moved.lazy()])
    state, changed = run(
        "xmr", update, state, charted, pl.concat([history.select(charted.columns), charted.lazy()]),
        SERIES_KEYS, settings.spc_settings(), polarities(catalogue), None, bounds, unsure,
    )
    moved = moved.join(changed, on=[*SERIES_KEYS, "period"], how="anti")
    changed = pl.concat([with_segment_columns(moved, state, SERIES_KEYS), changed])  # with their segment's new limits
    concerns, improvements = run("alerts", _fired, catalogue, settings, state, history, changed, period)
    return state, levels, changed, concerns, improvements


def _fired(
    catalogue: Catalogue, settings: AlertSettings, state: ChartState, history: pl.LazyFrame, changed: pl.DataFrame,
    period: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`alerts` on the whole (materialised) history of the series that signal at `period`; `history` is the
    points before `changed`."""
    firing = changed.filter(
        pl.col("period") == period, pl.col("signal").is_not_null(), pl.col("assessment").is_not_null()
    ).select(SERIES_KEYS)
    own = history.join(firing.lazy(), on=SERIES_KEYS, how="semi").collect()
    charts = materialise(own, state, changed.join(firing, on=SERIES_KEYS, how="semi"), SERIES_KEYS)
    return alerts(catalogue, settings, charts, period)
