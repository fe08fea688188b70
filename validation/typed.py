"""The typed rows of an accepted file, converted from the text that was validated.

Conversion happens only after every check has passed, so each conversion here
is known to succeed; parsing stays explicit (polars does not turn text into
dates or numbers by itself).
"""

from __future__ import annotations

import polars as pl

from radar.core.catalogue import Feed
from radar.validation.schemas import as_date, as_true


def typed_rows(cells: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    """`row_number` then the feed's columns: counts as Int64, dates as Date, true/false as Boolean."""
    if feed.kind == "aggregate":
        columns = [pl.col("period"), pl.col("indicator"), pl.col("breakdown"), pl.col("value").str.to_integer()]
    else:
        columns = [
            as_date(c.name).alias(c.name) if c.type == "date"
            else as_true(c.name).alias(c.name) if c.type == "boolean"
            else pl.col(c.name)
            for c in feed.columns
        ]
    return cells.select(pl.col("row_number").cast(pl.Int64), *columns)
