"""The monthly cycle through the store: one new month incrementally against `radar cycle --full`.

A store holds ten years of the sample partnership's history (`radar synth`,
April 2010 - March 2020, every file through the real ingest without the
Prefect harness) and has had its cycle for March 2020.  April 2020's files
arrive and the store is copied, so every timed run starts from the same
store.  Each run, incremental and `--full`, is timed three ways:

- `command`: the real `radar cycle --period 2020-04 [--full]`, a process of
  its own, attached to a running Prefect server (as it is while `radar
  serve` runs), so it pays Python's and Radar's imports and one flow run,
  but not a server start;
- `flow`: the flow those commands run (`monthly_cycle`), in this process,
  as they run it: without heartbeats (radar.cli.plumbing.prefect; with them, a flow
  run's end waits for its heartbeat thread, which sleeps in whole seconds);
- `work`: the cycle's own work, the flow's body with its task runs, without
  the flow run's start and end (Prefect creates the run and its states).

Both runs end with the same stored tables (tests/test_cycle_incremental.py),
so both write the same differences.  Each is timed REPEATS times, each time
on a fresh copy, and the fastest counts: on a shared machine the slower ones
lost time to other work.  Figures: `cycle_incremental_vs_full`
(the commands; the aim of issue 12), `cycle_flow_incremental_vs_full`,
`cycle_work_incremental_vs_full`, the seconds behind each, and the load
average when they were taken (the machine may be shared); with `_pg` on
PostgreSQL when RADAR_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench import processes

FIRST, LAST, NEW = "2010-04", "2020-03", "2020-04"
TODAY = date(2020, 5, 25)
REPEATS = 3
RADAR = Path(sys.executable).with_name("radar")


def _files(folder: Path, *, new: bool) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and (f"__{NEW}." in p.name) == new)


def _postgres(url: str, name: str, template: str | None = None) -> str:
    """A database `name` beside the one `url` names: empty, or a copy of `template`."""
    server = make_url(url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def _copy(url: str, suffix: str) -> str:
    """A copy of the store at `url` (no connection to it may be open)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        shutil.copyfile(parsed.database, f"{parsed.database}.{suffix}")
        return f"sqlite:///{parsed.database}.{suffix}"
    return _postgres(url, f"{parsed.database}_{suffix}", template=parsed.database)


def _drop(url: str) -> None:
    """Remove a PostgreSQL copy once timed (an SQLite one goes with the temporary folder)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        admin.dispose()


def _command(full: bool) -> float:
    """Seconds of `radar cycle` in a process of its own, against this process's Prefect server and store."""
    from prefect.settings import PREFECT_API_URL

    env = os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()}
    start = time.perf_counter()
    done = processes.run([str(RADAR), "cycle", "--period", NEW, *(["--full"] if full else [])], env=env,
                         timeout=3600, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"radar cycle failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def _flow(full: bool) -> float:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from radar.flows.cycle import monthly_cycle

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        start = time.perf_counter()
        monthly_cycle(NEW, today=TODAY, full=full)
        return time.perf_counter() - start


def _work(full: bool) -> float:
    from prefect import flow

    from radar.flows.cycle import monthly_cycle

    @flow(name="bench-cycle-work")
    def timed() -> float:
        start = time.perf_counter()
        monthly_cycle.fn(NEW, today=TODAY, full=full)
        return time.perf_counter() - start

    return timed()


WAYS = {"": _command, "_flow": _flow, "_work": _work}


def measure(feeds: Path, database_url: str) -> dict[str, float]:
    """Seconds of the incremental cycle and of the full one for one new month, each way, from copies of one store."""
    from radar.flows.cycle import monthly_cycle
    from radar.flows.ingest import ingest_one
    from radar.models.engine import dispose_engines

    dispose_engines()
    os.environ["RADAR_DATABASE_URL"] = database_url
    for path in _files(feeds, new=False):
        ingest_one.fn(path)
    monthly_cycle(LAST, today=TODAY)
    for path in _files(feeds, new=True):
        ingest_one.fn(path)
    dispose_engines()
    seconds: dict[str, float] = {}
    for _ in range(REPEATS):
        for way, timed in WAYS.items():
            for full in (True, False):
                name = f"{way}_{'full' if full else 'incremental'}"
                os.environ["RADAR_DATABASE_URL"] = copy = _copy(database_url, name.strip("_"))
                seconds[name] = min(seconds.get(name, float("inf")), timed(full))
                dispose_engines()
                _drop(copy)
    os.environ["RADAR_DATABASE_URL"] = database_url
    return seconds


def run() -> dict[str, float]:
    from prefect.testing.utilities import prefect_test_harness

    from radar.core.catalogue import load_catalogue
    from radar.synth import generate

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="radar-bench-cycle-") as tmp:
        home = Path(tmp) / "home"
        os.environ["RADAR_HOME"] = str(home)
        os.environ.setdefault("RADAR_PSEUDONYM_KEY", "bench-key-not-secret")
        feeds = Path(tmp) / "feeds"
        feeds.mkdir()
        generate(feeds, load_catalogue(), start=FIRST, end=NEW, seed=2020)
        stores = {"": f"sqlite:///{Path(tmp) / 'radar.db'}"}
        if os.environ.get("RADAR_TEST_DATABASE_URL"):
            stores["_pg"] = _postgres(os.environ["RADAR_TEST_DATABASE_URL"], "radar_bench_cycle")
        with prefect_test_harness(server_startup_timeout=120):
            for suffix, url in stores.items():
                seconds = measure(feeds, url)
                figures[f"cycle_load_1min{suffix}"] = os.getloadavg()[0]
                for way in WAYS:
                    incremental, full = seconds[f"{way}_incremental"], seconds[f"{way}_full"]
                    name = "cycle" + (way or "")
                    print(f"{name}{suffix or ' (SQLite)'} for one new month over ten years: incremental "
                          f"{incremental:.2f}s, full {full:.2f}s, ratio {incremental / full:.3f}")
                    figures |= {f"{name}_incremental_vs_full{suffix}": incremental / full,
                                f"{name}_incremental_seconds{suffix}": incremental,
                                f"{name}_full_seconds{suffix}": full}
    return figures


if __name__ == "__main__":
    from bench.results import record

    record(**run())
