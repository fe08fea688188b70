"""The `radar` command.

Commands that move data run the Prefect flows (flows/), so a laptop run and a
server deployment take the same path; commands that only read print from the
store.  All state lives under RADAR_HOME unless RADAR_DATABASE_URL says
otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from radar.core import periods
from radar.core.config import Settings, get_context

app = typer.Typer(help="Radar: a live strategic threat assessment for a Safeguarding Children Partnership.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True)
PeriodOption = Annotated[str, typer.Option(help="Month as YYYY-MM.", metavar="YYYY-MM")]


@contextlib.contextmanager
def _prefect() -> Iterator[None]:
    """Run flows with Prefect's state under RADAR_HOME, its chatter out of the way, against a server that
    stops when the command ends, however it ends (radar.flows.server).

    RADAR_HOME and Prefect's folder are created first: Prefect does not create
    missing parents, and without its folder its server never started (it waited
    minutes, then failed with an error that did not name the folder).
    """
    settings = Settings.from_env()
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect")))
    prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)  # before Prefect is imported: it looks at import
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no internet here, and no tracking
    from radar.flows.server import ServerStartError, prefect_server

    try:
        with prefect_server(prefect_home):
            yield
    except ServerStartError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1)


def _print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
def catalog(as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False) -> None:
    """Show the feeds and indicators agencies send and Radar computes."""
    ctx = get_context()
    due = {f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds}
    public = ctx.catalogue.to_public(ctx.la_code, ctx.config.partnership.name, due)
    if as_json:
        _print_json(public)
        return
    table = Table("indicator", "name", "feed", "unit", "polarity", "subgroup", title=public["partnership"]["name"])
    for i in public["indicators"]:
        table.add_row(i["id"], i["name"], i["feed"], i["unit"], i["polarity"], i["subgroup"])
    Console().print(table)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the feed files into.")],
    start: PeriodOption = "2017-04",
    end: PeriodOption = "2020-03",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 2020,
    with_bad_files: Annotated[bool, typer.Option(help="Also write a few bad files for the rejected-files view.")] = False,
) -> None:
    """Write realistic sample feed files for every feed and month."""
    from radar.synth import generate

    ctx = get_context()
    with _progress() as progress:
        bar = progress.add_task("Writing sample feeds", total=None)
        files = generate(out, ctx.catalogue, start=start, end=end, seed=seed, with_bad_files=with_bad_files,
                         progress=lambda done, total: progress.update(bar, completed=done, total=total),
                         due_days={f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds})
    console.print(f"Wrote {len(files)} files to {out}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def run_ingest(paths: list[Path]) -> list[dict]:
    from radar.flows.ingest import feed_files, ingest_files

    files = feed_files(paths)
    with _prefect(), _progress() as progress:
        bar = progress.add_task("Ingesting feed files", total=len(files))
        results = ingest_files(files, on_result=lambda _: progress.advance(bar))
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
        _print_json([{k: r[k] for k in ("file", "feed", "period", "status", "errors")} for r in results])
    else:
        table = Table("file", "status", "message")
        for r in results:
            table.add_row(r["file"], r["status"], r["message"])
        Console().print(table)
    raise typer.Exit(1 if any(r["status"] == "rejected" for r in results) else 0)


def run_cycle(period: str) -> dict:
    from radar.flows.cycle import monthly_cycle

    with _prefect(), console.status(f"Computing indicators up to {period}"):
        return monthly_cycle(period)


@app.command()
def cycle(period: PeriodOption) -> None:
    """Bring every indicator up to date up to and including a month (running it twice changes nothing)."""
    from radar.flows.cycle import CycleOrderError

    try:
        counts = run_cycle(period)
    except CycleOrderError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2)
    console.print(f"Indicator values up to {period}: {counts['inserted']} new, {counts['updated']} changed, "
                  f"{counts['deleted']} removed; {counts['open_alerts']} open alerts, "
                  f"{counts['alert_changes']} changes of alert status")


@app.command()
def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    indicator: Annotated[Optional[str], typer.Option(help="Only this indicator id.")] = None,
) -> None:
    """Print stored indicator values (period, indicator, breakdown, value)."""
    from radar.models.engine import get_engine
    from radar.models.queries import indicator_values

    ctx = get_context()
    if indicator and indicator not in ctx.catalogue.indicator_by_id:
        console.print(f"[red]Unknown indicator {indicator!r}.[/] See `radar catalog`.")
        raise typer.Exit(2)
    frame = indicator_values(get_engine(ctx.settings.database_url), ctx.la_code, indicator)
    if as_json:
        _print_json(frame.select("period", "indicator", "breakdown", "value").to_dicts())
    else:
        Console().print(frame)


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
    from radar.models.engine import get_engine
    from radar.models.queries import submissions as load_submissions

    ctx = get_context()
    frame = load_submissions(get_engine(ctx.settings.database_url), ctx.la_code)
    if as_json:
        _print_json(frame.to_dicts())
    else:
        Console().print(frame.select("id", "file_name", "feed_id", "period", "status", "is_current", "received_at"))


@submissions_app.command("withdraw")
def submissions_withdraw(
    submission_id: Annotated[int, typer.Argument(metavar="ID", help="The submission's id (see `radar submissions`).")],
    reason: Annotated[str, typer.Option(help="Why it must not be counted.")],
    by: Annotated[str, typer.Option(help="Who decided.")],
) -> None:
    """Take an accepted file out of use (it stays in the history); the version it replaced, if any, is back in force.

    The next `radar cycle` recomputes without it.
    """
    from radar.models import store
    from radar.models.engine import get_engine

    ctx = get_context()
    try:
        with get_engine(ctx.settings.database_url).begin() as conn:
            change = store.withdraw_submission(conn, ctx.la_code, submission_id, reason, by)
    except store.WithdrawError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2)
    restored = f"; submission {change['restored']} is in force again" if change["restored"] else ""
    console.print(f"Submission {submission_id} ({change['feed']}, {change['period']}) withdrawn{restored}. "
                  "The next `radar cycle` leaves it out.")


alerts_app = typer.Typer(help="Alerts raised by the monthly cycle: list, acknowledge, silence.",
                        invoke_without_command=True)
benchmarks_app = typer.Typer(help="National, regional and statistical-neighbour benchmarks (DfE statistics).",
                             no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
app.add_typer(benchmarks_app, name="benchmarks")
class AlertStatus(str, Enum):
    """Which alerts `radar alerts` lists; `active` (the default) is open or acknowledged, the ones being dealt with."""

    active = "active"
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    silenced = "silenced"
    all = "all"


def alert_row(r: dict) -> dict:
    """One alert as `radar alerts --json` prints it: `id` is the short id `ack` and `silence` accept."""
    return {
        "id": r["ref"], "key": r["key"], "rule": r["rule"], "indicator": r["indicator"], "breakdown": r["breakdown"],
        "feed": r["feed"], "period": r["last_period"], "first_raised": r["first_period"], "raised_on": r["raised_on"],
        "severity": r["severity"], "subgroup": r["subgroup"], "status": r["status"], "message": r["message"],
        "evidence": json.loads(r["evidence"] or "{}"), "acknowledged_by": r["acknowledged_by"], "note": r["ack_note"],
        "silenced_until": r["silenced_until"], "silence_reason": r["silenced_reason"],
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
    from radar.models.engine import get_engine
    from radar.models.queries import alerts as load_alerts

    ctx = get_context()
    chosen = None if status is AlertStatus.all else status.value
    rows = [alert_row(r) for r in load_alerts(get_engine(ctx.settings.database_url), ctx.la_code, chosen).iter_rows(named=True)]
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "severity", "subgroup", "status", "since", "message", title=f"Alerts ({status.value})")
    for r in rows:
        table.add_row(r["id"], r["severity"], r["subgroup"], r["status"], periods.label(r["first_raised"]), r["message"])
    Console().print(table)


def _alert_action(action, *args) -> None:
    try:
        alert = action(*args)
    except ValueError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2)
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
    from radar.flows.alert_actions import acknowledge_alert

    _alert_action(acknowledge_alert, alert_id, by, note)


@alerts_app.command("silence")
def alerts_silence(
    alert_id: AlertId,
    reason: Annotated[str, typer.Option(help="Why it may be ignored for now.")],
    until: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"],
                                            help="Last day of the silence (YYYY-MM-DD), after today.")],
    by: Annotated[str, typer.Option(help="Who silenced it.")] = "cli",
) -> None:
    """Silence an alert until a date after today, with a reason (it reopens afterwards if its cause persists)."""
    from radar.flows.alert_actions import silence_alert

    _alert_action(silence_alert, alert_id, reason, until.date(), by)


def run_benchmark_import(paths: list[Path]) -> dict:
    from radar.flows.benchmarks import import_benchmarks

    with _prefect(), console.status("Importing DfE statistics"):
        return import_benchmarks(paths)


@benchmarks_app.command("import")
def benchmarks_import(
    paths: Annotated[Optional[list[Path]], typer.Argument(
        help="DfE Explore Education Statistics CSV files or folders (default: the statistics shipped with Radar, "
             "as the partnership config names them).", exists=True)] = None,
) -> None:
    """Load DfE statistics as benchmarks; a bad file changes nothing and says what is wrong."""
    from radar.validation.ees import EESError

    try:
        counts = run_benchmark_import(paths or [get_context().config.benchmarks_folder()])
    except EESError as error:
        for problem in error.problems:
            console.print(f"[red]{problem}[/]")
        raise typer.Exit(1)
    console.print(f"Benchmarks: {counts['inserted']} new, {counts['updated']} changed, {counts['deleted']} removed")


@benchmarks_app.command("show")
def benchmarks_show(
    la: Annotated[str, typer.Option(help="Local-authority code, e.g. E09000006.")],
    year: Annotated[Optional[int], typer.Option(help="DfE year ending 31 March (2020 = 2019-20).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The authority's value beside England, its region and its statistical-neighbour median."""
    from radar.flows.benchmarks import compare
    from radar.pipelines.benchmarks import ATTRIBUTION

    rows = compare(la, year).to_dicts()
    if not rows:
        console.print(f"No published figures for {la}: load them with `radar benchmarks import PATH`.")
    if as_json:
        _print_json(rows)
        return
    table = Table("indicator", "year", "value", "England", "region", "neighbours (median)",
                  title=f"{la} against published figures", caption=ATTRIBUTION)
    for r in rows:
        shown = [r["la_value"] if r["la_value"] is not None else r["la_symbol"], r["national"], r["regional"],
                 r["sn_median"]]
        table.add_row(r["indicator"], str(r["year"]), *["—" if v is None else f"{v:,.1f}" if isinstance(v, float) else str(v) for v in shown])
    Console().print(table)


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
    from radar.core.periods import is_period
    from radar.models import store
    from radar.models.engine import get_engine

    ctx = get_context()
    problems = []
    found = ctx.catalogue.indicator_by_id.get(indicator)
    if found is None:
        problems.append(f"{indicator!r} is not an indicator; `radar catalog` lists them.")
    elif breakdown and breakdown not in ctx.catalogue.breakdown_values(found):
        problems.append(f"{breakdown!r} is not a breakdown of {indicator}; it has "
                        f"{', '.join(ctx.catalogue.breakdown_values(found)) or 'none'}.")
    if not is_period(from_period):
        problems.append(f"--from must be a month written YYYY-MM, such as 2020-04, not {from_period!r}.")
    if not reason.strip() or not by.strip():
        problems.append("--reason and --by must say why and who: the Board reads them beside the chart.")
    if problems:
        for problem in problems:
            console.print(f"[red]{problem}[/]")
        raise typer.Exit(2)
    with get_engine(ctx.settings.database_url).begin() as conn:
        recorded = store.record_rebase(conn, ctx.la_code, indicator=indicator, breakdown=breakdown,
                                       period=from_period, reason=reason.strip(), by=by.strip())
    console.print(f"Re-base of {indicator} from {from_period} "
                  f"{'recorded' if recorded else 'was already recorded'}; the next `radar cycle` applies it.")


