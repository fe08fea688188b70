"""`radar ingest`, `radar cycle` and `radar indicators`: feed files in, indicators computed, values printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from radar.cli.common import PeriodOption, Table, app, console, fail, print_json, print_table, progress, store
from radar.cli.plumbing import importing, prefect


def run_ingest(paths: list[Path]) -> list[dict]:
    with importing():
        from sqlalchemy.exc import OperationalError

        from radar.flows.ingest import feed_files, ingest_files
        from radar.flows.secrets import PseudonymKeyError

    files = feed_files(paths)
    try:
        with prefect(), progress() as bars:
            bar = bars.add_task("Ingesting feed files", total=len(files))
            results = ingest_files(files, on_result=lambda _: bars.advance(bar))
    except PseudonymKeyError as error:
        raise fail(str(error), 1)
    except OperationalError:
        raise fail("The database could not be reached, so no file was moved or recorded. "
                   "Run the same command again when it is back.", 1)
    return results


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Feed files or folders of feed files.", exists=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file.")] = False,
) -> None:
    """Validate and store delivered feed files; rejected files go to quarantine with a report.

    Exit code 0 when nothing was rejected, 1 when any file was rejected (the others are still stored).
    """
    results = run_ingest(paths)
    if as_json:
        print_json([{k: r[k] for k in ("file", "feed", "period", "status", "errors")} for r in results])
    else:
        table = Table("file", "status", "message")
        for r in results:
            table.add_row(r["file"], r["status"], r["message"])
        print_table(table)
    raise typer.Exit(1 if any(r["status"] == "rejected" for r in results) else 0)


def run_cycle(period: str, full: bool = False) -> dict:
    with importing():
        from radar.flows.cycle import monthly_cycle

    with prefect(), console.status(f"Computing indicators up to {period}"):
        return monthly_cycle(period, full=full)


@app.command()
def cycle(
    period: PeriodOption,
    full: Annotated[bool, typer.Option("--full", help="Recompute every month, not only those whose files changed "
                                                      "since the last cycle (the result is the same).")] = False,
) -> None:
    """Bring every indicator up to date up to and including a month (running it twice changes nothing)."""
    with importing():
        from radar.flows.cycle import CycleOrderError

    try:
        counts = run_cycle(period, full)
    except CycleOrderError as error:
        raise fail(str(error))
    console.print(f"Indicator values up to {period}: {counts['inserted']} new, {counts['updated']} changed, "
                  f"{counts['deleted']} removed; {counts['open_alerts']} open alerts, "
                  f"{counts['alert_changes']} changes of alert status")


@app.command()
def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    indicator: Annotated[str | None, typer.Option(help="Only this indicator id.")] = None,
) -> None:
    """Print stored indicator values (period, indicator, breakdown, value); with --json, each row also says what
    the early warning can detect on its series (min_detectable_change, promise, detection)."""
    from radar.core.config import get_context
    from radar.models.indicators import indicator_values

    if indicator and indicator not in get_context().catalogue.indicator_by_id:
        console.print(f"[red]Unknown indicator {indicator!r}.[/] See `radar catalog`.")
        raise typer.Exit(2)
    ctx, engine = store()
    with engine.connect() as conn:
        frame = indicator_values(conn, ctx.la_code, indicator)
        if as_json:
            from radar.cli.signals import with_detection

            print_json(with_detection(ctx, conn, frame.select("period", "indicator", "breakdown", "value").to_dicts()))
            return
    print_table(frame)
