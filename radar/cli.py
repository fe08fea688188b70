"""The `radar` command.

Commands that move data run the Prefect flows (flows/), so a laptop run and a
server deployment take the same path; commands that only read print from the
store.  All state lives under RADAR_HOME unless RADAR_DATABASE_URL says
otherwise.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from radar.core import periods
from radar.core.config import Settings, get_context

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(help="Radar: a live strategic threat assessment for a Safeguarding Children Partnership.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True)
PeriodOption = Annotated[str, typer.Option(help="Month as YYYY-MM.", metavar="YYYY-MM")]

# A command ends without the interpreter's last garbage collections.  By then it holds what Prefect, polars and
# SQLAlchemy made on import, millions of objects that live until exit, and walking them all took about a second
# at the end of every `radar cycle`; frozen, they are left to the operating system, which frees a process's
# memory at once.  Registered first, so it runs after Prefect's own exit handlers (which send its last logs).
atexit.register(gc.freeze)


@app.callback()
def _environment() -> None:
    """Before any command, and so before anything imports Prefect (it reads its settings on import): keep
    Prefect's state under RADAR_HOME and its chatter out of the way.  The folder is made now too: Prefect
    does not create missing parents, and without its folder its server never started (it waited minutes, then
    failed with an error that did not name the folder).  A folder that cannot be made is left to the command
    that needs it, which says so (radar.flows.server)."""
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str(Settings.from_env().home / "prefect")))
    with contextlib.suppress(OSError):
        prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no internet here, and no tracking


@contextlib.contextmanager
def _prefect(serving: bool = False, port: int | None = None) -> Iterator[str]:
    """Run flows against the server `radar serve` runs, or else one that stops when the command ends,
    however it ends (radar.flows.server).  `serving` and `port` are `radar serve`'s own server's.

    A command's flow runs send no heartbeats: they run in the foreground and end with the command, and the
    end of a flow run waits for its heartbeat thread, which sleeps in whole seconds, so every run lasted its
    work rounded up to the next second.  `radar serve`'s runs (and a worker's) keep theirs.
    """
    prefect_home = Path(os.environ["PREFECT_HOME"])
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from radar.flows.server import ServerStartError, prefect_server

    heartbeats = {} if serving else {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    try:
        with (prefect_server(prefect_home, serving=serving, port=port,
                             on_slow=lambda notice: console.print(f"[yellow]{notice}[/]")) as url,
              temporary_settings(heartbeats)):
            yield url
    except ServerStartError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1)


@contextlib.contextmanager
def _importing() -> Iterator[None]:
    """Import a command's flows with the garbage collector paused, then freeze what they made.

    Prefect, polars and SQLAlchemy make millions of objects on import, all of
    them kept until exit: collecting while they are made only walks them over
    and over (about a tenth of a command's imports), and frozen they are not
    walked by the collections of the flow run either.  The few thousand the
    imports left as garbage are frozen with them, once: collecting them first
    would cost a fifth of a second.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def run_ingest(paths: list[Path]) -> list[dict]:
    with _importing():
        from sqlalchemy.exc import OperationalError

        from radar.flows.ingest import feed_files, ingest_files
        from radar.flows.secrets import PseudonymKeyError

    files = feed_files(paths)
    try:
        with _prefect(), _progress() as progress:
            bar = progress.add_task("Ingesting feed files", total=len(files))
            results = ingest_files(files, on_result=lambda _: progress.advance(bar))
    except PseudonymKeyError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1)
    except OperationalError:
        console.print("[red]The database could not be reached, so no file was moved or recorded. "
                      "Run the same command again when it is back.[/]")
        raise typer.Exit(1)
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


def run_cycle(period: str, full: bool = False) -> dict:
    with _importing():
        from radar.flows.cycle import monthly_cycle

    with _prefect(), console.status(f"Computing indicators up to {period}"):
        return monthly_cycle(period, full=full)


@app.command()
def cycle(
    period: PeriodOption,
    full: Annotated[bool, typer.Option("--full", help="Recompute every month, not only those whose files "
                                                      "changed since the last cycle (the result is the same).")] = False,
) -> None:
    """Bring every indicator up to date up to and including a month (running it twice changes nothing)."""
    with _importing():
        from radar.flows.cycle import CycleOrderError

    try:
        counts = run_cycle(period, full)
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
risks_app = typer.Typer(help="The risk register: list, show, add, score, review, decide on proposed re-scores.",
                        no_args_is_help=True)
