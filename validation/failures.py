"""Turning pandera's failure cases into Problems.

pandera (lazy validation) returns every failing cell as one row of a polars
frame: column, check, position.  That frame is summarised with polars, so a
million failing cells cost one group-by; Problem objects are built only for
the examples kept.  The rule and message come from the check itself (see
validation/schemas.py); pandera's own checks for empty cells and repeated
references map to the `blank` and `duplicate` rules.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from radar.validation.problems import (
    EXAMPLES_PER_RULE,
    HIDDEN,
    Problem,
    ProblemLog,
    shown_value,
)

# pandera's built-in checks -> Radar rule and message (with the column's name)
BUILT_IN = {
    "not_nullable": ("blank", "{column} is empty: every row needs a {column}."),
    "field_uniqueness": ("duplicate", "This {column} appears on more than one row: each row needs its own {column}."),
}


def schema_problems(schema: pa.DataFrameSchema, cells: pl.DataFrame, row_numbers: pl.Series,
                    hidden: list[str], log: ProblemLog) -> None:
    """Validate `cells` against `schema` and record every failure in `log`.

    `row_numbers` gives each row's spreadsheet row; cells of `hidden` columns
    (child references) are never copied into a Problem.
    """
    try:
        schema.validate(cells, lazy=True)
        return
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    messages = _messages(schema)
    failures = failures.select(
        pl.col("column"),
        pl.col("check").replace({check: rule for check, (rule, _) in BUILT_IN.items()}).alias("rule"),
        pl.col("check").alias("message_key"),
        row_numbers.gather(failures["index"]).alias("row"),
        pl.when(pl.col("column").is_in(hidden) & pl.col("failure_case").is_not_null())
        .then(pl.lit(HIDDEN)).otherwise(pl.col("failure_case")).alias("value"),
    )
    totals = dict(failures.group_by("rule").len().iter_rows())
    examples = failures.sort("row", "column").group_by("rule", maintain_order=True).head(EXAMPLES_PER_RULE)
    for rule, total in sorted(totals.items()):
        log.record(rule, total, [
            Problem(row=row, column=column, value=shown_value(value), rule=rule, message=messages[column, key])
            for column, key, row, value in examples.filter(pl.col("rule") == rule)
            .select("column", "message_key", "row", "value").iter_rows()
        ])


def _messages(schema: pa.DataFrameSchema) -> dict[tuple[str, str], str]:
    """(column, check as pandera names it) -> the message a data lead reads."""
    messages = {}
    for name, column in schema.columns.items():
        messages |= {(name, check): text.format(column=name) for check, (_, text) in BUILT_IN.items()}
        messages |= {(name, check.error): check.description for check in column.checks}
    return messages
