"""The monthly cycle through the store: one new month incrementally against `radar cycle --full`.

A store holds ten years of the sample partnership's history (`radar synth`,
April 2010 - March 2020, every file through the real ingest without the
Prefect harness) and has had its cycle for March 2020.  April 2020's files
arrive and the store is copied, so both runs start from the same store; the
timed runs are the flow `radar cycle` runs (`monthly_cycle`, under one
Prefect test server started before the clock, so neither pays a server
start): the incremental cycle for April on the store, `--full` on its copy.
Both end with the same stored tables (tests/test_cycle_incremental.py), so
both write the same differences.  Figure: `cycle_incremental_vs_full`
(and `_pg` on PostgreSQL when RADAR_TEST_DATABASE_URL names a server).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

FIRST, LAST, NEW = "2010-04", "2020-03", "2020-04"
TODAY = date(2020, 5, 25)


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


def _copy(url: str) -> str:
    """A copy of the store at `url` (no connection to it may be open)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        shutil.copyfile(parsed.database, f"{parsed.database}.copy")
        return f"sqlite:///{parsed.database}.copy"
    return _postgres(url, f"{parsed.database}_copy", template=parsed.database)


def measure(feeds: Path, database_url: str) -> dict[str, float]:
    """Seconds of the incremental cycle and of the full one for one new month, from the same store."""
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
    os.environ["RADAR_DATABASE_URL"] = _copy(database_url)
    start = time.perf_counter()
    monthly_cycle(NEW, today=TODAY, full=True)
    full = time.perf_counter() - start
    dispose_engines()
    os.environ["RADAR_DATABASE_URL"] = database_url
    start = time.perf_counter()
    monthly_cycle(NEW, today=TODAY)
    incremental = time.perf_counter() - start
    dispose_engines()
    return {"incremental": incremental, "full": full}


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
                ratio = seconds["incremental"] / seconds["full"]
                print(f"cycle{suffix or ' (SQLite)'} for one new month over ten years: incremental "
                      f"{seconds['incremental']:.2f}s, full {seconds['full']:.2f}s, ratio {ratio:.3f}")
                figures |= {f"cycle_incremental_vs_full{suffix}": ratio,
                            f"cycle_incremental_seconds{suffix}": seconds["incremental"],
                            f"cycle_full_seconds{suffix}": seconds["full"]}
    return figures


if __name__ == "__main__":
    from bench.results import record

    record(**run())
