"""Children aged 0-17 from the ONS mid-year estimates, as DfE publishes them.

Rates per 10,000 children need the child population of the same year.  DfE
pairs a reporting year ending 31 March with the mid-year estimate of the
June before it (the year to March 2020 uses mid-2019), and Radar's monthly
rates do the same.  ONS publishes each estimate about a year late, so months
after the last published year carry it forward and say so.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radar.validation.ees import measure, read_ees, with_areas

CHILDREN = "Children aged 0 to 17 years"
POPULATION_SCHEMA = {
    "new_la_code": pl.String, "old_la_code": pl.String, "level": pl.String,
    "area_code": pl.String, "year": pl.Int64, "population": pl.Int64,
}


def all_populations(path: Path) -> pl.DataFrame:
    """Every area's child population by mid-year: [new_la_code, old_la_code, level, area_code, year, population].

    `area_code` is the LA's, region's or England's code (new_la_code is only set
    for local authorities); `year` is the mid-year of the estimate.  Areas whose
    estimate is not published (`x`) are left out rather than given a number.
    """
    frame = read_ees(path)
    frame = frame.filter(pl.col("age_group") == CHILDREN)
    frame = with_areas(measure(frame, "population_estimate", path.name))
    return (
        frame.filter(pl.col("value").is_not_null())
        .select(
            pl.when(pl.col("level") == "la").then(pl.col("new_la_code")).alias("new_la_code"),
            "old_la_code", "level", "area_code", "year",
            pl.col("value").cast(pl.Int64).alias("population"),
        )
        .cast(POPULATION_SCHEMA)
        .sort("level", "area_code", "year")
    )


def read_child_population(path: Path, la_code: str) -> pl.DataFrame:
    """One local authority's child population by mid-year: [year, population]."""
    return (
        all_populations(path)
        .filter((pl.col("level") == "la") & (pl.col("new_la_code") == la_code))
        .select("year", "population")
    )


def population_for_periods(population: pl.DataFrame, periods: list[str]) -> pl.DataFrame:
    """The estimate for each month YYYY-MM: [period, population, population_year, carried_forward].

    A month belongs to the financial year April-March, whose estimate is the
    mid-year at its start (April 2019 - March 2020 -> mid-2019).  Months past
    the latest estimate use it and are flagged `carried_forward`; months before
    the first estimate get a null population.
    """
    latest = population["year"].max()
    months = pl.DataFrame({"period": periods}, schema={"period": pl.String})
    year, month = pl.col("period").str.slice(0, 4).cast(pl.Int64), pl.col("period").str.slice(5, 2).cast(pl.Int64)
    financial_year = pl.when(month >= 4).then(year).otherwise(year - 1)
    return (
        months.with_columns(
            population_year=pl.min_horizontal(financial_year, pl.lit(latest, pl.Int64)),
            carried_forward=(financial_year > latest).fill_null(False),
        )
        .join(population.rename({"year": "population_year"}), on="population_year", how="left")
        .select("period", "population", "population_year", "carried_forward")
    )
