"""Ingest throughput on one million `mash_contacts` rows.

Baseline (measured in the same run, same file, same kind of database): a
polars read of the file plus a plain bulk insert (DB-API executemany) of the
same rows into the same table of a store of its own.  Its own, because the
pseudonym key's guard rightly refuses to make a key for a store that already
holds pseudonymised rows: a baseline written into Radar's store first stopped
Radar's ingest.  Radar's path is the real one without the Prefect
harness: hash, read, validate with pandera, pseudonymise, archive and store
in one transaction.  Figure: `ingest_vs_baseline` = Radar time / baseline time.

Both sides are timed from a loaded process and a store already made, as the
baseline always was: what is measured is the work on a million rows.  Radar's
one-off start (importing the ingest flow, Prefect with it, and making its
store) is timed apart as `ingest_start_seconds`; the command-line aims
(bench/cli.py) hold that start-up cost to account.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from bench import processes

ROWS = 1_000_000
REPEATS = 3
PERIOD = "2020-01"
SOURCES = ["police", "health", "schools", "la_services", "individual", "other"]
OUTCOMES = ["referral_to_csc", "early_help", "advice_information", "no_further_action"]


def write_contacts(path: Path, rows: int = ROWS, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 31, rows)
    frame = pl.DataFrame({
        "contact_id": [f"MC-{i:08d}" for i in range(rows)],
        "child_ref": [f"LCS{n:07d}" for n in rng.integers(0, rows // 3, rows)],
        "received_date": [(date(2020, 1, 1) + timedelta(days=int(d))).isoformat() for d in days],
        "source": np.array(SOURCES)[rng.integers(0, len(SOURCES), rows)],
        "outcome": np.array(OUTCOMES)[rng.integers(0, len(OUTCOMES), rows)],
    })
    frame.write_csv(path)
    return path


def baseline(path: Path, engine) -> float:
    """polars read + plain executemany of the same rows into the same table."""
    from radar.models import submissions as submission_store
    from radar.models.submissions import MashContact

    start = time.perf_counter()
    frame = pl.read_csv(path, try_parse_dates=True)
    with engine.begin() as conn:
        submission_id = submission_store.record_submission(
            conn, la_code="E09000006", actor="bench", feed_id="mash_contacts", period=PERIOD,
            file_name="baseline", file_hash="0" * 64, status="rejected",
        )
        rows = frame.with_columns(
            submission_id=pl.lit(submission_id), la_code=pl.lit("E09000006"), period=pl.lit(PERIOD),
            row_number=pl.int_range(2, frame.height + 2),
        )
        table = MashContact.__table__
        columns = rows.columns
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join([marker] * len(columns))})',
            list(rows.iter_rows()),
        )
    return time.perf_counter() - start


def radar_start() -> float:
    """Load the ingest flow's code and make Radar's store (`RADAR_HOME`), before any file."""
    start = time.perf_counter()
    import radar.flows.ingest  # noqa: F401 - loading it is the start being timed
    from radar.flows.runtime import engine

    engine()
    return time.perf_counter() - start


def radar_ingest(path: Path) -> float:
    from radar.flows.ingest import ingest_one

    start = time.perf_counter()
    outcome = ingest_one.fn(path)
    assert outcome.status in ("accepted", "replaced"), outcome.errors[:3]
    return time.perf_counter() - start


PEAK_ROWS = 2_600_000  # about 150 MB of CSV
PEAK_SCRIPT = """
import os, sys
from pathlib import Path
from radar.flows.ingest import ingest_path
from radar.flows.runtime import engine
engine()
outcome = ingest_path(Path(sys.argv[1]))
assert outcome.status in ("accepted", "replaced"), outcome.errors[:3]
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent at fork, so a child started by a
# benchmark that had just built a large frame reported the parent's peak, not its own.
print(next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def ingest_peak(rows: int = PEAK_ROWS) -> dict[str, float]:
    """Peak memory of ingesting a ~150 MB contacts CSV in a fresh process, against the file's size.

    A fresh process, because peak RSS only ever grows: the figure must be the
    ingest's own, not the benchmark's earlier work.
    """
    with tempfile.TemporaryDirectory(prefix="radar-bench-peak-") as tmp:
        path = write_contacts(Path(tmp) / f"mash_contacts__{PERIOD}.csv", rows)
        size = path.stat().st_size
        env = {**os.environ, "RADAR_HOME": tmp, "RADAR_PSEUDONYM_KEY": "bench-key-not-secret-000"}
        env.pop("RADAR_DATABASE_URL", None)
        out = processes.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], env=env, timeout=3600).stdout
    peak = int(out.split()[-1])
    print(f"ingest of a {size / 1e6:.0f} MB contacts CSV: peak RSS {peak / 2**30:.2f} GiB, "
          f"{peak / size:.1f}x the file's size")
    return {"ingest_peak_rss_gib": peak / 2**30, "ingest_peak_rss_vs_file_size": peak / size}


def run() -> dict[str, float]:
    """Both sides on SQLite (the embedded default), each in a store of its own under a temporary RADAR_HOME.

    Best of REPEATS for each side, taken in turns, as bench/national.py does:
    other work shares the two cores, and a single run of either side took up
    to three times as long as the other beside the test suite.
    """
    with tempfile.TemporaryDirectory(prefix="radar-bench-") as tmp:
        root = Path(tmp)
        os.environ.pop("RADAR_DATABASE_URL", None)
        from radar.models.engine import get_engine

        source = write_contacts(root / f"mash_contacts__{PERIOD}.csv")
        size_mb = source.stat().st_size / 1e6
        bases, ours, starts = [], [], []
        for repeat in range(REPEATS):
            home = root / f"run-{repeat}"
            home.mkdir()
            os.environ["RADAR_HOME"] = str(home)
            bases.append(baseline(source, get_engine(f"sqlite:///{home / 'baseline.db'}")))
            starts.append(radar_start())
            ours.append(radar_ingest(Path(shutil.copy(source, home / source.name))))
    base, mine, start = min(bases), min(ours), starts[0]  # the first start is the one that loads the code
    ratio = mine / base
    print(f"ingest of {ROWS:,} mash_contacts rows ({size_mb:.0f} MB), best of {REPEATS}: radar {mine:.1f}s "
          f"(runs {', '.join(f'{t:.1f}' for t in ours)}; after a one-off start of {start:.1f}s), "
          f"baseline (polars read + bulk insert) {base:.1f}s (runs {', '.join(f'{t:.1f}' for t in bases)}), "
          f"ratio {ratio:.2f}x")
    return {"ingest_vs_baseline": ratio, "ingest_seconds": mine, "ingest_baseline_seconds": base,
            "ingest_start_seconds": start, **ingest_peak()}
