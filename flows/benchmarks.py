"""Import published national statistics (DfE Explore Education Statistics CSVs) as benchmarks.

The whole import is checked before anything is written: a file with an unknown
column, a renamed measure or duplicated rows raises a clear error naming file,
column and row, and the benchmarks already loaded stay as they were.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from radar.flows.runtime import context, engine, retry_on_io
from radar.models import audit as audit_trail
from radar.models import bulk
from radar.models.audit import utcnow
from radar.models.benchmarks import Benchmark
from radar.pipelines.benchmarks import BENCHMARK_SCHEMA, KEY, extract
from radar.validation.ees import EESError, EESProblem, load_benchmark_mapping, read_ees
from radar.validation.population import all_populations

BENCHMARK = Benchmark.__table__


def benchmark_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.csv")) if path.is_dir() else [path]
    return found


@task(cache_policy=NO_CACHE)
def read_benchmarks(paths: list[Path]) -> pl.DataFrame:
    """Read and map every file; raise EESError with all problems if any file is wrong."""
    ctx = context()
    mapping = load_benchmark_mapping(catalogue=ctx.catalogue)
    wanted = [p for p in benchmark_files(paths) if any(p.match(s.file) for s in mapping.sources)]
    frames, problems = {}, []
    for path in wanted:
        try:
            frames[path.name] = read_ees(path)
        except EESError as error:
            problems += error.problems
    if problems:
        raise EESError(problems)
    if not frames:
        raise EESError([EESProblem(str(p), None, None, None, "no file here matches a publication in radar/core/benchmarks.yaml")
                        for p in paths])
    return extract(frames, mapping, all_populations(ctx.config.population_path()))


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def save_benchmarks(benchmarks: pl.DataFrame, sources: list[str]) -> dict[str, int]:
    """Replace the stored figures of the indicators and years imported, leaving the rest."""
    indicators = benchmarks["indicator"].unique().to_list()
    years = benchmarks["year"].unique().to_list()
    values = [c for c in BENCHMARK_SCHEMA if c not in KEY]
    with engine().begin() as conn:
        counts = bulk.sync_rows(
            conn, BENCHMARK, benchmarks.with_columns(source_file=pl.lit(", ".join(sources))),
            keys=KEY, values=[*values, "source_file"],
            scope=[BENCHMARK.c.indicator.in_(indicators), BENCHMARK.c.year.in_(years)], fixed={},
            touch={"imported_at": utcnow()},
        )
        audit_trail.audit(conn, context().la_code, "benchmarks", "benchmarks_imported", ", ".join(sources), counts)
    return counts


@flow(name="import-benchmarks")
def import_benchmarks(paths: list[Path]) -> dict[str, int]:
    paths = [Path(p) for p in paths]
    benchmarks = read_benchmarks(paths)
    return save_benchmarks(benchmarks, [p.name for p in benchmark_files(paths)])

