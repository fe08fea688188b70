"""The published benchmarks (England, regions, every local authority), and the one read behind the comparison.

`comparison_inputs` is what the dashboard, `radar sta`, the Board pack and
the cycle hand to the pure radar.pipelines.benchmarks.benchmark_comparison
(`benchmark_comparison(**comparison_inputs(conn, ...), period=...)`), so the
authority is set beside England, its region and its statistical neighbours
the same way, for the same year, everywhere.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Column, Connection, Index, Text, select
from sqlmodel import Field, SQLModel

from radar.models.audit import utcnow
from radar.models.bulk import polars_schema, read_frame
from radar.validation.neighbours import statistical_neighbours


class Benchmark(SQLModel, table=True):
    """A published annual figure (DfE/ONS) for England, a region or a local authority.

    Suppressed cells keep their symbol (`c`, `x`, `z`, `low`, `k`, `u`) with no
    value: "not published" is never turned into a number.
    """

    __tablename__ = "benchmark"
    __table_args__ = (Index("uq_benchmark", "indicator", "year", "level", "area_code", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    indicator: str = Field(max_length=64)
    year: int  # DfE time_period: 2020 is the year ending 31 March 2020 (2019-20)
    level: str = Field(max_length=16)  # national | regional | la
    area_code: str = Field(max_length=9)
    old_la_code: str | None = Field(default=None, max_length=3)
    area_name: str = Field(sa_column=Column(Text, nullable=False))
    region_code: str | None = Field(default=None, max_length=9)
    value: float | None = None
    symbol: str | None = Field(default=None, max_length=8)
    source_file: str = Field(sa_column=Column(Text, nullable=False))  # the names of every file of the import
    imported_at: datetime = Field(default_factory=utcnow)



UNSTORED = ("id", "source_file", "imported_at")


def read_benchmarks(conn: Connection) -> pl.DataFrame:
    """Every published figure loaded (England, regions, every local authority)."""
    table = Benchmark.__table__
    schema = {c: t for c, t in polars_schema(table).items() if c not in UNSTORED}
    return read_frame(conn, select(*(table.c[c] for c in schema)), schema)


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
