"""The strategic threat assessment for a month, read from the store and scored (radar sta, radar report).

A plain read, not a Prefect flow: nothing is written except the register's
first-use seeding.  The scoring is radar.pipelines.threats; the dashboard
makes the same two calls (read_sources, then build_inputs and report).
"""

from __future__ import annotations

from datetime import date

from radar.core import periods
from radar.core.config import Context
from radar.core.threats import load_threats
from radar.flows.runtime import context, engine
from radar.models.register import load_matrix
from radar.models.threat_sources import read_sources
from radar.pipelines.threats import build_inputs, report


def default_as_of(period: str, today: date) -> date:
    """The day an assessment of `period` is made: today, or for a month long past, the end of the month after it
    (when its files were all due and the Board pack was written), so an old month reads as it did then."""
    return min(today, periods.last_day(periods.shift(period, 1)))


def themes(ctx: Context) -> list:
    ta = ctx.config.threat_assessment
    if ta is None:
        return []
    return load_threats(ctx.config.resolve_path(ta.themes), ctx.catalogue, set(ctx.config.subgroups)).themes


def assessment(period: str, as_of: date | None = None) -> dict:
    """The threat assessment of `period` as `radar sta --json` prints it."""
    ctx = context()
    as_of = as_of or default_as_of(period, date.today())
    matrix = load_matrix(ctx.config) if ctx.config.risk_register else None
    sources = read_sources(engine(), ctx.config, date.today())  # a new register is seeded as of the real day
    return report(build_inputs(ctx.catalogue, ctx.config, themes(ctx), matrix, period, as_of, sources))