impact_app = typer.Typer(help="The Impact Log: each challenge, the action taken and its evidence of impact.",
                         no_args_is_help=True)
app.add_typer(risks_app, name="risks")
app.add_typer(impact_app, name="impact")
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


class OutboxStatus(str, Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


@app.command()
def notify(
    period: PeriodOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; store and send nothing.")] = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD",
                                                 help="The day repeats and escalations are timed from (default today).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Route and render the month's alert messages into the outbox, retry what is pending, and send."""
    from radar.flows.notify import notify_flow

    try:
        today = datetime.strptime(as_of, "%Y-%m-%d").date() if as_of else None
    except ValueError:
        console.print(f"[red]--as-of must look like 2020-04-20, not {as_of!r}[/]")
        raise typer.Exit(2)
    with _prefect():
        rows = notify_flow(period, today, dry_run)
    if as_json:
        _print_json(rows)
    else:
        table = Table("to", "kind", "subject", "status", title=f"Messages for {period}")
        for r in rows:
            table.add_row(", ".join(r["to"]), r["kind"], r["subject"], r["status"])
        Console().print(table)
    notes = sorted({r["note"] for r in rows if "note" in r})
    for note in notes:
        console.print(f"[yellow]{len([r for r in rows if r.get('note') == note])} messages {note}; they wait in "
                      f"the outbox (`radar outbox --status pending`).[/]")
    if not rows:
        console.print("Nothing to send: every alert's recipients are up to date.")


@app.command()
def outbox(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    status: Annotated[Optional[OutboxStatus], typer.Option(help="Only messages with this status.")] = None,
) -> None:
    """Every message Radar has rendered: to whom, what, and whether it was sent (attempts, last error)."""
    from radar.models import outbox as box
    from radar.models.engine import get_engine

    ctx = get_context()
    with get_engine(ctx.settings.database_url).connect() as conn:
        rows = box.messages(conn, ctx.la_code, status.value if status else None)
    if as_json:
        _print_json(rows)
        return
    table = Table("created", "to", "kind", "subject", "status", "attempts", "last error", title="Outbox")
    for r in rows:
        table.add_row(str(r["created_on"]), ", ".join(r["to"]), r["kind"], r["subject"], r["status"],
                      str(r["attempts"]), r["last_error"] or "")
    Console().print(table)


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
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 in a container, behind a proxy).")]
        = "localhost",
    public_url: Annotated[str | None, typer.Option(
        envvar="RADAR_DASHBOARD_URL", help="The address browsers open, if not http://localhost:PORT (a proxy's): "
        "sign-in returns there.")] = None,
) -> None:
    """Start the Streamlit dashboard (sign-in from RADAR_OIDC_*, or RADAR_DEV_MODE=1 to try it on localhost)."""
    from radar import dashboard as package
    from radar.dashboard.auth import streamlit_command

    try:
        command = streamlit_command(Path(package.__file__).with_name("app.py"), port, address, public_url)
    except ValueError as error:  # some of the sign-in variables set, not all
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2)
    from radar.flows.processes import port_free, port_taken_message, run_child

    if port_free(port, "127.0.0.1" if address == "localhost" else address) is None:
        console.print(f"[red]{port_taken_message(port, 'dashboard', '--port')}[/]")
        raise typer.Exit(1)
    console.print(f"Dashboard: {public_url or f'http://localhost:{port}'}  (Ctrl+C to stop)")
    raise typer.Exit(run_child(command))  # stopped with this command, however it ends (flows/processes.py)


def served_deployments(config) -> list:
    """What `radar serve` runs and deploy/prefect.yaml declares: the flows' deployments and the quarterly Board
    pack's, which sits above the flows because it is composed by the dashboard (radar.board_packs)."""
    from radar.board_packs import deployment
    from radar.flows.service import deployments

    return [*deployments(config), deployment(config)]


