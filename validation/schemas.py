"""One pandera schema per feed, generated from the catalogue.

Nothing here is written per feed: an aggregate return's checks come from its
sent indicators and their breakdowns, a record feed's from its declared
columns (type, dimension, `required`, `in_period`, `not_before`, `implies`,
`key`, `max_length`).  Adding a feed or a column to catalogue.yaml is enough for it to be
validated.

The schema checks the cells as delivered (every column is text): a cell that
does not parse is a problem to report, not a value to coerce.  Each check is
named by the Radar rule it enforces (`error` = rule id) and carries the plain
English message for that column in its `description`, so pandera's failure
cases translate into Problems without a lookup table kept in step by hand.
Checks are polars expressions over the whole column (no Python per row), and
each passes on cells another rule already reports (a blank, a non-date), so one
bad cell gives one problem.
"""

from __future__ import annotations

from collections.abc import Callable

import pandera.polars as pa
import polars as pl

from radar.core.catalogue import Catalogue, Column, Feed
from radar.core.periods import first_day, last_day, long_label

AGGREGATE_COLUMNS = ["period", "indicator", "breakdown", "value"]
# ASCII digits only: in a regex \d is a digit of any script (Arabic-Indic ٣, full-width ３), which the
# conversion to a number after validation would then refuse.
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
WHOLE_NUMBER = r"^-?[0-9]{1,18}$"  # 18 digits always fit a 64-bit integer
TRUE_FALSE = ["true", "false"]
PAIR_SEPARATOR = "\x1f"  # joins indicator and breakdown into one comparable text


def expected_columns(feed: Feed) -> list[str]:
    """The header a file of this feed must have, in order."""
    return AGGREGATE_COLUMNS if feed.kind == "aggregate" else [c.name for c in feed.columns]


def schema_for(feed: Feed, period: str, catalogue: Catalogue) -> pa.DataFrameSchema:
    """The pandera schema a month's file of `feed` must satisfy (all columns read as text)."""
    columns = _aggregate_columns(feed, period, catalogue) if feed.kind == "aggregate" else {
        c.name: _record_column(c, feed, period, catalogue) for c in feed.columns
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=feed.id)


def as_date(column: str) -> pl.Expr:
    """An ISO date cell as a date; null when empty or not a real YYYY-MM-DD date."""
    text = pl.col(column)
    return pl.when(text.str.contains(ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))


def as_true(column: str) -> pl.Expr:
    """A true/false cell (any case) as a boolean; null when empty or neither."""
    text = pl.col(column).str.to_lowercase()
    return pl.when(text.is_in(TRUE_FALSE)).then(text == "true")


def _check(rule: str, message: str, passes: Callable[[str], pl.Expr]) -> pa.Check:
    """A check reported as `rule` with `message`; `passes(column)` is True for good cells.

    Empty cells pass (where a cell is required, the `blank` rule reports it),
    and so does a null from `passes`: a cell another rule already reports.
    """

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | passes(data.key).fill_null(True))

    return pa.Check(check, name=rule, error=rule, description=message)


def _aggregate_columns(feed: Feed, period: str, catalogue: Catalogue) -> dict[str, pa.Column]:
    known = list(catalogue.indicator_by_id)
    sent = [i.id for i in catalogue.sent_indicators(feed.id)]
    pairs = [f"{i.id}{PAIR_SEPARATOR}{b}" for i in catalogue.sent_indicators(feed.id)
             for b in catalogue.breakdown_values(i) or ("",)]
    with_breakdowns = "; ".join(f"{i.id}: {', '.join(catalogue.breakdown_values(i))}"
                                for i in catalogue.sent_indicators(feed.id) if i.breakdown)
    breakdown_rule = ("Leave breakdown empty for every indicator"
                      + (f" except these, which need one row for each value listed: {with_breakdowns}."
                         if with_breakdowns else "."))
    indicator, breakdown = pl.col("indicator"), pl.col("breakdown")
    return {
        "period": pa.Column(pl.String, checks=[_check(
            "period_mismatch", f"The period must be {period}, the month in the file name ({long_label(period)}).",
            lambda c: pl.col(c) == period)]),
        "indicator": pa.Column(pl.String, checks=[
            _check("unknown_indicator", "This is not a Radar indicator id: check the spelling against the feed guide.",
                   lambda c: pl.col(c).is_in(known)),
            _check("not_sent_here", f"This indicator is not part of the {feed.id} return: Radar calculates it, "
                                    "or another return carries it. Delete the row.",
                   lambda c: ~pl.col(c).is_in(known) | pl.col(c).is_in(sent)),
            _check("duplicate", "This indicator and breakdown already appear on another row: keep only one.",
                   lambda c: ~pl.struct(c, "breakdown").is_duplicated()),
        ]),
        "breakdown": pa.Column(pl.String, checks=[_check(
            "breakdown", breakdown_rule,
            lambda c: ~indicator.is_in(sent) | (indicator + PAIR_SEPARATOR + breakdown).is_in(pairs))]),
        "value": pa.Column(pl.String, checks=[
            _check("not_whole_number", "The value must be a whole number written with the digits 0-9 (0 or "
                                       "more), with no decimals, commas, spaces or words.", lambda c: pl.col(c).str.contains(WHOLE_NUMBER)),
            _check("negative", "The value is below zero: a count cannot be negative.",
                   lambda c: ~pl.col(c).str.contains(r"^-[0-9]+$")),
        ]),
    }


def _record_column(column: Column, feed: Feed, period: str, catalogue: Catalogue) -> pa.Column:
    name = column.name
    checks: list[pa.Check] = []
    if column.type == "date":
        checks.append(_check("not_a_date", f"{name} must be a date written YYYY-MM-DD (for example {period}-15).",
                             lambda c: as_date(c).is_not_null()))
    if column.in_period:
        first, last = first_day(period), last_day(period)
        checks.append(_check("date_outside_period", f"{name} must fall in {long_label(period)} "
                                                    f"({first} to {last}), the month in the file name.",
                             lambda c: as_date(c).is_between(first, last)))
    if column.not_before:
        earlier = column.not_before
        checks.append(_check("date_order", f"{name} is before {earlier}: it cannot be earlier.",
                             lambda c: as_date(c) >= as_date(earlier)))
    if column.type == "boolean":
        checks.append(_check("not_allowed", f"{name} must be true or false.", lambda c: as_true(c).is_not_null()))
    if column.implies:
        condition = column.implies
        checks.append(_check("implies", f"{name} is true but {condition} is false: "
                                        f"{name} can only be true when {condition} is.",
                             lambda c: ~as_true(c) | as_true(condition)))
    if column.max_length:
        limit = column.max_length
        checks.append(_check("too_long", f"{name} is longer than {limit} characters, the most Radar stores: "
                                         "shorten it.", lambda c: pl.col(c).str.len_chars() <= limit))
    if column.type == "category":
        allowed = list(catalogue.column_values(column))
        checks.append(_check("not_allowed", f"{name} must be one of: {', '.join(allowed)}.",
                             lambda c: pl.col(c).is_in(allowed)))
    return pa.Column(pl.String, checks=checks, nullable=not column.required, unique=name == feed.key)
