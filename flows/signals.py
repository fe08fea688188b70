"""Signals for the monthly cycle: SPC charts, series status, benchmarks and alerts.

Reads what the cycle stored, hands frames to the pure pipelines, and writes
the charts, the series' icons, the positive signals and the alerts' new state
(with every change of status audited) in one transaction.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Connection

from radar.core.config import Context
from radar.flows.incremental import Plan, refreshed, save_mark
from radar.flows.pull import unreachable
from radar.flows.runtime import context, engine, retry_on_io
from radar.models import alerts as alert_store
from radar.models import benchmarks as benchmark_store
from radar.models import bulk
from radar.models import charts as chart_store
from radar.models import indicators as indicator_store
from radar.models import register as register_store
from radar.models import submissions as submission_store
from radar.models.alerts import PositiveSignal
from radar.models.charts import EarlyWarning, SeriesStatus, SpcPoint, SpcSegment
from radar.pipelines import early_warning
from radar.pipelines.alerts import early_warning as early_warning_rule
from radar.pipelines.alerts import registry as alert_registry
from radar.pipelines.alerts.inhibition import held_feeds, hold_back
from radar.pipelines.alerts.lifecycle import STATE_SCHEMA, reconcile
from radar.pipelines.benchmarks import benchmark_comparison
from radar.pipelines.charting import charted_values, event_counts, limit_bounds, polarities
from radar.pipelines.feed_status import expected_submissions, feed_status
from radar.pipelines.seasonal import rolling_12, year_on_year
from radar.pipelines.spc import summarise, xmr
from radar.pipelines.spc_state import ChartState, chart_state, materialise, update

KEYS = ["indicator", "breakdown"]
ACTOR = "monthly_cycle"
SIGNIFICANT = 12
CHART_TABLES = {SpcPoint.__table__: [*KEYS, "period"], SpcSegment.__table__: [*KEYS, "segment"]}  # and their keys


def target_frame(ctx: Context) -> pl.DataFrame:
    """The partnership's local targets: indicator, value, year."""
    return pl.DataFrame(
        [{"indicator": k, "value": t.value, "year": t.year} for k, t in ctx.config.targets.items()],
        schema={"indicator": pl.String, "value": pl.Float64, "year": pl.String},
    )


def slow_drift(values: pl.DataFrame, period: str, summable: list[str]) -> pl.DataFrame:
    """Year-on-year change and the rolling-12-month total (of the `summable` indicators) at the cycle month."""
    latest = rolling_12(year_on_year(values, KEYS), KEYS, summable).filter(pl.col("period") == period)
    return latest.select(*KEYS, "yoy_change", "rolling_12_total")


def alert_records(conn, la_code: str, period: str, plan: Plan) -> dict[str, pl.DataFrame]:
    """The rows in force of the record feeds the alert rules read, for months up to `period`, with the columns
    they read and the month (`alert_registry.record_reads`: nothing here names a rule, a feed or a column).

    After a mark, its rows with the recomputed months read anew.  Months after
    `period` are left out, as they are of every other input of the cycle.
    """
    def read(feed: str, columns: tuple[str, ...], months: list[str] | None) -> pl.DataFrame:
        rows = submission_store.current_records(conn, la_code, feed, months,
                                                columns=dict.fromkeys([*columns, "period"]))
        return rows.filter(pl.col("period") <= period)

    reads = alert_registry.record_reads()
    if plan.records is None:
        return {feed: read(feed, columns, None) for feed, columns in reads.items()}
    return {feed: refreshed(plan.records[feed], plan.months, read(feed, columns, plan.months))
            for feed, columns in reads.items()}