@app.command()
def serve(
    prefect_port: Annotated[int, typer.Option(help="Port of Prefect's server and UI on localhost (0: any free one).")] = 4200,
    dashboard_port: Annotated[int, typer.Option(help="Port of the dashboard on localhost.")] = 8501,
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not start the dashboard.")] = False,
) -> None:
    """Run Radar as a service: watch the inbox, ingest what arrives, run the cycle, deliver alerts, chase late
    feeds, pull sources and write the quarterly Board pack, on Prefect (flows/service.py). Other radar commands use
    its server meanwhile."""
    from radar.flows import processes
    from radar.flows.server import configured_server

    settings = Settings.from_env()
    shared = configured_server() is not None  # a configured server may run others' flows: not ours to crash
    if not no_dashboard and processes.port_free(dashboard_port) is None:
        console.print(f"[red]{processes.port_taken_message(dashboard_port, 'dashboard', '--dashboard-port')}[/]")
        raise typer.Exit(1)
    with processes.stop_on_signals(), _prefect(serving=True, port=prefect_port) as url:
        from radar.flows.service import serve as run_service

        board, board_url = None, "off"
        if not no_dashboard:
            from radar import dashboard as package
            from radar.dashboard.auth import streamlit_command

            command = streamlit_command(Path(package.__file__).with_name("app.py"), dashboard_port)
            board = processes.start_child(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            board_url = f"http://localhost:{dashboard_port}"

        def ready(crashed: list[str]) -> None:
            if board is not None and not processes.wait_until_answers(
                    processes.dashboard_health(dashboard_port), board, processes.DASHBOARD_START_S):
                console.print(f"[red]The dashboard did not start on port {dashboard_port} (exit code "
                              f"{board.poll()}); radar serve stops. Choose another port with --dashboard-port, "
                              "or --no-dashboard.[/]")
                raise typer.Exit(1)
            if crashed:
                print(f"Marked crashed {len(crashed)} flow run(s) a stopped radar serve left running "
                      f"({', '.join(crashed)}); the inbox and the next cycle pick their work up again.", flush=True)
            print(f"Radar is serving: inbox {settings.inbox}, Prefect UI {url.removesuffix('/api')}, "
                  f"dashboard {board_url} (Ctrl+C to stop)", flush=True)

        try:
            run_service(served_deployments(get_context().config), ready, own_server=not shared)
        except KeyboardInterrupt:
            pass
        finally:
            if board is not None:
                processes.stop_child(board)


@app.command()
def watch() -> None:
    """Announce each complete file in the inbox to Prefect (event radar.feed.arrived), for an install whose
    flows run on a Prefect worker (deploy/); `radar serve` does this itself."""
    from radar.flows.service import watch_inbox

    with _prefect():
        watch_inbox()


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
    if not (os.environ.get("RADAR_SMTP_URL") and os.environ.get("RADAR_MAIL_FROM")):
        console.print(f"Alert digests: {counts.get('messages', 0)} messages were written to the outbox and NOT sent, "
                      "because no mail server is set (RADAR_SMTP_URL and RADAR_MAIL_FROM). Read them with "
                      "`radar outbox --json`; docs/operators.md shows how to run a local mail catcher.")
    if not no_dashboard:
        os.environ.setdefault("RADAR_DEV_MODE", "1")  # sample data: no sign-in needed, and every page says so
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


@contextlib.contextmanager
def _register() -> Iterator[tuple]:
    """The open register (seeded from the partnership's files on first use) in one transaction; a refusal is
    printed in plain words, exits 2 and rolls the whole edit back."""
    from radar.core.register import FileProblem
    from radar.models import register
    from radar.models.engine import get_engine

    ctx = get_context()
    try:
        with get_engine(ctx.settings.database_url).begin() as conn:
            register.ensure_seeded(conn, ctx.config, date.today())
            yield ctx, conn, register.load_matrix(ctx.config), date.today()
    except (register.RegisterRefusal, FileProblem) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2)


def _refuse_if(problems: list[str]) -> None:
    from radar.models.register import RegisterRefusal

    if problems:
        raise RegisterRefusal("Nothing was saved:\n  " + "\n  ".join(problems))


def _risk_views(conn, ctx, matrix, today) -> list[dict]:
    from radar.models.register import read_risks
    from radar.pipelines.register import risk_view

    return [risk_view(r, matrix, today) for r in read_risks(conn, ctx.la_code)]


