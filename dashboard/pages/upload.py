"""Send a file: an agency's data lead uploads a return and sees at once what Radar makes of it.

The checks are the pipeline's own (radar.validation): the file name first,
before anything is written or read, then the size and the contents, and the
report is the one the ingest flow writes for a rejected file, word for word.
An accepted file is written into a hidden folder of RADAR_HOME/inbox and
moved in whole with one rename, as any automated delivery should be; the ingest flow's
inbox sweep stores it like a dropped file, and the page shows its status
from the store when that happens.  A data lead sees and sends their own
agency's returns only; every upload is audited under their address.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.actions import record_upload
from radar.dashboard.auth import require
from radar.dashboard.common import context, local_time, read, show_no_data
from radar.models import queries
from radar.validation.feeds import Limits, ValidatedFile, validate_file
from radar.validation.filenames import PATTERN, FileNameError, parse_file_name
from radar.validation.report import write_report

STATUS_SECONDS = 10  # how often the page looks for the outcome of a file it sent
SUBMISSION_STATUSES = {
    "accepted": "Accepted", "replaced": "Accepted, replacing the earlier version", "duplicate": "Already received",
    "rejected": "Rejected", "withdrawn": "Withdrawn",
}

person = require("upload")
ctx = context()
agency = person.agency()
feeds = [feed for feed in ctx.catalogue.feeds if agency in (None, feed.agency)]
st.title("Send a file")
st.markdown(
    f"Name the file `{PATTERN}`, for example `{feeds[0].id}__2024-03.csv`, one month of one return. "
    "Radar checks it at once with the same rules as every other delivery and shows the report below. "
    "An accepted file goes into Radar's inbox, which is read every 15 minutes; this page then shows what happened."
)
if agency:
    st.caption(f"You can send the returns of {ctx.config.agencies[agency].name}: "
               + ", ".join(f"`{feed.id}` ({feed.name})" for feed in feeds) + ".")


def report_text(result: ValidatedFile, name: str) -> str:
    """The report the ingest flow writes for this result, word for word (validation.report)."""
    with tempfile.TemporaryDirectory() as folder:
        _, markdown = write_report(result, name, Path(folder))
        return markdown.read_text(encoding="utf-8")


def check(upload, limits: Limits) -> tuple[ValidatedFile, Path | None]:
    """Validate an upload; when accepted, return where it waits, whole, under a name the sweep skips."""
    try:
        feed_id, _ = parse_file_name(upload.name, ctx.catalogue, limits.window)
    except FileNameError as error:  # judged on the name alone: nothing is written or read
        return ValidatedFile(None, None, None, [error.problem], {"file_name": 1}, 0), None
    if agency and ctx.catalogue.feed_by_id[feed_id].agency != agency:
        st.error(f"`{feed_id}` is another agency's return; this page takes {ctx.config.agencies[agency].name}'s only.")
        st.stop()
    inbox = ctx.settings.inbox
    inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(dir=inbox, prefix=".upload-"))  # hidden: the inbox sweep skips it
    staged = staging / upload.name  # a name parse_file_name accepted: a known feed, a month, an extension
    staged.write_bytes(upload.getbuffer())
    result = validate_file(staged, ctx.catalogue, limits)
    if result.ok:
        return result, staged
    shutil.rmtree(staging)  # a rejected upload is reported here, never kept
    return result, None


def deliver(staged: Path) -> Path:
    """Move a checked file into the inbox in one step (a rename), so the sweep never sees part of it."""
    target = ctx.settings.inbox / staged.name
    os.replace(staged, target)
    staged.parent.rmdir()
    return target


upload = st.file_uploader("Choose the file", max_upload_size=ctx.config.storage.max_file_mb, key="upload")
if upload is not None and st.session_state.get("checked") != upload.file_id:
    before = read(queries.submissions, ctx.la_code)["id"].max() or 0
    result, staged = check(upload, Limits.for_partnership(ctx.config.storage, date.today()))
    if staged is not None:
        deliver(staged)
    record_upload(person, upload.name, {"feed": result.feed_id, "period": result.period, "rows": result.row_count,
                                        "accepted": result.ok, "problems": result.problem_counts})
    st.session_state.update(checked=upload.file_id, report=report_text(result, upload.name), sent=upload.name,
                            accepted=result.ok, after=before)

if st.session_state.get("report"):
    st.subheader("Radar's report")
    if st.session_state["accepted"]:
        st.success("The file passed every check and is in Radar's inbox.", icon=":material/check_circle:")
    else:
        st.error("The file was not accepted: nothing from it has been kept. The report says what to fix.",
                 icon=":material/error:")
    with st.container(border=True):
        st.markdown(st.session_state["report"])


@st.fragment(run_every=STATUS_SECONDS)
def status() -> None:
    """The outcome of the file just sent, once the ingest flow has recorded it."""
    name = st.session_state["sent"]
    stored = read(queries.submissions, ctx.la_code).filter(
        pl.col("file_name") == name, pl.col("id") > st.session_state["after"]
    )
    if stored.is_empty():
        st.info(f"Waiting for the inbox to be read: {name} will show here once it has been stored.",
                icon=":material/hourglass_top:")
    else:
        latest = stored.row(-1, named=True)
        st.markdown(f"**{name}:** {SUBMISSION_STATUSES.get(latest['status'], latest['status'])}. {latest['message'] or ''}")


if st.session_state.get("accepted"):
    st.subheader("Status")
    status()

st.subheader("Files received" + (f" from {ctx.config.agencies[agency].name}" if agency else ""))
history = read(queries.submissions, ctx.la_code).filter(pl.col("feed_id").is_in([feed.id for feed in feeds]))
if history.is_empty():
    show_no_data()
else:
    recent = history.sort("id", descending=True).head(24).with_columns(local_time("received_at"))
    st.dataframe(
        pl.DataFrame({
            "File": recent["file_name"],
            "Month": [periods.label(p) for p in recent["period"]],
            "Received": recent["received_at"],
            "Status": recent["status"].replace_strict(SUBMISSION_STATUSES, default="Unknown"),
            "Rows": recent["row_count"],
        }),
        hide_index=True,
        column_config={"Received": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm")},
    )
    st.caption("The latest 24 files, newest first. A rejected file's report is on the Rejected files page.")
