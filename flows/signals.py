"""Signals for the monthly cycle: SPC charts, series status, benchmarks and alerts.

Reads what the cycle stored, hands frames to the pure pipelines, and writes
the charts, the series' icons, the positive signals and the alerts' new state
(with every change of status audited) in one transaction.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.benchmarks import compare
from flows.runtime import context, engine, retry_on_io
from models import queries, store
from models.tables import PositiveSignal, SeriesStatus, SpcPoint
from pipelines import alert_records, alert_rules
from pipelines.alert_lifecycle import STATE_SCHEMA, reconcile
from pipelines.feed_status import expected_submissions, feed_status
from pipelines.seasonal import rolling_12, seasonal_baseline, year_on_year
from pipelines.spc import summarise, xmr
from radar.config import Context

KEYS = ["indicator", "breakdown"]
ACTOR = "monthly_cycle"


def charted_values(ctx: Context, values: pl.DataFrame) -> pl.DataFrame:
    """The series SPC is run on: the values, seasonally adjusted for indicators that opt in."""
    seasonal = [i.id for i in ctx.catalogue.indicators if i.seasonal]
    adjusted = seasonal_baseline(values.filter(pl.col("indicator").is_in(seasonal)), KEYS)
    return pl.concat([
        values.filter(~pl.col("indicator").is_in(seasonal)),
        adjusted.select(*KEYS, "period", pl.col("deseasonalised").alias("value")),
    ])


def catalogue_frames(ctx: Context) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Polarity per indicator, and the partnership's targets with the polarity they are judged by."""
    polarity = pl.DataFrame(
        {"indicator": [i.id for i in ctx.catalogue.indicators], "polarity": [i.polarity for i in ctx.catalogue.indicators]}
    )
    targets = pl.DataFrame(
        [{"indicator": k, "value": t.value, "year": t.year} for k, t in ctx.config.targets.items()],
        schema={"indicator": pl.String, "value": pl.Float64, "year": pl.String},
    )
    return polarity, targets


def slow_drift(values: pl.DataFrame, period: str) -> pl.DataFrame:
    """Year-on-year change and the rolling-12-month total at the cycle month."""
    latest = rolling_12(year_on_year(values, KEYS), KEYS).filter(pl.col("period") == period)
    return latest.select(*KEYS, "yoy_change", "rolling_12_total")


def candidate_alerts(ctx: Context, conn, points, summary, targets, status, period: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every rule's candidates at `period` (held back where a feed is missing), and the improvements."""
    settings, la_code = ctx.alerts, ctx.la_code
    alerting = points if settings.spc.alert_on_breakdowns else points.filter(pl.col("breakdown") == "")
    concerns, improvements = alert_rules.spc_signals(alerting, ctx.catalogue, period, la_code, settings)
    lado = store.current_records(conn, la_code, "lado_referrals")
    missing = store.current_records(conn, la_code, "missing_episodes")
    candidates = pl.concat([frame for frame in (
        concerns,
        alert_rules.target_missed(points, summary, targets, ctx.catalogue, period, la_code, settings),
        alert_rules.benchmark_gap(compare(la_code, None), ctx.catalogue, period, la_code, settings),
        alert_rules.feed_alerts(status, ctx.catalogue, period, settings),
        alert_records.setting_concentration(lado, period, settings) if lado.height else None,
        alert_records.repeat_missing(missing, period, la_code, settings) if missing.height else None,
    ) if frame is not None], how="vertical_relaxed")
    return alert_rules.hold_back(candidates, alert_rules.held_feeds(status, period)), improvements


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def compute_signals(period: str, today: date) -> dict[str, int]:
    ctx = context()
    la_code = ctx.la_code
    values = queries.indicator_values(engine(), la_code).filter(pl.col("period") <= period).select(*KEYS, "period", "value")
    submissions = queries.submissions(engine(), la_code)
    polarity, targets = catalogue_frames(ctx)
    due_days = {f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds}
    first = submissions["period"].drop_nulls().min() or period
    status = feed_status(expected_submissions(ctx.catalogue, due_days, first, period), submissions, today)
    with engine().begin() as conn:
        points = xmr(charted_values(ctx, values), KEYS, ctx.alerts.spc_settings(), polarity, store.read_rebases(conn, la_code))
        summary = summarise(points, KEYS, targets.join(polarity, on="indicator").select("indicator", target="value", polarity="polarity"))
        candidates, improvements = candidate_alerts(ctx, conn, points, summary, targets, status, period)
        state, transitions = reconcile(
            store.read_alerts(conn, la_code, STATE_SCHEMA), candidates, period, today,
            held=alert_rules.held_feeds(status, period),
        )
        series_status = summary.join(slow_drift(values, period), on=KEYS, how="left").select(
            *KEYS, latest_period="period", latest_value="value", variation="variation", assurance="assurance",
            label="label", yoy_change="yoy_change", rolling_12_total="rolling_12_total",
        )
        columns = [c for c in SpcPoint.__table__.columns.keys() if c not in ("id", "la_code")]
        store.sync_series(conn, SpcPoint.__table__, la_code, points.select(columns), [*KEYS, "period"])
        store.sync_series(conn, SeriesStatus.__table__, la_code, series_status, KEYS)
        store.sync_series(conn, PositiveSignal.__table__, la_code, improvements.select(
            "key", "rule", "indicator", "breakdown", "period", "subgroup", "message", "evidence"), ["key"])
        counts = store.save_alerts(conn, la_code, state, transitions, ACTOR)
    return {"open_alerts": state.filter(pl.col("status") == "open").height, "alert_changes": transitions.height,
            "alerts_written": sum(counts.values())}
