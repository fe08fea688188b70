"""Send a file: an agency's data lead uploads a return and sees at once what Radar makes of it.

The checks are the pipeline's own (radar.validation), run by
radar.dashboard.uploads: the file name first, before anything is written,
then the size and the contents, and the report is the one the ingest flow
writes for a rejected file, word for word.  An accepted file is moved whole
into RADAR_HOME/inbox, where the ingest flow's sweep stores it, and the page
shows its status from the store when that happens; a rejected one goes to
quarantine, as a rejected delivery does.  A data lead sees and sends their
own agency's returns only; every attempt is audited under their address, and
a fault shows an error id, never a traceback.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from radar.core import periods
from radar.dashboard.auth import require
from radar.dashboard.common import context, local_time, read, show_no_data
from radar.dashboard.uploads import INBOX_READ, Outcome, send
from radar.models import submissions as submission_store
from radar.validation.filenames import PATTERN

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
    f"An accepted file goes into Radar's inbox, {INBOX_READ}; this page then shows what happened."
)
if agency:
    st.caption(f"You can send the returns of {ctx.config.agencies[agency].name}: "
               + ", ".join(f"`{feed.id}` ({feed.name})" for feed in feeds) + ".")


def say(outcome: Outcome) -> None:
    """What happened to the file, in one sentence that is true of where it is now."""
    if outcome.status == "accepted":
        st.success("The file passed every check and is in Radar's inbox.", icon=":material/check_circle:")
    elif outcome.status == "refused_name":
        st.error("The file was not accepted: nothing from it has been kept. The report says what to fix.",
                 icon=":material/error:")
    elif outcome.status == "rejected":
        days = ctx.config.storage.quarantine_retention_days
        st.error(f"The file was not accepted. A copy is kept in Radar's quarantine for {days} days, where only the "
                 "Radar team can open it, and then deleted; nothing from it has been stored. "
                 "The report says what to fix.", icon=":material/error:")
    elif outcome.status == "other_agency":
        st.error(f"`{outcome.name}` is another agency's return; this page takes "
                 f"{ctx.config.agencies[agency].name}'s only.", icon=":material/error:")
    else:
        st.error(f"Radar could not handle this file because of a fault on its side (error id {outcome.error_id}), "
                 "so it was not accepted. Please send it again later; if this happens again, give the Radar team "
                 "the error id.", icon=":material/error:")


upload = st.file_uploader("Choose the file", max_upload_size=ctx.config.storage.max_file_mb, key="upload")
if upload is not None and st.session_state.get("checked") != upload.file_id:
    before = read(submission_store.submissions, ctx.la_code)["id"].max() or 0
    st.session_state.update(checked=upload.file_id, outcome=send(person, upload.name, upload.getbuffer(), agency),
                            after=before)

outcome: Outcome | None = st.session_state.get("outcome")
if outcome is not None:
    if outcome.report:
        st.subheader("Radar's report")
    say(outcome)
    if outcome.report:
        with st.container(border=True):
            st.markdown(outcome.report)


@st.fragment(run_every=STATUS_SECONDS)
def status() -> None:
    """The outcome of the file just sent, once the ingest flow has recorded it."""
    name = st.session_state["outcome"].name
    stored = read(submission_store.submissions, ctx.la_code).filter(
        pl.col("file_name") == name, pl.col("id") > st.session_state["after"]
    )
    if stored.is_empty():
        st.info(f"Waiting for the inbox to be read: {name} will show here once it has been stored.",
                icon=":material/hourglass_top:")
    else:
        latest = stored.row(-1, named=True)
        st.markdown(f"**{name}:** {SUBMISSION_STATUSES.get(latest['status'], latest['status'])}. {latest['message'] or ''}")


if outcome is not None and outcome.status == "accepted":
    st.subheader("Status")
    status()

st.subheader("Files received" + (f" from {ctx.config.agencies[agency].name}" if agency else ""))
history = read(submission_store.submissions, ctx.la_code).filter(pl.col("feed_id").is_in([feed.id for feed in feeds]))
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
