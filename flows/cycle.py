"""The monthly cycle: bring every indicator up to date to the end of a month.

It reads what is in force in the store, computes with the pure pipelines and
writes back only what changed, all in one transaction, so running it twice
changes nothing and a crash leaves the previous values intact.
"""

from __future__ import annotations

import re

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.files import purge_quarantine
from flows.runtime import context, engine
from models import store
from pipelines.indicators import compute_indicators
from validation.population import population_for_periods, read_child_population

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@task(retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def load_population():
    ctx = context()
    return read_child_population(ctx.config.population_path(), ctx.la_code)


@task(retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def recompute_indicators(period: str, population) -> dict[str, int]:
    ctx = context()
    with engine().begin() as conn:
        periods = store.current_periods(conn, ctx.la_code)
        record_feeds = [f.id for f in ctx.catalogue.feeds if f.kind == "records"]
        records = {feed_id: store.current_records(conn, ctx.la_code, feed_id) for feed_id in record_feeds}
        observations = store.current_observations(conn, ctx.la_code)
        months = sorted({p for ps in periods.values() for p in ps})
        values = compute_indicators(
            ctx.catalogue, observations, records, {f: periods.get(f, []) for f in record_feeds},
            population_for_periods(population, months),
        )
        return store.save_indicator_values(conn, ctx.la_code, values, up_to=period)


@flow(name="monthly-cycle")
def monthly_cycle(period: str) -> dict[str, int]:
    """Recompute everything up to and including `period` (YYYY-MM)."""
    if not PERIOD.match(period):
        raise ValueError(f"period must look like 2020-03, not {period!r}")
    ctx = context()
    counts = recompute_indicators(period, load_population())
    purge_quarantine(ctx.settings.quarantine, ctx.config.storage.quarantine_retention_days)
    get_run_logger().info("indicator values up to %s: %s", period, counts)
    return counts