@app.command()
def dashboard(port: Annotated[int, typer.Option(help="Port on localhost.")] = 8501) -> None:
    """Start the Streamlit dashboard on localhost."""
    from radar import dashboard as package

    console.print(f"Dashboard: http://localhost:{port}  (Ctrl+C to stop)")
    subprocess.run(
        [sys.executable, "-m", "streamlit", "run", str(Path(package.__file__).with_name("app.py")), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "localhost", "--browser.gatherUsageStats", "false"],
        check=False,
    )


@app.command()
def demo(
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Stop after loading the data.")] = False,
    end: PeriodOption = "2020-03",
) -> None:
    """Generate sample feeds, ingest them through the flows, compute indicators and open the dashboard."""
    settings = Settings.from_env()
    feeds = settings.home / "demo-feeds"
    synth(out=feeds, start="2017-04", end=end, seed=2020, with_bad_files=True)
    with _prefect():  # one server for the three steps
        results = run_ingest([feeds])
        by_status: dict[str, int] = {}
        for r in results:
            by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        console.print(f"Ingested {len(results)} files: {by_status}")
        counts = run_benchmark_import([get_context().config.benchmarks_folder()])
        console.print(f"Loaded DfE benchmarks: {counts}")
        counts = run_cycle(end)
        console.print(f"Computed indicators up to {end}: {counts}")
    if not no_dashboard:
        dashboard()


@app.command()
def docs(out: Annotated[Path, typer.Option(help="Where to write the feed specification.")] = Path("docs/feeds.md")) -> None:
    """Regenerate the agencies' feed specification (docs/feeds.md) from the catalogue."""
    from radar.feedspec import render_feed_spec

    ctx = get_context()
    out.write_text(render_feed_spec(ctx.catalogue, ctx.config), encoding="utf-8")
    console.print(f"Wrote {out}")


if __name__ == "__main__":
    app()
