"""`radar serve`, `radar watch`, `radar dashboard` and `radar demo`: Radar as a service, the dashboard, and
the demonstration from sample data to screen."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from radar.cli.benchmarks import run_benchmark_import
from radar.cli.catalog import synth
from radar.cli.common import PeriodOption, app, console, fail
from radar.cli.ingest import run_cycle, run_ingest
from radar.cli.plumbing import prefect


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
        raise fail(str(error))
    from radar.flows.processes import port_free, port_taken_message, run_child

    if port_free(port, "127.0.0.1" if address == "localhost" else address) is None:
        console.print(f"[red]{port_taken_message(port, 'dashboard', '--port')}[/]")
        raise typer.Exit(1)
    console.print(f"Dashboard: {public_url or f'http://localhost:{port}'}  (Ctrl+C to stop)")
    raise typer.Exit(run_child(command))  # stopped with this command, however it ends (flows/processes.py)


def served_deployments(config) -> list:
    """What `radar serve` runs: the deployments declared in flows/deployments.py (as deploy/prefect.yaml), but
    the worker's safety-net sweep and the cycle's trigger on accepted files, which radar serve does itself."""
    from radar.flows.service import served

    return served(config)


@app.command()
def serve(
    prefect_port: Annotated[int, typer.Option(
        help="Port of Prefect's server and UI on localhost (0: any free one).")] = 4200,
    dashboard_port: Annotated[int, typer.Option(help="Port of the dashboard on localhost.")] = 8501,
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Do not start the dashboard.")] = False,
) -> None:
    """Run Radar as a service: watch the inbox, ingest what arrives, run the cycle, deliver alerts, chase late
    feeds, pull sources and write the quarterly Board pack, on Prefect (flows/service.py). Other radar commands use
    its server meanwhile."""
    from radar.core.config import Settings, get_context
    from radar.flows import processes
    from radar.flows.server import configured_server

    settings = Settings.from_env()
    shared = configured_server() is not None  # a configured server may run others' flows: not ours to crash
    if not no_dashboard and processes.port_free(dashboard_port) is None:
        console.print(f"[red]{processes.port_taken_message(dashboard_port, 'dashboard', '--dashboard-port')}[/]")
        raise typer.Exit(1)
    with processes.stop_on_signals(), prefect(serving=True, port=prefect_port) as url:
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

    with prefect():
        watch_inbox()


@app.command()
def demo(
    no_dashboard: Annotated[bool, typer.Option("--no-dashboard", help="Stop after loading the data.")] = False,
    end: PeriodOption = "2020-03",
) -> None:
    """Generate sample feeds, ingest them through the flows, compute indicators and open the dashboard."""
    from radar.core.config import Settings, get_context

    settings = Settings.from_env()
    feeds = settings.home / "demo-feeds"
    synth(out=feeds, start="2017-04", end=end, seed=2020, with_bad_files=True)
    with prefect():  # one server for the three steps
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