def _print_risks(rows: list[dict], as_json: bool) -> None:
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "title", "subgroup", "owner", "current", "band", "appetite", "status", "next review",
                  "proposals", title="Risk register")
    for r in rows:
        table.add_row(r["id"], r["title"], r["subgroup"], r["owner"], str(r["current"]["score"]), r["band"],
                      "out" if r["out_of_appetite"] else "within", r["status"], str(r["next_review"]),
                      str(sum(p["status"] == "proposed" for p in r["proposals"])))
    Console().print(table)


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[str, typer.Option(help="Who is making the change (kept in the risk's history).")]


@risks_app.command("list")
def risks_list(
    as_json: JsonOption = False,
    subgroup: Annotated[Optional[str], typer.Option(help="Only this subgroup's risks (e.g. pci).")] = None,
    status: Annotated[Optional[str], typer.Option(help="Only risks with this status: open, treated, accepted "
                                                       "or closed.")] = None,
) -> None:
    """List the register's risks with their scores, appetite, evidence and proposed re-scores."""
    with _register() as (ctx, conn, matrix, today):
        rows = [r for r in _risk_views(conn, ctx, matrix, today)
                if subgroup in (None, r["subgroup"]) and status in (None, r["status"])]
    _print_risks(rows, as_json)


@risks_app.command("show")
def risks_show(risk_id: Annotated[str, typer.Argument(help="The risk's id, e.g. R04.")], as_json: JsonOption = False) -> None:
    """One risk in full, with its history (every change: who, when, what, why)."""
    from radar.models.register import RegisterRefusal, risk_history

    with _register() as (ctx, conn, matrix, today):
        found = [r for r in _risk_views(conn, ctx, matrix, today) if r["id"] == risk_id]
        if not found:
            raise RegisterRefusal(f"there is no risk {risk_id} in the register (see radar risks list)")
        row = found[0] | {"history": risk_history(conn, ctx.la_code, risk_id)}
    if as_json:
        _print_json(row)
    else:
        Console().print(row)


@risks_app.command("add")
def risks_add(
    file: Annotated[Path, typer.Option(help="A YAML file with `risks:` as in bromley_risks.yaml.", exists=True)],
    by: ByOption,
) -> None:
    """Add the risks in a YAML file; if any is refused, none is added."""
    from radar.core.register import RiskFile, load_yaml
    from radar.models.register import insert_risk
    from radar.pipelines.register import risk_problems

    with _register() as (ctx, conn, matrix, today):
        specs = load_yaml(file, RiskFile).risks
        subgroups = set(ctx.config.subgroups)
        _refuse_if([f"risk {s.id}: {p}" for s in specs
                    for p in risk_problems(s, matrix, subgroups, ctx.catalogue.indicator_by_id, today)])
        for spec in specs:
            insert_risk(conn, ctx.la_code, spec, matrix, today, by=by)
    console.print(f"Added {', '.join(s.id for s in specs)}")


@risks_app.command("score")
def risks_score(
    risk_id: Annotated[str, typer.Argument(help="The risk's id, e.g. R04.")],
    likelihood: Annotated[int, typer.Option(help="New likelihood (1 to the matrix's top level).")],
    impact: Annotated[int, typer.Option(help="New impact (1 to the matrix's top level).")],
    by: ByOption,
    reason: Annotated[str, typer.Option(help="Why the score changes.")],
    version: Annotated[int, typer.Option(help="The risk's version you are editing (radar risks show ID); an edit "
                                              "of an older version is refused.")],
) -> None:
    """Re-score a risk: its current likelihood and impact, with a reason."""
    from radar.models.register import rescore_risk
    from radar.pipelines.register import score_problems

    with _register() as (ctx, conn, matrix, today):
        _refuse_if(score_problems(matrix, {"current": (likelihood, impact)}))
        rescore_risk(conn, ctx.la_code, risk_id, likelihood=likelihood, impact=impact, by=by, reason=reason,
                     version=version, matrix=matrix, today=today)
    console.print(f"{risk_id}: now {likelihood} x {impact} = {likelihood * impact}")


