"""What every dashboard page shares: the store, the empty state and number formats.

Pages stay thin: they load the context and engine from here, ask
`models.queries` for data and `pipelines` for any status, and format what
they show with these helpers so a percent or a rate reads the same on every
page.  Nothing here computes a statistic.
"""

from __future__ import annotations

import polars as pl
import streamlit as st
from sqlalchemy import Engine

from models.engine import get_engine
from pipelines.feed_status import LOCAL_TIME_ZONE
from radar.catalogue import Catalogue
from radar.config import Context, get_context

NO_DATA = (
    "No data has been ingested yet. Load agency files with `radar ingest PATH` "
    "(a file or a folder of files), or load the demonstration data with `make demo`."
)
MISSING = "—"
UNIT_LABELS = {"count": "count", "percent": "%", "rate_per_10k": "per 10,000 children", "days": "days"}
POLARITY_LABELS = {
    "up_is_bad": "A rise is a concern",
    "down_is_bad": "A fall is a concern",
    "neutral": "Neither direction is good or bad in itself",
}
WITHHELD = "(withheld)"


def context() -> Context:
    """The partnership context for the current environment (radar.config caches it per settings)."""
    return get_context()


@st.cache_resource(show_spinner="Opening the Radar store…")
def _engine(database_url: str) -> Engine:
    return get_engine(database_url)


def engine() -> Engine:
    """The store's engine, opened (and migrated) once per server and database URL."""
    return _engine(context().settings.database_url)


def show_no_data() -> None:
    st.info(NO_DATA, icon=":material/inbox:")


def format_value(value: float | None, unit: str) -> str:
    """A value in its unit: "87.0%", "322.5 per 10,000", "426 days", "1,234"; a dash when missing."""
    if value is None:
        return MISSING
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "rate_per_10k":
        return f"{value:,.1f} per 10,000"
    if unit == "days":
        return f"{value:,.0f} days"
    return format_count(value)


def format_count(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.0f}"


def local_time(column: str) -> pl.Expr:
    """A stored UTC time column in UK time, as the agencies and chairs read the clock."""
    return pl.col(column).dt.convert_time_zone(LOCAL_TIME_ZONE)


def period_label(period: str) -> str:
    """"2025-03" -> "Mar 2025"."""
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[int(period[5:7]) - 1]
    return f"{month} {period[:4]}"


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


def pseudonymised_columns(catalogue: Catalogue) -> set[str]:
    """Columns whose raw values identify a child; their values are never shown."""
    return {c.name for feed in catalogue.feeds for c in feed.columns if c.pseudonymise}
