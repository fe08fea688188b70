"""What people do to a chart: start its limits again from a month (a re-base), with why and who.

Radar never re-bases by itself: limits that chased every signal would absorb
the changes they exist to show.  The next monthly cycle draws the chart with
the new limits.
"""

from __future__ import annotations

from sqlalchemy import Engine

from radar.actions.refusal import refuse_if
from radar.core.config import Context
from radar.core.periods import is_period
from radar.models import charts as chart_store


def rebase_problems(ctx: Context, indicator: str, breakdown: str, period: str, reason: str, by: str) -> list[str]:
    """Why a re-base cannot be recorded: an unknown indicator or breakdown, a malformed month, no reason or actor."""
    problems = []
    found = ctx.catalogue.indicator_by_id.get(indicator)
    if found is None:
        problems.append(f"{indicator!r} is not an indicator; `radar catalog` lists them")
    elif breakdown and breakdown not in ctx.catalogue.breakdown_values(found):
        problems.append(f"{breakdown!r} is not a breakdown of {indicator}; it has "
                        f"{', '.join(ctx.catalogue.breakdown_values(found)) or 'none'}")
    if not is_period(period):
        problems.append(f"the first month must be written YYYY-MM, such as 2020-04, not {period!r}")
    if not reason.strip() or not by.strip():
        problems.append("a re-base must say why and who (--reason and --by): the Board reads them beside the chart")
    return problems


def rebase_limits(engine: Engine, ctx: Context, *, indicator: str, breakdown: str, period: str, reason: str,
                  by: str) -> bool:
    """Record that the chart of `indicator` (`breakdown`, '' for the total) starts new limits from `period`;
    False when that re-base was already recorded.  Refused (radar.actions.refusal) with every problem at once."""
    refuse_if(rebase_problems(ctx, indicator, breakdown, period, reason, by))
    with engine.begin() as conn:
        return chart_store.record_rebase(conn, ctx.la_code, indicator=indicator, breakdown=breakdown, period=period,
                                         reason=reason.strip(), by=by.strip())