@risks_app.command("review")
def risks_review(
    risk_id: Annotated[str, typer.Argument(help="The risk's id, e.g. R04.")],
    by: ByOption,
    note: Annotated[str, typer.Option(help="What the review found.")],
) -> None:
    """Record a review that keeps the score; the next review date follows the score band's cadence."""
    from radar.models.register import review_risk

    with _register() as (ctx, conn, matrix, today):
        next_review = review_risk(conn, ctx.la_code, risk_id, by=by, note=note, matrix=matrix, today=today)
    console.print(f"{risk_id}: reviewed; next review {next_review}")


@risks_app.command("decide")
def risks_decide(
    risk_id: Annotated[str, typer.Argument(help="The risk's id, e.g. R04.")],
    proposal: Annotated[int, typer.Argument(help="The proposal's id (radar risks show ID).")],
    by: ByOption,
    reason: Annotated[str, typer.Option(help="Why you decided so.")],
    accept: Annotated[bool, typer.Option("--accept", help="Take the proposed score.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Keep the current score.")] = False,
    change: Annotated[Optional[str], typer.Option(help="Give another score instead, as LIKELIHOOD,IMPACT.",
                                                  metavar="L,I")] = None,
) -> None:
    """Decide on a proposed re-score: --accept, --reject or --change L,I (the decision is kept in the history)."""
    from radar.models.register import decide_proposal
    from radar.pipelines.register import score_problems

    with _register() as (ctx, conn, matrix, today):
        chosen = [name for name, given in (("accepted", accept), ("rejected", reject), ("changed", change)) if given]
        _refuse_if([] if len(chosen) == 1 else ["give exactly one of --accept, --reject or --change L,I"])
        score = None
        if change:
            parts = change.split(",")
            _refuse_if([] if len(parts) == 2 and all(p.strip().isdigit() for p in parts)
                       else [f"--change must be LIKELIHOOD,IMPACT such as 3,4, not {change!r}"])
            score = (int(parts[0]), int(parts[1]))
            _refuse_if(score_problems(matrix, {"changed": score}))
        result = decide_proposal(conn, ctx.la_code, risk_id, proposal, decision=chosen[0], by=by, reason=reason,
                                 matrix=matrix, today=today, change=score)
    console.print(f"{risk_id}: proposal {proposal} {result['status']}")


@impact_app.command("list")
def impact_list(
    as_json: JsonOption = False,
    subgroup: Annotated[Optional[str], typer.Option(help="Only this subgroup's entries.")] = None,
    status: Annotated[Optional[str], typer.Option(help="Only entries with this status: open, in_progress or "
                                                       "complete.")] = None,
) -> None:
    """List the Impact Log: each challenge, the action and its evidence of impact."""
    from radar.models.register import read_impact

    with _register() as (ctx, conn, _matrix, _today):
        rows = [r for r in read_impact(conn, ctx.la_code)
                if subgroup in (None, r["subgroup"]) and status in (None, r["status"])]
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "date", "subgroup", "challenge", "action", "owner", "status", title="Impact Log")
    for r in rows:
        table.add_row(r["id"], str(r["date"]), r["subgroup"], r["challenge"], r["action"], r["owner"], r["status"])
    Console().print(table)


@impact_app.command("add")
def impact_add(
    subgroup: Annotated[str, typer.Option(help="The subgroup that raised the challenge (e.g. pci).")],
    challenge: Annotated[str, typer.Option(help="The challenge made.")],
    action: Annotated[str, typer.Option(help="The action agreed.")],
    owner: Annotated[str, typer.Option(help="Who owns the action.")],
    by: ByOption,
    on: Annotated[Optional[datetime], typer.Option("--date", formats=["%Y-%m-%d"],
                                                   help="When it was raised (default today).")] = None,
    status: Annotated[str, typer.Option(help="open, in_progress or complete.")] = "open",
    evidence: Annotated[str, typer.Option(help="Evidence of impact so far.")] = "",
) -> None:
    """Add an entry to the Impact Log (its id is the next IL number)."""
    from pydantic import ValidationError

    from radar.core.register import ImpactEntrySpec
    from radar.models.register import insert_impact, next_impact_id
    from radar.pipelines.register import impact_problems

    with _register() as (ctx, conn, _matrix, today):
        fields = {"id": next_impact_id(conn, ctx.la_code), "date": on.date() if on else today, "subgroup": subgroup,
                  "challenge": challenge, "action": action, "owner": owner, "status": status, "evidence": evidence}
        try:
            entry = ImpactEntrySpec(**fields)
        except ValidationError as error:
            _refuse_if([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()])
        _refuse_if(impact_problems(entry, set(ctx.config.subgroups)))
        insert_impact(conn, ctx.la_code, entry, by=by)
    console.print(f"Added {entry.id}")


