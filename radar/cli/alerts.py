"""`radar alerts`: the alerts the monthly cycle raised; `ack` and `silence` act on one (radar.actions.alerts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Annotated

import typer

from radar.cli.common import Table, app, console, print_json, print_table, refusals, store
from radar.core import periods
from radar.core.alert_vocabulary import ALERT_STATUSES

alerts_app = typer.Typer(help="Alerts raised by the monthly cycle: list, acknowledge, silence.",
                         invoke_without_command=True)
app.add_typer(alerts_app, name="alerts")


# Which alerts `radar alerts` lists: `active` (the default) is open or acknowledged, the ones being dealt with.
AlertStatus = Enum("AlertStatus", {status: status for status in ("active", *ALERT_STATUSES, "all")}, type=str)


def alert_row(r: dict) -> dict:
    """One alert as `radar alerts --json` prints it: `id` is the short id `ack` and `silence` accept."""
    return {
        "id": r["ref"], "key": r["key"], "rule": r["rule"], "indicator": r["indicator"], "breakdown": r["breakdown"],
        "feed": r["feed"], "period": r["last_period"], "first_raised": r["first_period"], "raised_on": r["raised_on"],
        "severity": r["severity"], "subgroup": r["subgroup"], "status": r["status"], "message": r["message"],
        "evidence": json.loads(r["evidence"] or "{}"), "acknowledged_by": r["acknowledged_by"], "note": r["ack_note"],
        "silenced_until": r["silenced_until"], "silence_reason": r["silenced_reason"],
        "escalated": r["escalated_on"],  # the day the Independent Chair was told, or None
    }


@alerts_app.callback()
def alerts(
    typer_context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    status: Annotated[AlertStatus, typer.Option(help="Which alerts: active (open or acknowledged), open, "
                                                     "acknowledged, resolved, silenced or all.")] = AlertStatus.active,
) -> None:
    """List alerts (active ones by default: open or acknowledged), most severe first."""
    if typer_context.invoked_subcommand:
        return
    from radar.models.alerts import alerts as load_alerts

    ctx, engine = store()
    chosen = None if status is AlertStatus.all else status.value
    with engine.connect() as conn:
        rows = [alert_row(r) for r in load_alerts(conn, ctx.la_code, chosen).iter_rows(named=True)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "severity", "subgroup", "status", "since", "message", title=f"Alerts ({status.value})")
    for r in rows:
        table.add_row(r["id"], r["severity"], r["subgroup"], r["status"], periods.label(r["first_raised"]),
                      r["message"])
    print_table(table)


def _act(action: Callable[..., dict], alert_id: str, **given) -> None:
    ctx, engine = store()
    with refusals(ValueError):  # the lifecycle's refusals: an unknown id, a resolved alert, a past date
        alert = action(engine, ctx.la_code, alert_id, **given)
    console.print(f"{alert['ref']}: now {alert['status']}")


AlertId = Annotated[str, typer.Argument(help="The alert's id, e.g. spc-k3f9qa2b (see `radar alerts`); "
                                             "its full key is accepted too.")]


@alerts_app.command("ack")
def alerts_ack(
    alert_id: AlertId,
    by: Annotated[str, typer.Option(help="Who is dealing with it.")],
    note: Annotated[str, typer.Option(help="What is being done.")],
) -> None:
    """Acknowledge an open alert: someone is dealing with it."""
    from radar.actions.alerts import acknowledge_alert

    _act(acknowledge_alert, alert_id, by=by, note=note)


@alerts_app.command("silence")
def alerts_silence(
    alert_id: AlertId,
    reason: Annotated[str, typer.Option(help="Why it may be ignored for now.")],
    until: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"],
                                            help="Last day of the silence (YYYY-MM-DD), after today.")],
    by: Annotated[str, typer.Option(help="Who silenced it.")] = "cli",
) -> None:
    """Silence an alert until a date after today, with a reason (it reopens afterwards if its cause persists)."""
    from radar.actions.alerts import silence_alert

    _act(silence_alert, alert_id, reason=reason, until=until.date(), by=by)
