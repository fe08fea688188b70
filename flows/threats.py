"""The strategic threat assessment for a month, read from the store and scored (radar sta, radar report).

A plain read, not a Prefect flow: nothing is written except the register's
first-use seeding.  The scoring is radar.pipelines.threats; the dashboard
makes the same two calls (read_sources, then build_inputs and report).
"""

from __future__ import annotations

from datetime import date

from radar.core import periods
from radar.core.threats import configured_themes
from radar.flows.runtime import context, engine
from radar.models.register import load_matrix
from radar.models.threat_sources import read_sources
from radar.pipelines.threats import build_inputs, report


def assessment(period: str, as_of: date | None = None) -> dict:
    """The threat assessment of `period` as `radar sta --json` prints it."""
    ctx = context()
    as_of = as_of or periods.as_of(period, date.today())
    matrix = load_matrix(ctx.config) if ctx.config.risk_register else None
    sources = read_sources(engine(), ctx.config, date.today())  # a new register is seeded as of the real day
    return report(build_inputs(ctx.catalogue, ctx.config, configured_themes(ctx), matrix, period, as_of, sources))
