"""What every dashboard page shares: the store, the empty state and number formats.

Pages stay thin: they load the context and engine from here, ask
the entity modules of `radar.models` for data and `pipelines` for any status, and format what
they show with these helpers so a percent or a rate reads the same on every
page.  Nothing here computes a statistic: the benchmark comparison is
`pipelines.benchmarks.benchmark_comparison` on `models.benchmarks.comparison_inputs`,
only cached here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import polars as pl
import streamlit as st
from sqlalchemy import Engine

from radar.core import periods
from radar.core.catalogue import Catalogue
from radar.core.config import Context, get_context
from radar.models import audit as audit_trail
from radar.models import benchmarks
from radar.models.engine import get_engine
from radar.pipelines.benchmarks import benchmark_comparison, comparator_year
from radar.pipelines.feed_status import LOCAL_TIME_ZONE, expected_submissions, feed_status
from radar.pipelines.messages import number
from radar.validation.inert import markdown_text

NO_DATA = (
    "No data has been ingested yet. Load agency files with `radar ingest PATH` "
    "(a file or a folder of files), or load the demonstration data with `make demo`."
)
T = TypeVar("T")
MISSING = "—"
POLARITY_LABELS = {
    "up_is_bad": "A rise is a concern",
    "down_is_bad": "A fall is a concern",
    "neutral": "Neither direction is good or bad in itself",
}
WITHHELD = "(withheld)"
# What DfE's suppression symbols mean; a symbol is shown with its meaning, never as a number.
SYMBOL_MEANINGS = {
    "c": "suppressed",
    "x": "not available",
    "z": "not applicable",
    "low": "rounds to zero",
    "k": "rounds to zero",
    "u": "low reliability",
}
VERSION_SECONDS = 5  # how stale the store's version may be: well inside the live pages' refresh
LIVE_SECONDS = 30  # the live parts of a page re-run this often, so new data shows within a minute
BENCHMARKS_REFRESH_SECONDS = 600  # figures change only when `radar benchmarks import` runs
FEED_STATUS_LABELS = {
    "on_time": "On time",
    "late": "Received late",
    "replaced": "Corrected",
    "rejected": "Rejected",
    "missing": "Missing",
    "not_due": "Not yet due",
}
CHASE_COLUMNS = {
    "Agency": st.column_config.TextColumn(width=230),  # long names wrap no further: Due and Received stay on screen
    "Feed": st.column_config.TextColumn(width=230),
    "Due": st.column_config.DateColumn(format="D MMM YYYY"),
}


def context() -> Context:
    """The partnership context for the current environment (radar.core.config caches it per settings)."""
    return get_context()


@st.cache_resource(show_spinner="Opening the Radar store…")
def _engine(database_url: str) -> Engine:
    return get_engine(database_url)


def engine() -> Engine:
    """The store's engine, opened (and migrated) once per server and database URL."""
    return _engine(context().settings.database_url)


def store_version() -> int:
    """The store's current version, asked of the database at most once every few seconds per server."""
    return _store_version(context().settings.database_url)


@st.cache_data(ttl=VERSION_SECONDS, show_spinner=False)
def _store_version(database_url: str) -> int:
    with _engine(database_url).connect() as conn:
        return audit_trail.store_version(conn)


def read(query: Callable[..., T], *args: object) -> T:
    """`query(conn, *args)`, a read of one of radar.models' entity modules, shared by every viewer until the store
    changes.

    The result is cached under the store's version, so a room of people
    watching the live pages costs one query per change, not one per person
    per refresh; the first read after a change asks the database again.
    """
    url = context().settings.database_url
    return _read(url, store_version(), f"{query.__module__}.{query.__qualname__}", args, query, False)


def read_action(action: Callable[..., T], *args: object) -> T:
    """`action(engine, *args)`: what a read of radar.actions gathers (it opens its own transaction), cached as
    `read` caches."""
    url = context().settings.database_url
    return _read(url, store_version(), f"{action.__module__}.{action.__qualname__}", args, action, True)


@st.cache_data(show_spinner=False, max_entries=1024)
def _read(database_url: str, version: int, name: str, args: tuple, _query: Callable, on_engine: bool) -> object:
    engine = _engine(database_url)
    if on_engine:
        return _query(engine, *args)
    with engine.connect() as conn:
        return _query(conn, *args)


def changed() -> None:
    """After an action writes to the store: the next read on this server sees it at once."""
    _store_version.clear()


def show_no_data() -> None:
    st.info(NO_DATA, icon=":material/inbox:")


def plain(text: str | None) -> str:
    """Stored free text (alert messages, notes, reasons, register entries) as Markdown shows it literally.

    Such text can carry a cell of an agency's file (a setting's reference) or
    what a person typed: a `[link](…)`, an image or HTML in it must reach the
    screen as the characters themselves, never as a link, an image or markup.
    """
    return markdown_text(text) if text else ""


def format_value(value: float | None, unit: str) -> str:
    """A value in its unit, written as alert messages write it ("87.0%"); a dash when missing."""
    return MISSING if value is None else number(value, unit)


def format_published(value: float | None, symbol: str | None, unit: str) -> str:
    """A published figure: its value in its unit, or DfE's symbol and what it means ("c (suppressed)")."""
    if symbol:
        return f"{symbol} ({SYMBOL_MEANINGS.get(symbol, 'not published')})"
    return format_value(value, unit)


def format_count(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.0f}"


