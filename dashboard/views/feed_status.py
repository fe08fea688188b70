"""Feed status: which agency files arrived on time, late, corrected, rejected or not at all.

The Independent Chair uses this grid to hold agencies to account for their
data; statuses come from pipelines.feed_status, this page only lays them out.
"""

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.auth import require
from radar.dashboard.common import (
    CHASE_COLUMNS,
    FEED_STATUS_LABELS,
    agency_name,
    chase_table,
    context,
    feed_statuses,
    month_options,
    read,
    show_no_data,
)
from radar.models import submissions as submission_store
from radar.pipelines.feed_status import feeds_to_chase

LABEL_COLOURS = {
    "On time": "#c8e6c9",
    "Received late": "#ffe0b2",
    "Corrected": "#bbdefb",
    "Rejected": "#e1bee7",
    "Missing": "#ffcdd2",
    "Not yet due": "#eeeeee",
}
DEFAULT_MONTHS = 12


def cell_style(label: str) -> str:
    colour = LABEL_COLOURS.get(label)
    return f"background-color: {colour}; color: #1a1a1a" if colour else ""


require("feed_status")
ctx = context()
catalogue = ctx.catalogue
st.title("Feed status")

received = read(submission_store.submissions, ctx.la_code)
options = month_options(received)
if not options:
    show_no_data()
    st.stop()

latest = options[-1]
start, end = st.select_slider(
    "Months",
    options,
    value=(max(options[0], periods.shift(latest, 1 - DEFAULT_MONTHS)), latest),
    format_func=periods.label,
    key="months",
)
status = feed_statuses(ctx, received, start, end)

st.subheader(f"Agencies late for {periods.label(end)}")
chase = feeds_to_chase(status, end)
if chase.is_empty():
    st.success(f"No feed is late, missing or rejected for {periods.label(end)}.")
else:
    agencies = {catalogue.feed_by_id[feed_id].agency for feed_id in chase["feed_id"]}
    st.metric("Agencies late, missing or rejected", len(agencies))
    st.dataframe(chase_table(ctx, chase), hide_index=True, column_config=CHASE_COLUMNS)

st.subheader("Files by month")
grid = status.with_columns(pl.col("status").replace_strict(FEED_STATUS_LABELS)).pivot(
    on="period", index="feed_id", values="status", sort_columns=True
)
# The latest month first, beside the feed's name: the month the Chair asks about is never off-screen.
month_columns = {period: periods.label(period) for period in sorted(grid.columns[1:], reverse=True)}
table = grid.select(
    pl.col("feed_id").replace_strict({f.id: agency_name(ctx, f.id) for f in catalogue.feeds}).alias("Agency"),
    pl.col("feed_id").replace_strict({f.id: f.name for f in catalogue.feeds}).alias("Feed"),
    pl.col("feed_id").replace_strict({f.id: f"day {ctx.config.due_day(catalogue, f.id)}" for f in catalogue.feeds})
    .alias("Due"),
    *(pl.col(period).fill_null("").alias(label) for period, label in month_columns.items()),
)
st.dataframe(table.to_pandas().style.map(cell_style, subset=list(month_columns.values())), hide_index=True,
             column_config={"Agency": CHASE_COLUMNS["Agency"], "Feed": CHASE_COLUMNS["Feed"]})
st.markdown(
    " ".join(
        f'<span style="{cell_style(label)}; padding: 2px 8px; border-radius: 4px">{label}</span>'
        for label in LABEL_COLOURS
    ),
    unsafe_allow_html=True,
)
st.caption(
    "A file is on time when it arrives any time on its due day (UK time) of the following month. "
    "*Received late* judges the first accepted version, so a later correction does not hide it; "
    "*Corrected* means delivered on time and later replaced. *Rejected* files must be sent again. "
    "Quarterly feeds are blank in the months they are not due. The latest month is first."
)
