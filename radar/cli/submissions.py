"""`radar submissions`: every file received and what happened to it; `withdraw` takes one out of use."""

from __future__ import annotations

from typing import Annotated

import typer

from radar.cli.common import app, console, print_json, print_table, refusals, store

submissions_app = typer.Typer(help="Every file received and what happened to it; withdraw one taken in by mistake.",
                              invoke_without_command=True)
app.add_typer(submissions_app, name="submissions")


@submissions_app.callback()
def submissions(
    typer_context: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Print every submission (accepted, replaced, duplicate, rejected, withdrawn) with its time and reasons."""
    if typer_context.invoked_subcommand:
        return
    from radar.models.submissions import submissions as load_submissions

    ctx, engine = store()
    with engine.connect() as conn:
        frame = load_submissions(conn, ctx.la_code)
    if as_json:
        print_json(frame.to_dicts())
    else:
        print_table(frame.select("id", "file_name", "feed_id", "period", "status", "is_current", "received_at"))


@submissions_app.command("withdraw")
def submissions_withdraw(
    submission_id: Annotated[int, typer.Argument(metavar="ID", help="The submission's id (see `radar submissions`).")],
    reason: Annotated[str, typer.Option(help="Why it must not be counted.")],
    by: Annotated[str, typer.Option(help="Who decided.")],
) -> None:
    """Take an accepted file out of use (it stays in the history); the version it replaced, if any, is back in force.

    The next `radar cycle` recomputes without it.
    """
    from radar.actions.submissions import withdraw_submission
    from radar.models.submissions import WithdrawError

    ctx, engine = store()
    with refusals(WithdrawError):
        change = withdraw_submission(engine, ctx.la_code, submission_id, reason=reason, by=by)
    restored = f"; submission {change['restored']} is in force again" if change["restored"] else ""
    console.print(f"Submission {submission_id} ({change['feed']}, {change['period']}) withdrawn{restored}. "
                  "The next `radar cycle` leaves it out.")