def local_time(column: str) -> pl.Expr:
    """A stored UTC time column in UK time, as the agencies and chairs read the clock."""
    return pl.col(column).dt.convert_time_zone(LOCAL_TIME_ZONE)


def humanise(identifier: str) -> str:
    """A catalogue id as words: "referral_to_csc" -> "Referral to csc"."""
    return identifier.replace("_", " ").capitalize()


def feed_label(ctx: Context, feed_id: str | None) -> str:
    """A feed's name, or a plain statement when the file name did not say which feed it was."""
    feed = ctx.catalogue.feed_by_id.get(feed_id or "")
    return feed.name if feed else "Unrecognised feed"


def agency_name(ctx: Context, feed_id: str) -> str:
    """The partnership's local name for the agency that sends a feed."""
    return ctx.config.agencies[ctx.catalogue.feed_by_id[feed_id].agency].name


def feed_statuses(ctx: Context, received: pl.DataFrame, start: str, end: str) -> pl.DataFrame:
    """`pipelines.feed_status` for every file due from `start` to `end`, judged on `end`'s as-of date (today, or for
    a month long past such as the demo's, the end of the month after it), as the cycle and the threat assessment
    judge it: a corrected file dropped in years later is not "2429 days late"."""
    due_days = {feed.id: ctx.config.due_day(ctx.catalogue, feed.id) for feed in ctx.catalogue.feeds}
    return feed_status(expected_submissions(ctx.catalogue, due_days, start, end), received,
                       periods.as_of(end, date.today()))


def uk_time_words(times: pl.Series) -> pl.Series:
    """Stored UTC times as the agencies read the clock ("21 Apr 2020, 09:12"); a dash where there is none."""
    if times.dtype.time_zone is None:  # type: ignore[union-attr]
        times = times.dt.replace_time_zone("UTC")
    return times.dt.convert_time_zone(LOCAL_TIME_ZONE).dt.strftime("%-d %b %Y, %H:%M").fill_null(MISSING)


def chase_table(ctx: Context, chase: pl.DataFrame) -> pl.DataFrame:
    """The agencies to chase (`pipelines.feed_status.feeds_to_chase` rows) as the pages show them.

    A file that came after its due day is listed as received late, with the
    days, beside the files that are missing or rejected: late data is still
    a question for the agency.  Show it with `column_config=CHASE_COLUMNS`.
    """
    feeds = [ctx.catalogue.feed_by_id[feed_id] for feed_id in chase["feed_id"]]
    return pl.DataFrame({
        "Agency": [agency_name(ctx, feed.id) for feed in feeds],
        "Feed": [feed.name for feed in feeds],
        "Status": chase["status"].replace_strict(FEED_STATUS_LABELS),
        "Days late": chase["days_late"].cast(pl.String).fill_null(MISSING),  # a missing file is not "None" days late
        "Due": chase["due_date"],
        "Received": uk_time_words(chase["received_at"]),
        "Contact": [ctx.config.agencies[feed.agency].contact for feed in feeds],
    })


def month_options(received: pl.DataFrame) -> list[str]:
    """Every month from the first file received to the latest: the choices never run on into empty months."""
    delivered = received["period"].drop_nulls()
    return periods.month_range(delivered.min(), delivered.max()) if len(delivered) else []


def pseudonymised_columns(catalogue: Catalogue) -> set[str]:
    """Columns whose raw values identify a child; their values are never shown."""
    return {c.name for feed in catalogue.feeds for c in feed.columns if c.pseudonymise}


def england_figure(published: pl.DataFrame, period: str | None) -> tuple[int, float] | None:
    """The DfE England figure to set beside a series whose latest month is `period`: (year ending March, value).

    `published` is one indicator's `benchmark_comparisons` rows.  The year is
    the one `radar sta`, the Board pack and the cycle use
    (pipelines.benchmarks.comparator_year: 2019-20 for March 2020, else the
    latest published year before it); without `period`, the latest year.
    None when DfE publishes no England figure that early.  The page's chart,
    its England line and its benchmark table all come from these rows, so
    they can never disagree.
    """
    national = published.filter(pl.col("national").is_not_null())
    years = national["year"].to_list()
    year = max(years, default=None) if period is None else comparator_year(years, period)
    return None if year is None else national.filter(pl.col("year") == year).select("year", "national").row(0)


def benchmark_comparisons() -> pl.DataFrame:
    """The authority beside England, its region and its statistical neighbours, for every indicator and year.

    `pipelines.benchmarks.benchmark_comparison` rows for each DfE year the authority has
    figures for, plus `neighbours` (how many statistical neighbours the
    authority has, to set beside `sn_count`).  Empty when no figure for the
    authority has been imported.
    """
    ctx = context()
    return _benchmark_comparisons(ctx.settings.database_url, ctx.la_code, ctx.config.partnership.old_la_code,
                                  ctx.config.neighbours_path())


@st.cache_data(ttl=BENCHMARKS_REFRESH_SECONDS, show_spinner=False)
def _benchmark_comparisons(database_url: str, la_code: str, old_la_code: str, neighbours_path: Path) -> pl.DataFrame:
    with _engine(database_url).connect() as conn:
        inputs = benchmarks.comparison_inputs(conn, la_code, old_la_code, neighbours_path)
    rows = benchmark_comparison(**inputs, period=None)
    return rows.with_columns(neighbours=pl.lit(len(inputs["neighbour_old_codes"]), pl.Int64))
