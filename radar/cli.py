"""The `radar` command.

Commands that move data run the Prefect flows (flows/), so a laptop run and a
server deployment take the same path; commands that only read print from the
store.  All state lives under RADAR_HOME unless RADAR_DATABASE_URL says
otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from radar.config import Settings, get_context

app = typer.Typer(help="Radar: a live strategic threat assessment for a Safeguarding Children Partnership.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True)
DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
PeriodOption = Annotated[str, typer.Option(help="Month as YYYY-MM.", metavar="YYYY-MM")]


def _prepare_prefect(settings: Settings) -> None:
    """Keep Prefect's own state under RADAR_HOME and its chatter out of the user's way."""
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")  # the embedded server's shutdown noise
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no internet here, and no tracking


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
                         progress=lambda done, total: progress.update(bar, completed=done, total=total))
    console.print(f"Wrote {len(files)} files to {out}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def run_ingest(paths: list[Path]) -> list[dict]:
    _prepare_prefect(Settings.from_env())
    from flows.ingest import feed_files, ingest_files

    files = feed_files(paths)
    with _progress() as progress:
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
    _prepare_prefect(Settings.from_env())
    from flows.cycle import monthly_cycle

    with console.status(f"Computing indicators up to {period}"):
        return monthly_cycle(period)


@app.command()
def cycle(period: PeriodOption) -> None:
    """Bring every indicator up to date up to and including a month (running it twice changes nothing)."""
    counts = run_cycle(period)
    console.print(f"Indicator values up to {period}: {counts['inserted']} new, {counts['updated']} changed, "
                  f"{counts['deleted']} removed")


@app.command()
def indicators(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    indicator: Annotated[Optional[str], typer.Option(help="Only this indicator id.")] = None,
) -> None:
    """Print stored indicator values (period, indicator, breakdown, value)."""
    from models.engine import get_engine
    from models.queries import indicator_values

    ctx = get_context()
    if indicator and indicator not in ctx.catalogue.indicator_by_id:
        console.print(f"[red]Unknown indicator {indicator!r}.[/] See `radar catalog`.")
        raise typer.Exit(2)
    frame = indicator_values(get_engine(ctx.settings.database_url), ctx.la_code, indicator)
    if as_json:
        _print_json(frame.select("period", "indicator", "breakdown", "value").to_dicts())
    else:
        Console().print(frame)


@app.command()
def submissions(as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False) -> None:
    """Print every submission (accepted, replaced, duplicate, rejected) with its time and reasons."""
    from models.engine import get_engine
    from models.queries import submissions as load_submissions

    ctx = get_context()
    frame = load_submissions(get_engine(ctx.settings.database_url), ctx.la_code)
    if as_json:
        _print_json(frame.to_dicts())
    else:
        Console().print(frame.select("id", "file_name", "feed_id", "period", "status", "is_current", "received_at"))


@app.command()
def dashboard(port: Annotated[int, typer.Option(help="Port on localhost.")] = 8501) -> None:
    """Start the Streamlit dashboard on localhost."""
    console.print(f"Dashboard: http://localhost:{port}  (Ctrl+C to stop)")
    subprocess.run(
        [sys.executable, "-m", "streamlit", "run", str(DASHBOARD), "--server.headless", "true",
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
    results = run_ingest([feeds])
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    console.print(f"Ingested {len(results)} files: {by_status}")
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