def candidate_alerts(
    ctx: Context, conn, points, summary, reported, records, status, period: str, held: list[str], today: date,
    early: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every registered rule's candidates at `period` (held back where a feed is missing or rejected), and the improvements."""
    settings, la_code = ctx.alerts, ctx.la_code
    inputs = alert_registry.CycleInputs(
        catalogue=ctx.catalogue, settings=settings, period=period, scope=la_code, points=points,
        summary=summary, values=reported, targets=target_frame(ctx), comparison=benchmark_comparison(**benchmark_store.comparison_inputs(
            conn, la_code, ctx.config.partnership.old_la_code, ctx.config.neighbours_path()), period=period),
        feed_status=status, received=submission_store.current_periods(conn, la_code),
        records={feed: records[feed].select(columns) for feed, columns in alert_registry.record_reads().items()},
        risks=register_risks(ctx, conn), today=today, unreachable=unreachable(), early_warning=early,
    )
    candidates, improvements = alert_registry.run_checks(inputs)
    return hold_back(candidates, held), improvements


def register_risks(ctx: Context, conn) -> list[dict]:
    """The risk register the overdue-review and overdue-action rules read (the cycle seeded it; none without one)."""
    if ctx.config.risk_register is None:
        return []
    return register_store.read_risks(conn, ctx.la_code)


def current_feed_status(ctx: Context, conn: Connection, period: str, today: date) -> pl.DataFrame:
    """Each feed's status for `period`, as of `today` (none for a month before the first delivery).

    A month's status depends on that month's files alone, and the rules read
    only the cycle's month, so no other month's files are read.
    """
    due_days = {f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds}
    first = submission_store.first_period(conn, ctx.la_code) or period
    expected = expected_submissions(ctx.catalogue, due_days, max(first, period), period)  # empty if first > period
    return feed_status(expected, submission_store.submissions(conn, ctx.la_code, period), today)


def chart(ctx: Context, conn, values: pl.DataFrame, plan: Plan) -> tuple[pl.DataFrame, pl.DataFrame, ChartState]:
    """XmR points for every series, each series' icons judged against the local targets, and the chart state.

    With the last cycle's chart state, each series moves on from it
    (`spc_state.update`, equal to a full `xmr`): the new points are the
    recomputed months' values.  Seasonal series are recomputed whole (their
    adjusted history moves with every month), and so is a series that lost a
    month's value (a withdrawn file), which an update cannot express.
    """
    polarity = polarities(ctx.catalogue)
    rebases = chart_store.read_rebases(conn, ctx.la_code)
    settings, bounds = ctx.alerts.spc_settings(), limit_bounds(ctx.catalogue)
    charted = charted_values(ctx.catalogue, values, KEYS)
    if plan.state is None:
        points = xmr(charted, KEYS, settings, polarity, rebases, bounds=bounds)
        state = chart_state(points, KEYS, settings)
    else:
        new = charted.filter(pl.col("period").is_in(plan.months))
        seasonal = charted.filter(pl.col("indicator").is_in(ctx.catalogue.seasonal_ids))
        lost = plan.points.filter(pl.col("period").is_in(plan.months)).join(new, on=[*KEYS, "period"], how="anti")
        recompute = pl.concat([seasonal.select(KEYS), lost.select(KEYS)]).unique()
        state, changed = update(plan.state, new, charted, KEYS, settings, polarity, rebases, bounds, recompute)
        kept = plan.points.join(recompute, on=KEYS, how="anti")
        points = materialise(kept, state, changed, KEYS)
    # An updated chart's mean and limits come from running sums, a full one's from a fresh mean: they agree to
    # about 1e-15, so both are kept to 12 significant figures, and an incremental cycle stores what a full one does.
    points = points.with_columns(pl.col(c).round_sig_figs(SIGNIFICANT) for c in ("mean", "mr_mean", "lower", "upper", "sigma"))
    targets = target_frame(ctx).join(polarity, on="indicator").select("indicator", target="value", polarity="polarity")
    return points, summarise(points, KEYS, targets), state


def early_warning_states(ctx: Context, conn, reported: pl.DataFrame, period: str, plan: Plan) -> pl.DataFrame:
    """Each series' early-warning detector moved on to `period`, from the states the last cycle stored."""
    stored = chart_store.read_early_warning(conn, ctx.la_code)
    states = {(r["indicator"], r["breakdown"]): json.loads(r["state"]) for r in stored.iter_rows(named=True)}
    rebases = chart_store.read_rebases(conn, ctx.la_code)
    return early_warning_rule.series_states(ctx.catalogue, reported, states, rebases,
                                            period, plan.months, early_warning.settings_from(ctx.alerts),
                                            ctx.alerts.spc.alert_on_breakdowns)


def stored_rows(points: pl.DataFrame, table) -> pl.DataFrame:
    """XmR points (by month) as a chart table stores them: `spc_point` a row per month, `spc_segment` a row per
    segment with its mean, limits and label (the same on every point of it, so a new month rewrites one row, not
    all; its latest point's)."""
    columns = [c.name for c in table.columns if c.name not in ("id", "la_code")]
    return points.unique(CHART_TABLES[table], keep="last", maintain_order=True).select(columns)


def reported_values(conn: Connection, la_code: str, period: str, plan: Plan) -> pl.DataFrame:
    """The stored indicator values up to `period`: after a mark, its values with the recomputed months read anew."""
    if plan.values is None:
        return indicator_store.indicator_values(conn, la_code).filter(pl.col("period") <= period)
    recomputed = indicator_store.indicator_values(conn, la_code, months=plan.months)
    return refreshed(plan.values, plan.months, recomputed).filter(pl.col("period") <= period).sort(*KEYS, "period")


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def compute_signals(period: str, today: date, plan: Plan) -> dict[str, int]:
    ctx = context()
    la_code = ctx.la_code
    with engine().begin() as conn:  # every read and write of the signals in this one transaction
        reported = reported_values(conn, la_code, period, plan)
        values = reported.select(*KEYS, "period", "value")
        status = current_feed_status(ctx, conn, period, today)
        held = held_feeds(status, period)
        points, summary, charts = chart(ctx, conn, values, plan)
        records = alert_records(conn, la_code, period, plan)
        early = early_warning_states(ctx, conn, reported, period, plan)
        candidates, improvements = candidate_alerts(ctx, conn, points, summary, reported, records, status, period,
                                                    held, today, early)
        known = alert_store.read_alerts(conn, la_code, STATE_SCHEMA)
        state, transitions = reconcile(known, candidates, period, today, held)
        drift = slow_drift(values, period, event_counts(ctx.catalogue))
        series_status = summary.join(drift, on=KEYS, how="left").select(
            *KEYS, latest_period="period", latest_value="value", variation="variation", assurance="assurance",
            label="label", yoy_change="yoy_change", rolling_12_total="rolling_12_total",
        )
        for table, keys in CHART_TABLES.items():
            stored = None if plan.points is None else stored_rows(plan.points, table)
            bulk.sync_series(conn, table, la_code, stored_rows(points, table), keys, stored)
        bulk.sync_series(conn, SeriesStatus.__table__, la_code, series_status, KEYS)
        bulk.sync_series(conn, EarlyWarning.__table__, la_code, early, KEYS)
        bulk.sync_series(conn, PositiveSignal.__table__, la_code, improvements.select(
            "key", "rule", "indicator", "breakdown", "period", "subgroup", "message", "evidence"), ["key"])
        counts = alert_store.save_alerts(conn, la_code, state, transitions, ACTOR)
        save_mark(conn, la_code, period, plan, charts, points, reported, records)
    return {"open_alerts": state.filter(pl.col("status") == "open").height, "alert_changes": transitions.height,
            "alerts_written": sum(counts.values())}
