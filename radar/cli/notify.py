"""`radar notify` and `radar outbox`: the month's alert messages routed, rendered and sent, and every message
Radar has rendered."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import typer

from radar.cli.common import PeriodOption, Table, app, console, fail, print_json, print_table, store
from radar.cli.plumbing import prefect


class OutboxStatus(str, Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


@app.command()
def notify(
    period: PeriodOption,
    dry_run: Annotated[bool, typer.Option("--dry-run",
                                          help="Show what would be sent; store and send nothing.")] = False,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="The day repeats and escalations are timed from "
             "(default: the period's as-of date, as the cycle's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Route and render the month's alert messages into the outbox, retry what is pending, and send."""
    from radar.flows.notify import notify_flow

    try:
        today = datetime.strptime(as_of, "%Y-%m-%d").date() if as_of else None
    except ValueError:
        raise fail(f"--as-of must look like 2020-04-20, not {as_of!r}")
    with prefect():
        rows = notify_flow(period, today, dry_run)
    if as_json:
        print_json(rows)
    else:
        table = Table("to", "kind", "subject", "status", title=f"Messages for {period}")
        for r in rows:
            table.add_row(", ".join(r["to"]), r["kind"], r["subject"], r["status"])
        print_table(table)
    notes = sorted({r["note"] for r in rows if "note" in r})
    for note in notes:
        console.print(f"[yellow]{len([r for r in rows if r.get('note') == note])} messages {note}; they wait in "
                      f"the outbox (`radar outbox --status pending`).[/]")
    if not rows:
        console.print("Nothing to send: every alert's recipients are up to date.")


outbox_app = typer.Typer(help="Every message Radar has rendered: list them, or show one with its text.",
                         invoke_without_command=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.callback()
def outbox(
    typer_context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    status: Annotated[OutboxStatus | None, typer.Option(help="Only messages with this status.")] = None,
) -> None:
    """Every message Radar has rendered: to whom, what, and whether it was sent (attempts, last error)."""
    if typer_context.invoked_subcommand:
        return
    from radar.models import outbox as box

    ctx, engine = store()
    with engine.connect() as conn:
        rows = box.messages(conn, ctx.la_code, status.value if status else None)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "created", "to", "kind", "subject", "status", "attempts", "last error", title="Outbox")
    for r in rows:
        table.add_row(str(r["id"]), str(r["created_on"]), ", ".join(r["to"]), r["kind"], r["subject"], r["status"],
                      str(r["attempts"]), r["last_error"] or "")
    print_table(table)


@outbox_app.command("show")
def outbox_show(
    message_id: Annotated[str, typer.Argument(metavar="ID", help="The message's id (see `radar outbox`) or its key.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One message as its recipients read it: to whom, the subject and the text."""
    from radar.models import outbox as box

    ctx, engine = store()
    with engine.connect() as conn:
        found = box.message(conn, ctx.la_code, message_id)
    if found is None:
        raise fail(f"No message {message_id!r} in the outbox; `radar outbox` lists them with their ids.")
    if as_json:
        print_json(found)
        return
    typer.echo(f"To: {', '.join(found['to'])}\nSubject: {found['subject']}\n"
               f"Status: {found['status']} ({found['kind']}, {found['created_on']})\n\n{found['body_text']}")
