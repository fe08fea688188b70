"""The published benchmarks (England, regions, every local authority): the one read behind the comparison.

`comparison_inputs` is what the dashboard, `radar sta`, the Board pack and
the cycle hand to the pure radar.pipelines.benchmarks.benchmark_comparison
(`benchmark_comparison(**comparison_inputs(conn, ...), period=...)`), so the
authority is set beside England, its region and its statistical neighbours
the same way, for the same year, everywhere.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import Connection, select

from radar.models.store import polars_schema
from radar.models.tables import Benchmark
from radar.validation.neighbours import statistical_neighbours

UNSTORED = ("id", "source_file", "imported_at")


def read_benchmarks(conn: Connection) -> pl.DataFrame:
    """Every published figure loaded (England, regions, every local authority)."""
    table = Benchmark.__table__
    schema = {c: t for c, t in polars_schema(table).items() if c not in UNSTORED}
    return pl.read_database(select(*(table.c[c] for c in schema)), conn, schema_overrides=schema).select(list(schema))


def comparison_inputs(conn: Connection, la_code: str, old_la_code: str | None, neighbours_path: Path) -> dict:
    """benchmark_comparison's arguments for `la_code`: every published figure, the authority's codes and its
    statistical neighbours' old codes.  `old_la_code` is DfE's old three-digit code, which the neighbour
    groupings use: the partnership's own from its configuration; None for another authority, whose code is
    then taken from its benchmark rows.  With no figure for the authority, no figures at all."""
    published = read_benchmarks(conn)
    if old_la_code is None:
        own = published.filter(pl.col("area_code") == la_code)["old_la_code"].drop_nulls()
        old_la_code = own.first() if len(own) else None
    if old_la_code is None or published.is_empty():
        return {"benchmarks": published.clear(), "la_code": la_code, "old_la_code": "", "neighbour_old_codes": []}
    return {"benchmarks": published, "la_code": la_code, "old_la_code": old_la_code,
            "neighbour_old_codes": statistical_neighbours(neighbours_path, old_la_code)}
