"""The monthly cycle: bring every indicator, chart and alert up to date to the end of a month.

It reads what is in force in the store, computes with the pure pipelines and
writes back only what changed, each stage in one transaction, so running it
twice changes nothing and a crash leaves the previous values intact.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.utilities.annotations import quote

from radar.core.periods import as_of, is_period, label, of_date, shift
from radar.flows.files import purge_quarantine
from radar.flows.incremental import plan_cycle
from radar.flows.notify import send_notifications
from radar.flows.register import attach_register_evidence, seed_register
from radar.flows.runtime import context, engine, retry_on_io
from radar.flows.settle import ingests_in_flight, wait_while
from radar.flows.signals import compute_signals
from radar.models import audit as audit_trail
from radar.models import indicators as indicator_store
from radar.models import submissions as submission_store
from radar.pipelines.alerts import registry as alert_registry
from radar.pipelines.indicators import compute_indicators
from radar.validation.population import population_for_periods, read_child_population


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def load_population():
    ctx = context()
    return read_child_population(ctx.config.population_path(), ctx.la_code)


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def recompute_indicators(period: str, population, only: list[str] | None = None) -> dict[str, int]:
    """The indicator values of the months `only` (None: every month) up to `period`, from the files in force."""
    ctx = context()
    if only == []:
        return {"inserted": 0, "updated": 0, "deleted": 0}
    with engine().begin() as conn:
        periods = {feed: [p for p in ps if only is None or p in only]
                   for feed, ps in submission_store.current_periods(conn, ctx.la_code).items()}
        record_feeds = [f.id for f in ctx.catalogue.feeds if f.kind == "records"]
        records = {feed_id: submission_store.current_records(conn, ctx.la_code, feed_id, only)
                   for feed_id in record_feeds}
        observations = submission_store.current_observations(conn, ctx.la_code, only)
        months = sorted({p for ps in periods.values() for p in ps})
        values = compute_indicators(
            ctx.catalogue, observations, records,
            {f: pl.DataFrame({"period": periods.get(f, [])}, schema={"period": pl.String}) for f in record_feeds},
            population_for_periods(population, months),
        )
        return indicator_store.save_indicator_values(conn, ctx.la_code, values, up_to=period, months=only)


class CycleOrderError(ValueError):
    """A cycle for a month before the latest one already run: it would rewrite history, so it is refused."""


def check_order(period: str) -> None:
    """Refuse a cycle for an earlier month than one already run.

    A cycle writes the charts and alerts as they stand at its month: run for
    an earlier month it would cut every chart back, resolve alerts "before"
    they were raised and wipe acknowledgements.  The history it would show is
    already in the store, month by month.
    """
    with engine().connect() as conn:
        latest = audit_trail.latest_cycle(conn, context().la_code)
    if latest and period < latest:
        raise CycleOrderError(
            f"The monthly cycle has already run for {label(latest)}, so it cannot run for {label(period)}: that "
            f"would rewrite the later months. Earlier months' figures are kept: see `radar indicators` or the "
            f"dashboard. A corrected file for {label(period)} is taken into account by the next cycle.")


# One cycle at a time, however it started.  monthly-cycle's deployment concurrency limit queues its deployment
# runs (the schedule, a trigger, the UI), but not the cycle `radar serve` runs in its own process when files
# arrive, nor a `radar cycle` typed meanwhile (it attaches to radar serve's server): two cycles at once on a new
# store would both seed its register, and one would fail.  So `radar serve` makes this global concurrency limit of one
# on its server (flows/service.py: `ensure_one_cycle_limit`) and every cycle run against a server that has it
# takes it.  Elsewhere (a command with a server of its own; a worker, where the deployment's limit is enough)
# the cycle takes no slot: asking a server for a limit it never made logs a warning on every cycle.
ONE_CYCLE = "radar-monthly-cycle"


def cycle_slot() -> AbstractContextManager:
    """The slot this cycle holds while it works: ONE_CYCLE, where its server has that limit."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(ONE_CYCLE)
        except ObjectNotFound:
            return nullcontext()
    return concurrency(ONE_CYCLE, strict=False)


@flow(name="monthly-cycle")
def monthly_cycle(period: str | None = None, today: date | None = None, full: bool = False,
                  settle: bool = False) -> dict[str, int]:
    """Recompute everything up to and including `period` (YYYY-MM): indicators, SPC, alerts.

    A scheduled run passes no period and gets last month.  `today` decides
    which feeds are late (default: the real date).  Months only move forward
    (`check_order`); running the latest month again changes nothing.  Only
    the months whose files changed since the last cycle are recomputed
    (`flows.incremental`), with the same result as `full`, which recomputes all.
    `settle` (a cycle brought by files) first lets the burst's other files in
    (flows/settle.py) and runs up to the latest month they are for.
    """
    period = period or shift(of_date(today or date.today()), -1)
    if not is_period(period):
        raise ValueError(f"period must look like 2020-03, not {period!r}")
    ctx = context()
    if settle:
        waited = wait_while(ingests_in_flight)
        with engine().connect() as conn:
            period = submission_store.month_to_cycle(conn, ctx.la_code, period)
        get_run_logger().info("waited %.0f s for the files still arriving; cycle up to %s", waited, period)
    today = today or as_of(period, date.today())
    with cycle_slot():
        return _cycle(period, today, full)


def _cycle(period: str, today: date, full: bool) -> dict[str, int]:
    """The cycle's steps, holding the cycle slot (`cycle_slot`)."""
    ctx = context()
    check_order(period)
    seed_register(today)  # the register's files, into a store that has never had them: the overdue rules read it
    population = load_population()
    with engine().connect() as conn:
        plan = plan_cycle(conn, ctx, period, population, full, alert_registry.record_reads())
    counts = recompute_indicators(period, population, plan.months)
    # Quoted: Prefect would otherwise walk every item of the plan (the inputs of ten years, frames) looking for
    # upstream task results, which took longer than the task's own reads.
    counts |= compute_signals(period, today, quote(plan))
    counts |= attach_register_evidence()  # alerts on linked indicators become evidence on risks
    with engine().begin() as conn:
        audit_trail.record_cycle(conn, ctx.la_code, period, counts)
    purge_quarantine(ctx.settings.quarantine, ctx.config.storage.quarantine_retention_days)
    counts["messages"] = len(send_notifications(period, today))  # after the alerts: digests, repeats, escalations
    get_run_logger().info("cycle up to %s: %s", period, counts)
    return counts
