"""Reading Department for Education statistics in the Explore Education Statistics (EES) CSV format.

DfE publishes every local authority's figures as EES CSVs, but the files are
not uniform: some start with a byte-order mark, columns come in different
orders and cases, empty cells are sometimes quoted (`""`) and a cell may hold
a suppression symbol instead of a number.  Everything is read as text first so
that nothing is guessed, and a measure column is then split into a number
(`value`) and the symbol DfE published (`symbol`): a suppressed figure stays
"not published" all the way to the screen, never zero or a stand-in number.

Problems are collected, not raised one at a time, and each names the file,
the spreadsheet row (header = row 1) and the column, so a data lead can open
the file and find the cell.

Which file and column feeds which indicator is data, not code:
radar/core/benchmarks.yaml, loaded here into strict models and checked against the
catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import field_validator, model_validator

from radar.core.catalogue import CATALOGUE_FILE, Catalogue, Strict, load_catalogue

# EES symbols: c suppressed, x not available, z not applicable,
# low / k rounds to zero but is not zero, u low reliability.
SYMBOLS = ("c", "x", "z", "low", "k", "u")
ROW = "source_row"  # spreadsheet row number of each data row, added by read_ees
LA_CODES = ("new_la_code", "old_la_code")
# Columns that place a row in space and time; at least one of LA_CODES is also required.
GEOGRAPHY = ("time_period", "geographic_level")
LEVELS = {"National": "national", "Regional": "regional", "Local authority": "la"}
ENGLAND = "E92000001"
BENCHMARKS_FILE = CATALOGUE_FILE.with_name("benchmarks.yaml")


@dataclass(frozen=True)
class EESProblem:
    """One thing wrong with a DfE file, located precisely enough to find it."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(
            part for part in (self.file, self.row and f"row {self.row}", self.column and f"column {self.column}") if part
        )
        found = f" (found {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.message}{found}"


