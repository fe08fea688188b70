"""Which agency files were due, and whether each arrived on time (pure polars, no I/O).

The Independent Chair holds agencies to account for sending their data; this
module turns the catalogue's cadences and the partnership's due days into a
list of expected files, and the submission history into one status per feed
and month:

- `on_time`: the first accepted version arrived on or before the due date;
- `late`: the first accepted version arrived after the due date (a later
  correction never hides that the data was late); the agency is still listed
  among those to chase for that month, as "received late", with how many days;
- `replaced`: delivered on time, then corrected by a newer version;
- `rejected`: only rejected files so far, whether or not the due date passed,
  because the agency has to send it again either way;
- `missing`: nothing received and the due date has passed;
- `not_due`: nothing received and the due date has not passed yet.

Periods are `YYYY-MM` strings; a month's file is due on its feed's due day of
the following month.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from radar.core.catalogue import Catalogue
from radar.core.periods import due_date, month_range

# The statuses that mean an agency needs chasing for a month.
TO_CHASE = ("late", "missing", "rejected")
# Submission statuses that delivered usable data (the store marks a correction `replaced`).
DELIVERED = ("accepted", "replaced")
EXPECTED_SCHEMA = {"feed_id": pl.String, "period": pl.String, "due_date": pl.Date}
LOCAL_TIME_ZONE = "Europe/London"  # due dates are English calendar days
def expected_submissions(catalogue: Catalogue, due_days: dict[str, int], start: str, end: str) -> pl.DataFrame:
    """One row per file due from `start` to `end`: feed_id, period, due_date.

    `due_days` holds the partnership's due day per feed; a feed it does not
    name falls back to the catalogue's default.  Quarterly feeds only appear
    in the months they are expected.
    """
    rows = [
        (feed.id, period, due_date(period, due_days.get(feed.id, feed.due_day)))
        for feed in catalogue.feeds
        for period in month_range(start, end)
        if feed.expects(period)
    ]
    return pl.DataFrame(rows, schema=EXPECTED_SCHEMA, orient="row")


def feed_status(expected: pl.DataFrame, submissions: pl.DataFrame, today: date) -> pl.DataFrame:
    """The status of every expected file, in the order of `expected`.

    `submissions` holds feed_id, period, status (accepted | replaced |
    duplicate | rejected), is_current and received_at.  The result adds
    status, received_at (when the first accepted version arrived, or else the
    latest rejected file, in UK local time), days_late (calendar days after the
    due date that the first accepted version arrived, or to `today` if it came
    after the day judged; null unless late) and
    submissions (files of any status received for that feed and month).  A
    file arriving any time on its due date is on time.
    """
    keys = ["feed_id", "period"]
    delivered = pl.col("status").is_in(DELIVERED)
    history = _in_local_time(submissions).group_by(keys).agg(
        first_delivered=pl.col("received_at").filter(delivered).min(),
        versions=delivered.sum(),
        last_rejected=pl.col("received_at").filter(pl.col("status") == "rejected").max(),
        submissions=pl.len(),
    )
    # Judged on `today`: a file that came after it (a month long past, judged as of its as-of date, with a
    # corrected file dropped in since) was at most that many days late then, not years late by today's calendar.
    delivered_on = pl.col("first_delivered").dt.date()
    arrived = pl.when(delivered_on > today).then(pl.lit(today, dtype=pl.Date)).otherwise(delivered_on)
    days_after_due = (arrived - pl.col("due_date")).dt.total_days()
    status = (
        pl.when(days_after_due > 0).then(pl.lit("late"))
        .when(pl.col("versions") > 1).then(pl.lit("replaced"))
        .when(pl.col("first_delivered").is_not_null()).then(pl.lit("on_time"))
        .when(pl.col("last_rejected").is_not_null()).then(pl.lit("rejected"))
        .when(pl.col("due_date") < today).then(pl.lit("missing"))
        .otherwise(pl.lit("not_due"))
    )
    return expected.join(history, on=keys, how="left", maintain_order="left").select(
        *keys,
        "due_date",
        status.alias("status"),
        pl.coalesce("first_delivered", "last_rejected").alias("received_at"),
        pl.when(days_after_due > 0).then(days_after_due).alias("days_late"),
        pl.col("submissions").fill_null(0),
    )


def _in_local_time(submissions: pl.DataFrame) -> pl.DataFrame:
    """Arrival times in the partnership's clock: the store keeps UTC, but a file
    sent at 00:30 on the 11th in British Summer Time is late for a due date of
    the 10th.  Naive times are taken to be local already."""
    if getattr(submissions.schema["received_at"], "time_zone", None) is None:
        return submissions
    return submissions.with_columns(pl.col("received_at").dt.convert_time_zone(LOCAL_TIME_ZONE))


def feeds_to_chase(status: pl.DataFrame, period: str) -> pl.DataFrame:
    """The rows of `feed_status` for `period` that are late, missing or rejected."""
    return status.filter(pl.col("period") == period, pl.col("status").is_in(TO_CHASE))
