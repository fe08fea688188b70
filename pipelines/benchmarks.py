"""National, regional and statistical-neighbour benchmarks from DfE statistics.

Pure polars: the flow reads the files (validation.ees.read_ees) and the ONS
population (validation.population.all_populations) and hands the frames here.
What to take from which file is radar/core/benchmarks.yaml; nothing here knows a
file by name.

A suppressed figure keeps its symbol and a null value all the way through: a
rate computed from a suppressed count is suppressed too, and the
statistical-neighbour median is taken over the neighbours that published a
number, with the count of those it used.
"""

from __future__ import annotations

from fnmatch import fnmatch

import polars as pl

from radar.core import periods
from radar.validation.ees import (
    BenchmarkMapping,
    BenchmarkSource,
    EESError,
    EESProblem,
    measure,
    one_row_per_area,
    resolve_column,
    with_areas,
)

PER_10K = 10_000
ATTRIBUTION = ("Source: Department for Education and ONS. Contains public sector information licensed under "
               "the Open Government Licence v3.0.")
BENCHMARK_SCHEMA = {
    "indicator": pl.String, "year": pl.Int64, "level": pl.String, "area_code": pl.String,
    "old_la_code": pl.String, "area_name": pl.String, "region_code": pl.String,
    "value": pl.Float64, "symbol": pl.String,
}
KEY = ["indicator", "year", "level", "area_code"]


def extract(
    frames_by_file: dict[str, pl.DataFrame], mapping: BenchmarkMapping, population: pl.DataFrame
) -> pl.DataFrame:
    """Every mapped indicator for every area and year, in BENCHMARK_SCHEMA.

    `frames_by_file` maps file names to frames from read_ees; `population` is
    all_populations' frame.  When two releases of a publication are both
    present, the file whose name sorts last wins for the years they share.
    Raises EESError listing the problems of every source at once.
    """
    parts, problems = [], []
    for source in mapping.sources:
        for file in sorted(f for f in frames_by_file if fnmatch(f, source.file)):
            try:
                parts.append(source_values(frames_by_file[file], source, file, population))
            except EESError as error:
                problems += error.problems
    if problems:
        raise EESError(problems)
    if not parts:
        return pl.DataFrame(schema=BENCHMARK_SCHEMA)
    return pl.concat(parts).unique(KEY, keep="last", maintain_order=True).sort(KEY)


def source_values(
    frame: pl.DataFrame, source: BenchmarkSource, file: str, population: pl.DataFrame
) -> pl.DataFrame:
    """One source's rows from one file: filtered, one per area and year, measured."""
    missing = [c for c in source.filters if c not in frame.columns]
    if missing:
        raise EESError([EESProblem(file, None, c, None, "filter column not found") for c in missing])
    rows = frame.filter(*(pl.col(c) == v for c, v in source.filters.items())) if source.filters else frame
    column = resolve_column(rows, source.columns, file)
    values = with_areas(measure(one_row_per_area(rows, file), column, file))
    if source.rate_from_population:
        values = rate_per_10k(values, population)
    return values.with_columns(indicator=pl.lit(source.indicator)).select(list(BENCHMARK_SCHEMA)).cast(BENCHMARK_SCHEMA)


def rate_per_10k(counts: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """Turn each area's count into a rate per 10,000 children of the same area.

    A reporting year ending 31 March uses the mid-year estimate of the June
    before (time_period 2020 -> mid-2019), as DfE does.  A suppressed count
    keeps its symbol; a count with no population estimate becomes `x`
    (not available).
    """
    people = population.select("level", "area_code", pl.col("year") + 1, "population")
    joined = counts.join(people, on=["level", "area_code", "year"], how="left")
    return joined.with_columns(
        value=pl.col("value") * PER_10K / pl.col("population"),
        symbol=pl.when(pl.col("symbol").is_null() & pl.col("value").is_not_null() & pl.col("population").is_null())
        .then(pl.lit("x"))
        .otherwise(pl.col("symbol")),
    )


def comparator_year(years: list[int], period: str) -> int | None:
    """The DfE year (ending 31 March) to read a month against: the collection whose reference date, 31 March,
    falls in the month's April-to-March year (2020, i.e. 2019-20, for March 2020 and for April 2019), or when
    that year is not published the latest published year before it; None when nothing that early is published
    (a later year is never set beside an earlier month)."""
    wanted = periods.financial_year(period) + 1
    earlier = [y for y in years if y <= wanted]
    return max(earlier) if earlier else None


def comparator_rows(rows: pl.DataFrame, period: str | None) -> pl.DataFrame:
    """`rows` (benchmark_comparison's, every year) cut to each indicator's comparator year for `period`."""
    if period is None or rows.is_empty():
        return rows
    picked = [(indicator, comparator_year(group["year"].to_list(), period))
              for (indicator,), group in rows.group_by("indicator")]
    wanted = pl.DataFrame([(i, y) for i, y in picked if y is not None], schema={"indicator": pl.String, "year": pl.Int64},
                          orient="row")
    return rows.join(wanted, on=["indicator", "year"], how="semi").sort("indicator", "year")


def benchmark_comparison(
    benchmarks: pl.DataFrame,
    la_code: str,
    old_la_code: str,
    neighbour_old_codes: list[str],
    period: str | None = None,
) -> pl.DataFrame:
    """The LA beside England, its region and its statistical neighbours, per indicator: the one comparison the
    dashboard, `radar sta`, the Board pack and the cycle show.

    Returns [indicator, year, la_value, la_symbol, national, regional, region, sn_median, sn_count], one row per
    indicator for the year that matches `period` (comparator_year: 2020 -- 2019-20 -- for 2020-03), or every
    year the LA has figures for when `period` is None.  The region is the LA's own (its rows' region_code, e.g.
    Outer London for Bromley), `region` its name.  sn_median ignores neighbours without a number; sn_count says
    how many it used.
    """
    la = benchmarks.filter(
        (pl.col("level") == "la") & ((pl.col("area_code") == la_code) | (pl.col("old_la_code") == old_la_code))
    )
    national = benchmarks.filter(pl.col("level") == "national").select("indicator", "year", national="value")
    regional = benchmarks.filter(pl.col("level") == "regional").select(
        "indicator", "year", region_code="area_code", regional="value", region="area_name"
    )
    neighbours = (
        benchmarks.filter(
            (pl.col("level") == "la") & pl.col("old_la_code").is_in(neighbour_old_codes) & pl.col("value").is_not_null()
        )
        .group_by("indicator", "year")
        .agg(sn_median=pl.col("value").median(), sn_count=pl.len().cast(pl.Int64))
    )
    rows = (
        la.select("indicator", "year", "region_code", la_value="value", la_symbol="symbol")
        .join(national, on=["indicator", "year"], how="left")
        .join(regional, on=["indicator", "year", "region_code"], how="left")
        .join(neighbours, on=["indicator", "year"], how="left")
        .with_columns(pl.col("sn_count").fill_null(0))
        .select("indicator", "year", "la_value", "la_symbol", "national", "regional", "region", "sn_median",
                "sn_count")
        .sort("indicator", "year")
    )
    return comparator_rows(rows, period)
