"""Monthly indicator values from what agencies sent (pure polars, no I/O).

Three steps, each one statistical idea:

1. `count_records`: record-level feeds become monthly counts (rows or distinct
   values, optionally filtered and broken down), with explicit zeros for
   breakdown values that had no records in a month that was delivered.
2. `add_totals`: indicators sent by breakdown get a total row (breakdown "")
   computed here, because agencies never send totals.
3. `derive`: percentages, rates per 10,000 children and averages are computed
   from their numerator and denominator indicators (never typed in); a zero
   or missing denominator gives a missing value with a note, not a number.

`compute_indicators` chains them.  Every frame is long:
period (YYYY-MM), indicator, breakdown ("" = total), value, preceded by the
group keys `by`: none for one partnership, `["la_code"]` to compute many
authorities at once (a regional hub, or the national benchmark).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from radar.core.catalogue import POPULATION, UNIT_SCALE, Catalogue, FromRecords

KEYS = ["period", "indicator", "breakdown"]
BASE_SCHEMA = {"period": pl.String, "indicator": pl.String, "breakdown": pl.String, "value": pl.Float64}
RESULT_SCHEMA = BASE_SCHEMA | {"numerator": pl.Float64, "denominator": pl.Float64, "note": pl.String}
CELL = "_cell"  # the working column of `count_records`: a row's cell


def count_records(
    catalogue: Catalogue, feed_id: str, records: pl.DataFrame, delivered: pl.DataFrame, by: Sequence[str] = ()
) -> pl.DataFrame:
    """Count a record feed's rows into its indicators for each delivered month.

    `records` holds the current rows of the feed with a `period` column;
    `delivered` ((`by`,) period) lists the months for which a current file
    exists, so a month whose file had no rows of some kind gets a true zero
    rather than nothing.

    The records are read once per kind of count, not once per indicator, and
    no string of theirs is hashed twice.  Each row gets the number of its cell,
    its (`by`..., period) values (`_cells`, which compares each row with the
    one before rather than hashing), every column an indicator breaks down by
    is coded as a small integer and every `where` becomes a flag (`_coded`),
    so every grouping after that is on integers (`_grouped`).  One grouping
    by cell, breakdown columns and flags gives the cells every row count is a
    sum of (`_cell_counts`; `_row_counts` then sums that small frame); distinct counts,
    which do not add up across cells, take one more group_by per breakdown
    column, every distinct indicator of it at once (`_distinct_counts`).
    """
    by = list(by)
    keys = [*by, "period"]
    counted = [i for i in catalogue.indicators_of(feed_id) if i.from_records is not None]
    if not counted:
        return pl.DataFrame(schema={k: delivered.schema[k] for k in by} | BASE_SCHEMA)
    rows = [i for i in counted if i.from_records.count == "rows"]
    distinct = [i for i in counted if i.from_records.count == "distinct"]
    # One select, so polars codes the columns and compares the keys in parallel.
    coded = records.select(pl.struct(keys).rle_id().alias(CELL), *_coded(catalogue, feed_id, records, counted))
    cell, cells = _cells(records, keys, coded[CELL])
    coded = coded.with_columns(cell.alias(CELL))
    found = cells.join(pl.concat([*_row_counts(coded, rows), *_distinct_counts(coded, distinct)]), on=CELL)
    wanted = pl.DataFrame(
        [(i.id, b) for i in counted for b in ("", *(catalogue.breakdown_values(i) if i.from_records.by else ()))],
        schema={"indicator": pl.String, "breakdown": pl.String}, orient="row",
    )
    grid = delivered.select(*by, pl.col("period").cast(pl.String)).join(wanted, how="cross")
    return (
        grid.join(found, on=[*keys, "indicator", "breakdown"], how="left")
        .with_columns(pl.col("value").fill_null(0).cast(pl.Float64))
        .select(*by, *BASE_SCHEMA)
    )


def _cells(records: pl.DataFrame, keys: list[str], runs: pl.Series) -> tuple[pl.Series, pl.DataFrame]:
    """Each record's cell number, and the cells: (CELL, *keys), one row per distinct keys.

    Records nearly always come grouped by their keys (one file is one month
    of one authority, and stores and the benchmark return them file by
    file), so the cells are found as runs of equal keys (`runs`: each row's
    run, numbered from 0 by `rle_id`, which compares each row with the one
    before and hashes no string, where grouping by the keys would hash every
    row's).  Only the first rows of the runs are hashed, to find keys that
    start more than one run; when none does (grouped records), a run's
    number is its cell's and, rising down the records, lets polars group by
    cell in slices.  Otherwise each run is given the number of its keys'
    cell, which costs as much hashing as there are runs: little for records
    almost grouped, a join of every row for shuffled ones.
    """
    lengths = runs.rle().struct.field("len")
    heads = records.select(keys)[lengths.cum_sum() - lengths]
    cells = heads.unique(maintain_order=True).with_row_index(CELL)
    if cells.height == heads.height:
        return runs, cells
    cell_of_run = heads.join(cells, on=keys, how="left", nulls_equal=True, maintain_order="left")[CELL]
    return cell_of_run.gather(runs), cells


def _flag(column: str, allowed: tuple) -> str:
    """The working column saying whether a record's `column` is one of `allowed` (a `where` of an indicator)."""
    return f"_{column} in {list(allowed)}"


def _grouping_columns(spec: FromRecords) -> list[str]:
    """The columns of `_coded` an indicator groups or filters by: its breakdown column, and a flag per `where`."""
    return [c for c in (spec.by, *(_flag(c, allowed) for c, allowed in spec.where.items())) if c]


def _coded(catalogue: Catalogue, feed_id: str, records: pl.DataFrame, indicators: list) -> list[pl.Expr]:
    """The columns the counts read: breakdown columns coded as small integers, a flag per `where`, and the
    columns counted distinct.

    A category column becomes an enum of the values the catalogue allows it
    (one look-up per row in a table of a few strings, and no process-wide
    category table to lock or grow); a value outside them, which validation
    refuses, becomes missing: counted in the total, in no breakdown, as a
    breakdown the catalogue does not list always was.  Any other string
    column becomes a categorical.  A `where` is needed only as true or
    false, which comparing a row's string with the few allowed gives for
    less than coding it.  The column counted distinct (a child's pseudonym)
    stays as it is: coding millions of distinct values would only hash them
    once more.
    """
    breakdowns = list(dict.fromkeys(i.from_records.by for i in indicators if i.from_records.by))
    flags = {_flag(c, allowed): pl.col(c).is_in(list(allowed)) for i in indicators
             for c, allowed in i.from_records.where.items()}
    counted = [c for i in indicators if (c := i.from_records.column) and c not in breakdowns]
    columns = {c.name: c for c in catalogue.feed_by_id[feed_id].columns}

    def code(name: str) -> pl.Expr:
        if records.schema[name] != pl.String:
            return pl.col(name)
        allowed = catalogue.column_values(columns[name]) if name in columns else ()
        return _as_enum(pl.col(name), allowed).alias(name) if allowed else pl.col(name).cast(pl.Categorical)

    return [*(code(c) for c in breakdowns), *(flag.alias(name) for name, flag in flags.items()), *dict.fromkeys(counted)]


FEW_VALUES = 8  # up to this many allowed values, a column is coded by comparing it with each


def _as_enum(column: pl.Expr, allowed: tuple[str, ...]) -> pl.Expr:
    """`column` as an enum of the `allowed` values, missing where it holds none of them.

    With a few allowed values, comparing each row with each of them costs a
    third less than a cast, which looks each row up in a table on one thread
    while polars compares in slices on every core (20 million national
    records: a quarter of a second of CPU, nearly all of it the one column).
    """
    if len(allowed) > FEW_VALUES:
        return column.cast(pl.Enum(allowed), strict=False)
    enum = pl.Enum(allowed)
    coded = pl.lit(None, enum)
    for value in reversed(allowed):
        coded = pl.when(column == value).then(pl.lit(value, enum)).otherwise(coded)
    return coded


def _where(spec: FromRecords) -> pl.Expr:
    """The rows an indicator counts (every row when it has no `where`), from the flags of `_coded`."""
    return pl.all_horizontal([pl.lit(True), *(pl.col(_flag(c, allowed)) for c, allowed in spec.where.items())])


def _kept(column: pl.Expr, spec: FromRecords) -> pl.Expr:
    """`column` on the rows an indicator counts; unfiltered without a `where`, since a filter inside a
    group_by aggregation copies every group (it made a national distinct count three times slower)."""
    return column.filter(_where(spec)) if spec.where else column


def _long(frame: pl.DataFrame, indicator: pl.Expr, breakdown: pl.Expr) -> pl.DataFrame:
    """One frame of counts in the long shape: cell, indicator, breakdown, value."""
    return frame.select(CELL, indicator=indicator, breakdown=breakdown, value=pl.col("value").cast(pl.Float64))


def _grouped(records: pl.DataFrame, columns: list[str], *aggregations: pl.Expr) -> pl.DataFrame:
    """`records.group_by(columns).agg(aggregations)` on one integer key packed from the columns' codes.

    polars groups by one integer about twice as fast as by several columns,
    and these group_bys are most of the cost of counting a national feed.
    One column is its own key (the cell, which polars groups in slices when
    it rises down the records).  Otherwise the columns are packed into one
    key (`_Packing`) and come back as each group's first row.  When they do
    not fit in 63 bits (wide categorical codes), the columns are the key as
    they are.
    """
    packing = _Packing.of(records, columns) if len(columns) > 1 else None
    if packing is None:
        return records.lazy().group_by(columns).agg(*aggregations).collect()
    firsts = [pl.col(c).first() for c in columns]
    return records.lazy().group_by(packing.key.alias("_key")).agg(*aggregations, *firsts).drop("_key").collect()


@dataclass(frozen=True)
class _Packing:
    """Columns packed into one integer key: each column's physical code (a cell number, an enum's code, a
    boolean) less its minimum is a digit of a mixed-radix number (a column with nulls shifts its codes up
    one and takes 0 for null).

    Every operation on the key is a pass over millions of rows, so a column
    without nulls takes no null handling, a digit whose minimum is 0 no
    subtraction, and the key is 32-bit when the codes are small unsigned
    integers and their ranges multiplied fit: half the memory to go through
    of 64-bit.
    """

    columns: list[str]
    lows: list[int]
    nulls: list[bool]
    widths: list[int]
    dtype: pl.DataType

    @staticmethod
    def of(records: pl.DataFrame, columns: list[str]) -> _Packing | None:
        """The packing of `columns`, or None when their ranges multiplied do not fit in 63 bits."""
        codes = [pl.col(c).to_physical() for c in columns]
        stats = records.select(  # on the codes as they are: a cast here would copy each column
            *[e for i, code in enumerate(codes)
              for e in (code.min().alias(f"min{i}"), code.max().alias(f"max{i}"),
                        code.null_count().alias(f"nulls{i}"))]
        ).row(0, named=True)
        lows = [int(stats[f"min{i}"] or 0) for i in range(len(codes))]
        nulls = [stats[f"nulls{i}"] > 0 for i in range(len(codes))]
        widths = [int(stats[f"max{i}"] or 0) - low + 1 + null for i, (low, null) in enumerate(zip(lows, nulls))]
        span = math.prod(widths)
        if span >= 2**63:
            return None
        small = {pl.Boolean, pl.UInt8, pl.UInt16, pl.UInt32}
        narrow = span <= 2**32 and all(t in small for t in records.lazy().select(codes).collect_schema().dtypes())
        return _Packing(columns, lows, nulls, widths, pl.UInt32 if narrow else pl.Int64)

    @property
    def key(self) -> pl.Expr:
        key = None
        for column, low, null, width in zip(self.columns, self.lows, self.nulls, self.widths):
            digit = pl.col(column).to_physical().cast(self.dtype)
            if low:
                digit = digit - low
            if null:
                digit = (digit + 1).fill_null(0)
            key = digit if key is None else key * width + digit
        return key


def _row_counts(records: pl.DataFrame, indicators: list) -> list[pl.DataFrame]:
    """Every row-count indicator and breakdown: one grouping of the records into cells (`_cell_counts`),
    then sums of cell sizes."""
    if not indicators:
        return []
    columns = sorted({c for i in indicators for c in _grouping_columns(i.from_records)})
    cells = _cell_counts(records, columns)
    parts = []
    for ind in indicators:
        spec = ind.from_records
        kept = cells.filter(_where(spec))
        total = kept.group_by(CELL).agg(value=pl.col("n").sum())
        parts.append(_long(total, pl.lit(ind.id), pl.lit("")))
        if spec.by:
            split = kept.group_by(CELL, spec.by).agg(value=pl.col("n").sum())
            parts.append(_long(split, pl.lit(ind.id), pl.col(spec.by).cast(pl.String)))
    return parts


def _cell_counts(records: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """CELL, *columns, n: the records of each cell with each combination of the columns' values.

    `_grouped` by the cell and the columns, without hashing the rows' packed
    keys (most of what counting a national feed cost): the rows are grouped
    by cell alone, which polars does in slices when the cells rise down the
    records, and each cell's packed keys of the columns counted
    (`value_counts`, a small table per cell); the columns are unpacked from
    the few counts.  Columns that cannot be unpacked (a categorical's codes
    name no value without its categories) are grouped by `_grouped`.
    """
    packing = _Packing.of(records, columns) if columns else None
    dtypes = [records.schema[c] for c in columns]
    if packing is None or not all(t == pl.Boolean or isinstance(t, pl.Enum) or t.is_integer() for t in dtypes):
        return _grouped(records, [CELL, *columns], pl.len().alias("n")).select(CELL, *columns, "n")
    counts = (
        records.lazy().group_by(CELL).agg(packing.key.alias("_key").value_counts(name="n"))
        .explode("_key").unnest("_key").collect()
    )
    key, unpacked, place = pl.col("_key").cast(pl.Int64), [], 1
    for column, dtype, low, null, width in reversed([*zip(columns, dtypes, packing.lows, packing.nulls,
                                                          packing.widths)]):
        code = key // place % width
        code = (pl.when(code > 0).then(code - 1) if null else code) + low
        if isinstance(dtype, pl.Enum):
            value = pl.lit(pl.Series(dtype.categories, dtype=dtype)).gather(code)
        else:
            value = code.cast(dtype)
        unpacked.append(value.alias(column))
        place *= width
    return counts.select(CELL, *reversed(unpacked), pl.col("n").cast(pl.UInt32))


def _distinct_counts(records: pl.DataFrame, indicators: list) -> list[pl.DataFrame]:
    """Distinct-count indicators: one group_by of the records for every total, one per breakdown column."""
    def counts(group: list[str], inds: list) -> pl.DataFrame:
        return _grouped(
            records, [CELL, *group],
            *(_kept(pl.col(i.from_records.column), i.from_records).n_unique().alias(i.id) for i in inds),
        ).unpivot(index=[CELL, *group], variable_name="indicator", value_name="value")

    if not indicators:
        return []
    parts = [_long(counts([], indicators), pl.col("indicator"), pl.lit(""))]
    for column in sorted({i.from_records.by for i in indicators if i.from_records.by}):
        split = counts([column], [i for i in indicators if i.from_records.by == column])
        parts.append(_long(split, pl.col("indicator"), pl.col(column).cast(pl.String)))
    return parts


def add_totals(catalogue: Catalogue, observations: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Add the total row of every indicator sent by breakdown."""
    by = list(by)
    observations = observations.select(*by, *BASE_SCHEMA).cast(BASE_SCHEMA)
    broken_down = [i.id for i in catalogue.indicators if i.is_sent and catalogue.dimension_of[i.id]]
    totals = (
        observations.filter(pl.col("indicator").is_in(broken_down))
        .group_by(*by, "period", "indicator")
        .agg(pl.col("value").sum())
        .with_columns(breakdown=pl.lit(""))
        .select(*by, *BASE_SCHEMA)
    )
    return pl.concat([observations, totals])


def derivations(catalogue: Catalogue) -> pl.DataFrame:
    """One row per derived indicator: its inputs, scale and whether it keeps breakdowns."""
    rows = [
        {
            "indicator": i.id,
            "numerator_id": i.derived.numerator,
            "denominator_id": i.derived.denominator,
            "scale": UNIT_SCALE[i.unit],
            "by_breakdown": catalogue.dimension_of[i.id] is not None,
            "denominator_by_breakdown": i.derived.denominator != POPULATION
            and catalogue.dimension_of[i.derived.denominator] is not None,
        }
        for i in catalogue.indicators
        if i.derived
    ]
    return pl.DataFrame(
        rows,
        schema={"indicator": pl.String, "numerator_id": pl.String, "denominator_id": pl.String,
                "scale": pl.Float64, "by_breakdown": pl.Boolean, "denominator_by_breakdown": pl.Boolean},
    )


def derive(catalogue: Catalogue, base: pl.DataFrame, population: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Compute every derived indicator from `base` (counts incl. totals) and the child population.

    `population` has columns (`by`,) period, population, population_year and
    carried_forward (bool): a rate that used a carried-forward estimate says so.

    One frame, one join: the child population is one more denominator (with
    breakdown "" and its note), and each numerator row looks its denominator
    up by its own breakdown when the denominator is broken down the same way,
    else by the total.  Only the base rows of denominators go into the join
    (a fifth of a national base): hashing every row's four string keys was
    most of the cost.
    """
    by = list(by)
    keys = [*by, "period", "denominator_id", "_denominator_breakdown"]
    rules = derivations(catalogue)
    numerators = rules.join(
        base.rename({"indicator": "numerator_id", "value": "numerator"}), on="numerator_id"
    ).filter(pl.col("by_breakdown") | (pl.col("breakdown") == "")).with_columns(
        pl.when(pl.col("denominator_by_breakdown")).then(pl.col("breakdown")).otherwise(pl.lit(""))
        .alias("_denominator_breakdown")
    )
    population_rows = population.select(
        *by,
        "period",
        pl.lit(POPULATION).alias("denominator_id"),
        pl.lit("").alias("_denominator_breakdown"),
        pl.col("population").cast(pl.Float64).alias("denominator"),
        pl.when(pl.col("carried_forward"))
        .then(pl.format("child population: mid-{} estimate carried forward", pl.col("population_year")))
        .otherwise(pl.lit(""))
        .alias("population_note"),
    )
    counts = base.filter(pl.col("indicator").is_in(rules["denominator_id"].implode())).select(
        *by, "period", pl.col("indicator").alias("denominator_id"), pl.col("breakdown").alias("_denominator_breakdown"),
        pl.col("value").alias("denominator"), pl.lit("").alias("population_note"),
    )
    denominators = pl.concat([counts, population_rows])
    joined = numerators.join(denominators, on=keys, how="left")
    return joined.select(
        *by,
        "period",
        "indicator",
        "breakdown",
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator") * pl.col("scale"))
        .otherwise(None)
        .alias("value"),
        "numerator",
        "denominator",
        pl.when(pl.col("denominator").is_null())
        .then(pl.format("no {} for this month", pl.col("denominator_id")))
        .when(pl.col("denominator") == 0)
        .then(pl.format("{} is zero: no rate", pl.col("denominator_id")))
        .otherwise(pl.col("population_note").fill_null(""))
        .alias("note"),
    )


def compute_indicators(
    catalogue: Catalogue,
    observations: pl.DataFrame,
    records: dict[str, pl.DataFrame],
    delivered: dict[str, pl.DataFrame],
    population: pl.DataFrame,
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """Every indicator value the delivered data supports, as one long frame sorted by series and month.

    `observations`: current aggregate rows ((`by`,) period, indicator,
    breakdown, value); `records`: current rows of each record feed;
    `delivered`: for each record feed, the ((`by`,) period) it has a current
    file for; `population`: see `derive`.
    """
    by = list(by)
    counted = [count_records(catalogue, feed_id, frame, delivered[feed_id], by) for feed_id, frame in records.items()]
    base = pl.concat([add_totals(catalogue, observations, by), *counted])
    values = base.with_columns(
        numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64), note=pl.lit("")
    )
    derived = derive(catalogue, base, population, by)
    return pl.concat([values, derived]).select(*by, *RESULT_SCHEMA).sort(*by, *KEYS)
