"""The `radar` command (`radar …` or `python -m radar.cli …`), one module per command group.

Commands that move data run the Prefect flows (flows/), so a laptop run and a
server deployment take the same path; commands that change the store call the
actions floor (radar.actions), as the dashboard does; commands that only read
print from the store and never import Prefect or the flows.  Each command
imports what it needs when it runs, so `radar alerts` does not pay for the
cycle's imports.  All state lives under RADAR_HOME unless RADAR_DATABASE_URL
says otherwise.

- common.py: the Typer app, the console, the shared options and printing;
- plumbing.py: Prefect's state folder, the server a command's flows run on;
- catalog.py (catalog, docs, synth), ingest.py (ingest, cycle, indicators),
  submissions.py, alerts.py, benchmarks.py, spc.py, risks.py, impact.py,
  report.py (sta, report), notify.py (notify, outbox), signals.py (the
  detectors replayed: backtest, run) and serve.py (serve, watch, dashboard, demo).
"""

from __future__ import annotations

# Each group's module adds its commands to `app` when imported (`radar --help` lists them in this order);
# plumbing adds the callback that runs before any command.
from radar.cli import (
    alerts,
    benchmarks,
    catalog,
    impact,
    ingest,
    notify,
    plumbing,
    report,
    risks,
    serve,
    signals,
    spc,
    submissions,
)
from radar.cli.common import app
from radar.cli.serve import served_deployments

__all__ = ["alerts", "app", "benchmarks", "catalog", "impact", "ingest", "notify", "plumbing", "report", "risks",
           "serve", "served_deployments", "signals", "spc", "submissions"]

if __name__ == "__main__":
    app()
