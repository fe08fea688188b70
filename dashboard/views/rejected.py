"""Rejected files: what was refused, and the report that tells the agency what to fix.

Problems are shown as the validator stored them, except that values in
columns holding a child's reference are withheld: the dashboard never shows
a child identifier, even one that arrived in a rejected file.
"""

from pathlib import Path

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.auth import require
from radar.dashboard.common import (
    WITHHELD,
    context,
    feed_label,
    local_time,
    pseudonymised_columns,
    read,
    show_no_data,
)
from radar.models import submissions as submission_store
from radar.validation.inert import neutralised

WHOLE_FILE = "whole file"  # the row of a problem with the file as a whole, as the report words it

person = require("rejected")
ctx = context()
st.title("Rejected files")

rejected = read(submission_store.rejected_submissions, ctx.la_code).with_columns(local_time("received_at"))
if person.agency():  # an agency's data lead sees only their own agency's files
    own = [feed.id for feed in ctx.catalogue.feeds if feed.agency == person.agency()]
    rejected = rejected.filter(pl.col("feed_id").is_in(own))
    st.caption(f"Files from {ctx.config.agencies[person.agency()].name} only.")
if rejected.is_empty():
    if read(submission_store.submissions, ctx.la_code).is_empty():
        show_no_data()
    else:
        st.success("No file has been rejected.")
    st.stop()

st.dataframe(
    pl.DataFrame({
        "File": rejected["file_name"],
        "Feed": [feed_label(ctx, f) for f in rejected["feed_id"]],
        "Month": [periods.label(p) if p else "Unknown" for p in rejected["period"]],
        "Received": rejected["received_at"],
        "Problems": rejected["error_count"],
        "Message": rejected["message"],
    }),
    hide_index=True,
    column_config={"Received": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")},
)

files = {row["id"]: row for row in rejected.iter_rows(named=True)}
chosen = files[
    st.selectbox(
        "Show the report for",
        list(files),
        format_func=lambda i: f"{files[i]['file_name']} (received {files[i]['received_at']:%d %b %Y})",
        key="submission",
    )
]

st.subheader("Report sent to the agency")
report = Path(chosen["report_path"] or "")
if chosen["report_path"] and not report.is_absolute():
    report = ctx.settings.home / report
if chosen["report_path"] and report.is_file():
    with st.container(border=True):
        st.markdown(report.read_text(encoding="utf-8"))
else:
    st.warning("The report for this file is not available: it was not written or has been removed.")

st.subheader("Problems found")
problems = read(submission_store.submission_problems, ctx.la_code, chosen["id"])
if problems.is_empty():
    st.write("No row-level problems were recorded; the message above says why the file was refused.")
else:
    withheld = pl.col("column").is_in(pseudonymised_columns(ctx.catalogue))
    st.dataframe(
        problems.with_columns(pl.when(withheld).then(pl.lit(WITHHELD)).otherwise(pl.col("value")).alias("value"))
        .with_columns(neutralised("value"))  # shown and downloaded as text, never a spreadsheet formula
        # a problem with the whole file has no row or cell: say so, as the report does, never "None"
        .with_columns(pl.col("row").cast(pl.String).fill_null(WHOLE_FILE), pl.col("column").fill_null(""),
                      pl.col("value").fill_null(""))
        .rename(str.capitalize),
        hide_index=True,
    )