@impact_app.command("update")
def impact_update(
    entry_id: Annotated[str, typer.Argument(help="The entry's id, e.g. IL04.")],
    by: ByOption,
    version: Annotated[int, typer.Option(help="The entry's version you are editing (radar impact list --json).")],
    status: Annotated[Optional[str], typer.Option(help="open, in_progress or complete.")] = None,
    action: Annotated[Optional[str], typer.Option(help="The action, reworded.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Who owns the action now.")] = None,
    evidence: Annotated[Optional[str], typer.Option(help="Evidence of impact.")] = None,
) -> None:
    """Update an Impact Log entry's status, action, owner or evidence of impact."""
    from typing import get_args

    from radar.core.register import ImpactStatus
    from radar.models.register import update_impact

    changes = {k: v for k, v in {"status": status, "action": action, "owner": owner, "evidence": evidence}.items()
               if v is not None}
    with _register() as (ctx, conn, _matrix, _today):
        _refuse_if([] if changes else ["say what to change: --status, --action, --owner or --evidence"])
        _refuse_if([] if status in (None, *get_args(ImpactStatus))
                   else [f"status must be one of {', '.join(get_args(ImpactStatus))}, not {status!r}"])
        update_impact(conn, ctx.la_code, entry_id, changes, by=by, version=version)
    console.print(f"{entry_id}: updated")


AsOfOption = Annotated[Optional[datetime], typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="The day the assessment is made (default: today, or for a month long "
                                          "past the end of the month after it).")]


@app.command()
def sta(period: PeriodOption, as_json: JsonOption = False, as_of: AsOfOption = None) -> None:
    """The strategic threat assessment for a month: every theme and open risk ranked, with why and what changed
    since the last Board."""
    from radar.dashboard.board_pack import assessment
    from radar.models.engine import get_engine

    ctx, today = get_context(), date.today()
    day = as_of.date() if as_of else periods.as_of(period, today)
    result = assessment(get_engine(ctx.settings.database_url), ctx, period, day, today)[1]
    if as_json:
        _print_json(result)
        return
    table = Table("rank", "threat", "score", "harm", "likelihood", "trend", "confidence", "why",
                  title=f"Strategic threat assessment, {periods.label(period)} (last Board {result['last_board']})")
    for t in result["threats"]:
        table.add_row(str(t["rank"]), t["title"], f"{t['score']:g}", str(t["harm"]), f"{t['likelihood']:g}",
                      f"{t['direction']} ({t['trend']:+g})", t["confidence"], t["reason"])
    Console().print(table)


class PackFormat(str, Enum):
    html = "html"
    pdf = "pdf"


@app.command()
def report(
    period: PeriodOption,
    out: Annotated[Path, typer.Option(help="Where to write the pack.")],
    fmt: Annotated[PackFormat, typer.Option("--format", help="html or pdf.")] = PackFormat.pdf,
    publication: Annotated[bool, typer.Option("--publication", help="The version for publication: counts from 1 "
                                                                     "to 5, and any they could be worked out "
                                                                     "from, shown as c.")] = False,
    as_of: AsOfOption = None,
) -> None:
    """The Board pack for a month: threat assessment, register heat map, key indicators with SPC charts, Impact
    Log, agencies' submission performance, methods and sources."""
    from radar.dashboard.board_pack import gather, render
    from radar.models.engine import get_engine

    if not periods.is_period(period):
        console.print(f"[red]--period must be a month as YYYY-MM, such as 2020-03, not {period!r}[/]")
        raise typer.Exit(2)
    ctx = get_context()
    pack, charts = gather(get_engine(ctx.settings.database_url), ctx, period,
                          as_of.date() if as_of else periods.as_of(period, date.today()), date.today())
    out.write_bytes(render(pack, charts, fmt.value, publication))
    console.print(f"Wrote the {'published' if publication else 'internal'} Board pack for {periods.label(period)} "
                  f"to {out}")