class EESError(ValueError):
    """Raised with every problem found, so one run reports them all."""

    def __init__(self, problems: list[EESProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def snake_case(name: str) -> str:
    """`At31_episodes` -> `at31_episodes`, `LA num` -> `la_num`: one spelling for every file and the mapping."""
    return re.sub(r"[^0-9a-z]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


def read_text_csv(path: Path) -> pl.DataFrame:
    """Any CSV as text: snake-case column names, cells trimmed, empty or quoted-empty cells null.

    Unnamed columns (a trailing comma on every line) carry no data anyone can
    refer to and are dropped.
    """
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.rename({c: snake_case(c) for c in frame.columns})
    frame = frame.select(c for c in frame.columns if c)
    cell = pl.all().str.strip_chars()
    return frame.with_columns(pl.when(cell != "").then(cell).name.keep())


def read_ees(path: Path) -> pl.DataFrame:
    """An EES file as text columns plus `source_row`, checked for the columns every row needs.

    Raises EESError when the geography columns are missing or a time_period
    is not a year (EES children's social care files use the year ending 31 March).
    """
    frame = read_text_csv(path).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    missing = [c for c in GEOGRAPHY if c not in frame.columns]
    if not any(c in frame.columns for c in LA_CODES):
        missing.append(" or ".join(LA_CODES))
    if missing:
        raise EESError([EESProblem(path.name, None, c, None, "required column is missing") for c in missing])
    bad_years = frame.filter(~pl.col("time_period").str.contains(r"^[0-9]{4}$").fill_null(False))
    if bad_years.height:
        raise EESError([
            EESProblem(path.name, row, "time_period", value, "is not a four-digit year")
            for row, value in bad_years.select(ROW, "time_period").iter_rows()
        ])
    return frame


def resolve_column(frame: pl.DataFrame, names: list[str], file: str) -> str:
    """The first of `names` (a measure and its aliases) that the file has.

    DfE renames measures between releases (`number` became `children_count`),
    so a mapping lists the old spellings as aliases instead of a second entry.
    """
    for name in names:
        if name in frame.columns:
            return name
    raise EESError([EESProblem(
        file, None, names[0], None,
        f"measure column not found (also tried: {', '.join(names[1:]) or 'no aliases'}); "
        f"the file has: {', '.join(c for c in frame.columns if c != ROW)}",
    )])


def measure(frame: pl.DataFrame, column: str, file: str) -> pl.DataFrame:
    """Add `value` (Float64, null unless a number was published) and `symbol` (the EES symbol, or null).

    A blank cell gives a null value and a null symbol: nothing was published.
    Raises EESError listing every cell that is neither a number nor a symbol.
    """
    cell = pl.col(column)
    number = cell.cast(pl.Float64, strict=False)
    out = frame.with_columns(
        value=pl.when(number.is_finite()).then(number),
        symbol=pl.when(cell.str.to_lowercase().is_in(SYMBOLS)).then(cell.str.to_lowercase()),
    )
    bad = out.filter(cell.is_not_null() & pl.col("value").is_null() & pl.col("symbol").is_null())
    if bad.height:
        raise EESError([
            EESProblem(file, row, column, value, f"is neither a number nor a symbol ({', '.join(SYMBOLS)})")
            for row, value in bad.select(ROW, column).iter_rows()
        ])
    return out


def one_row_per_area(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Check that each area and year appears once; a repeat means a filter is missing.

    A file with extra category columns (cla_group, placement_stability, ...)
    has several rows per area; without a filter picking one, a benchmark would
    silently take whichever came first.
    """
    keys = [c for c in (*GEOGRAPHY, "region_code", *LA_CODES) if c in frame.columns]
    repeats = (
        frame.group_by(keys)
        .agg(pl.col(ROW).sort())
        .filter(pl.col(ROW).list.len() > 1)
        .sort(pl.col(ROW).list.first())
    )
    if repeats.height:
        raise EESError([
            EESProblem(
                file, rows[0], None, " ".join(str(v) for v in values if v is not None),
                f"rows {', '.join(map(str, rows))} are the same area and year; "
                "add a filter on the category column that tells them apart",
            )
            for *values, rows in repeats.iter_rows()
        ])
    return frame


def with_areas(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `year` (Int64), `level` (national|regional|la), `area_code`, `area_name`, and tidy `region_code`.

    area_code is the new (ONS) code of the area the row describes: the LA's,
    the region's, or England's.  Rows at other geographic levels are dropped.
    """
    optional = ("country_code", "country_name", "region_code", "region_name", "la_name", *LA_CODES)
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in optional if c not in frame.columns)
    level = pl.col("level")
    return (
        frame.with_columns(
            year=pl.col("time_period").cast(pl.Int64),
            level=pl.col("geographic_level").replace_strict(LEVELS, default=None),
        )
        .filter(level.is_not_null())
        .with_columns(
            area_code=pl.when(level == "la").then(pl.col("new_la_code"))
            .when(level == "regional").then(pl.col("region_code"))
            .otherwise(pl.coalesce("country_code", pl.lit(ENGLAND))),
            area_name=pl.when(level == "la").then(pl.col("la_name"))
            .when(level == "regional").then(pl.col("region_name"))
            .otherwise(pl.coalesce("country_name", pl.lit("England"))),
            region_code=pl.when(level != "national").then(pl.col("region_code")),
            old_la_code=pl.when(level == "la").then(pl.col("old_la_code")),
        )
    )


# --- The mapping from DfE publications to catalogue indicators (radar/core/benchmarks.yaml) ---


class BenchmarkSource(Strict):
    """Where one indicator's national, regional and LA benchmarks come from.

    Column names are snake-cased on load, so the mapping may spell them as DfE
    does (`At31_episodes`) and still match the file as read_ees names it.
    """

    indicator: str
    file: str  # a glob on the file name, so next year's release of the publication matches too
    filters: dict[str, str] = {}  # noqa: RUF012 - a pydantic field (copied per instance): column -> the value a row must have
    measure: str
    aliases: tuple[str, ...] = ()  # earlier names of the measure column
    kind: Literal["count", "percent", "rate_per_10k"]
    rate_from_population: bool = False  # measure is a count; divide by the ONS child population
    note: str = ""

    @field_validator("measure")
    @classmethod
    def _snake_measure(cls, name: str) -> str:
        return snake_case(name)

    @field_validator("aliases")
    @classmethod
    def _snake_aliases(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(snake_case(n) for n in names)

    @field_validator("filters")
    @classmethod
    def _snake_filters(cls, filters: dict[str, str]) -> dict[str, str]:
        return {snake_case(column): value for column, value in filters.items()}

    @model_validator(mode="after")
    def _rate_needs_rate_kind(self) -> BenchmarkSource:
        if self.rate_from_population and self.kind != "rate_per_10k":
            raise ValueError(f"{self.indicator}: rate_from_population needs kind rate_per_10k")
        return self

    @property
    def columns(self) -> list[str]:
        """The measure column and its aliases, in the order they are tried."""
        return [self.measure, *self.aliases]


class BenchmarkMapping(Strict):
    sources: tuple[BenchmarkSource, ...]

    def check_against(self, catalogue: Catalogue) -> None:
        """Every indicator must exist, once, with the unit the catalogue gives it."""
        problems = []
        ids = [s.indicator for s in self.sources]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append(f"indicators mapped more than once: {dupes}")
        for source in self.sources:
            indicator = catalogue.indicator_by_id.get(source.indicator)
            if indicator is None:
                problems.append(f"{source.indicator}: not an indicator in the catalogue")
            elif indicator.unit != source.kind:
                problems.append(f"{source.indicator}: kind {source.kind} but the catalogue's unit is {indicator.unit}")
        if problems:
            raise ValueError("benchmarks.yaml does not match the catalogue:\n  " + "\n  ".join(problems))


def load_benchmark_mapping(path: Path = BENCHMARKS_FILE, catalogue: Catalogue | None = None) -> BenchmarkMapping:
    """Load the mapping and check it against the catalogue (the packaged one unless given)."""
    with open(path, encoding="utf-8") as fh:
        mapping = BenchmarkMapping.model_validate(yaml.safe_load(fh))
    mapping.check_against(catalogue or load_catalogue())
    return mapping
