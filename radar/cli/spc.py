"""`radar spc rebase`: start an indicator's chart limits again from a month (radar.actions.charts)."""

from __future__ import annotations

from typing import Annotated

import typer

from radar.cli.common import app, console, refusals, store

spc_app = typer.Typer(help="Statistical process control charts: re-base an indicator's limits.", no_args_is_help=True)
app.add_typer(spc_app, name="spc")


@spc_app.command("rebase")
def spc_rebase(
    indicator: Annotated[str, typer.Argument(help="The indicator id (see `radar catalog`).")],
    from_period: Annotated[str, typer.Option("--from", help="First month of the new limits.", metavar="YYYY-MM")],
    reason: Annotated[str, typer.Option(help="Why the process changed (shown with the chart).")],
    by: Annotated[str, typer.Option(help="Who decided.")],
    breakdown: Annotated[str, typer.Option(help="A breakdown value; the total when omitted.")] = "",
) -> None:
    """Start new limits for an indicator's chart from a month, after a known, lasting change in the process.

    Radar never re-bases by itself: limits that chased every signal would absorb the changes they exist to
    show. The next `radar cycle` draws the chart with the new limits.
    """
    from radar.actions.charts import rebase_limits

    ctx, engine = store()
    with refusals():
        recorded = rebase_limits(engine, ctx, indicator=indicator, breakdown=breakdown, period=from_period,
                                 reason=reason, by=by)
    console.print(f"Re-base of {indicator} from {from_period} "
                  f"{'recorded' if recorded else 'was already recorded'}; the next `radar cycle` applies it.")
